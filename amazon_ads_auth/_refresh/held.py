"""The grant's token as this process holds it, and the hot path that reads it.

`fresh_header()` is what every request costs while the token is fresh: one tuple read, a
clock read and a comparison; no lock, no store, no I/O. Inside the margin (soft) it asks
for a background refresh and still answers. Everything that changes the held token goes
through `adopt`, which works out (with `_decisions`) when the token turns soft.
"""

from __future__ import annotations

from collections.abc import Callable

from .._limits import EXPECTED_TOKEN_LIFETIME
from .._token import Token
from . import decisions as decide
from .decisions import Need, TokenState

_NEVER: tuple[float, str, Token | None] = (float("-inf"), "", None)


class HeldToken:
    """One grant's in-memory token; `start_background(now)` is called when it is soft."""

    def __init__(
        self, margin: float, clock: Callable[[], float], start_background: Callable[[float], None]
    ) -> None:
        self._margin = margin
        self._clock = clock
        self._start_background = start_background
        # (soft_at, "Bearer <access>", token): replaced as a whole so readers never tear.
        self._state = _NEVER
        self.issued_at = 0.0  # when the held token was issued (or is thought to be)
        # The lifetime the endpoint last gave (LwA's 3600 s until we refresh): it dates a
        # token read from the store, for its half-life.
        self.lifetime = EXPECTED_TOKEN_LIFETIME
        self.refreshes = 0  # new tokens adopted: what a FORCED need counts
        self.unsaved: Token | None = None  # refused by the store: saved again later

    @property
    def token(self) -> Token | None:
        return self._state[2]

    def state(self) -> TokenState:
        return decide.token_state(self._state[2], self._clock(), self._margin, self.issued_at)

    def expires_at(self) -> float:
        token = self._state[2]
        return token.expires_at if token is not None else self._clock()

    def fresh_header(self) -> str | None:
        """The Authorization header value while the token is valid, else None. Inside the
        margin it starts (at most) one background refresh and still answers: no caller
        waits while the token is valid."""
        soft_at, header, token = self._state
        now = self._clock()
        if now < soft_at:
            return header
        if token is not None and now < token.expires_at:
            self._start_background(now)
            return header
        return None

    def usable(self, need: Need) -> Token | None:
        """The held token if it meets `need` (a soft one starts its background refresh)."""
        token = self._state[2]
        if not decide.satisfies(token, need, self._clock(), self.refreshes):
            return None
        self.fresh_header()
        return token

    def adopt(self, token: Token, *, counts: bool, issued_at: float | None = None) -> None:
        """Hold `token` from now on; `counts` when it is new for `refresh()`; `issued_at`
        when known (our own refresh), else estimated from the last lifetime LwA gave."""
        if issued_at is None:
            issued_at = decide.estimated_issue_time(token, self.lifetime, self._clock())
        self.issued_at = issued_at
        soft_at = decide.soft_from(token, self._margin, issued_at)
        self._state = (soft_at, f"Bearer {token.access_token}", token)
        if counts:
            self.refreshes += 1

    def adopt_stored(self, token: Token) -> None:
        """Hold a token read from the store; it counts for `refresh()` when it replaces a
        different one (evidence that another caller refreshed)."""
        held = self._state[2]
        self.adopt(token, counts=held is not None and held.access_token != token.access_token)

    def adopt_refreshed(self, token: Token, received_at: float) -> None:
        """Hold a token this process just got from the endpoint: its lifetime is known."""
        self.lifetime = token.expires_at - received_at
        self.adopt(token, counts=True, issued_at=received_at)

    def retry_save_at(self, when: float) -> None:
        """Treat the token as soft from `when`, so a background attempt saves it again."""
        self._state = (min(self._state[0], when), *self._state[1:])

    def clear(self) -> None:
        self._state = _NEVER
        self.unsaved = None
        self.refreshes += 1
