"""One grant's refresh state as one frozen value, and the pure transitions that move it.

`GrantState` is everything the token manager knows about its grant between calls: the token
it holds (with the precomputed hot-path pair `soft_at` and `header`), when that token was
issued and how long LwA's tokens live, how many refreshes it has adopted (what `refresh()`
counts), a token the store refused (saved again later), the caller's explicit refresh token
not yet used, the memo of 401s a refresh did not cure, and the background runner's schedule
(stopped, not before, failures). The manager holds one reference to it and replaces it as a
whole, so a reader (the hot path) never sees half of a change; each method here returns a
new state and does no I/O, reads no clock and takes no lock (`now` is passed in).
"""

from __future__ import annotations

import dataclasses

from .._limits import EXPECTED_TOKEN_LIFETIME
from .._redact import Secret
from .._token import Token
from . import decisions as decide
from .decisions import TokenState, Unhelped

NEVER = float("-inf")
MAX_FAILURES = 32  # the backoff's exponent stops growing here


@dataclasses.dataclass(frozen=True, slots=True)
class GrantState:
    """What the manager knows about its grant; replaced as a whole, never changed.

    The first three fields are the hot path's: `soft_at` (when the held token turns soft,
    -inf when there is none), `header` ("Bearer <access token>") and `token`.
    """

    soft_at: float = NEVER
    header: str = dataclasses.field(default="", repr=False)
    token: Token | None = None
    issued_at: float = 0.0  # when the held token was issued (or is thought to be)
    # The lifetime the endpoint last gave (LwA's 3600 s until we refresh): it dates a token
    # read from the store, for its half-life.
    lifetime: float = EXPECTED_TOKEN_LIFETIME
    refreshes: int = 0  # new tokens adopted: what a FORCED need counts
    unsaved: Token | None = None  # refused by the store: saved again later
    # An explicit refresh token wins over a different stored one, once, on first use.
    pending: Secret | None = None
    unhelped: Unhelped = dataclasses.field(default_factory=Unhelped)
    # The background runner's schedule (its thread is the runner's own business).
    stopped: bool = False  # invalid_grant or a removed grant: no background attempts
    not_before: float = NEVER  # no background attempt before this time (backoff, busy)
    failures: int = 0  # failed background attempts (or saves) in a row

    # ----- reading ---------------------------------------------------------------------------

    def token_state(self, now: float, margin: float) -> TokenState:
        return decide.token_state(self.token, now, margin, self.issued_at)

    def background_due(self, now: float) -> bool:
        """Whether a background attempt may start now (not stopped, no backoff in force)."""
        return not self.stopped and now >= self.not_before

    # ----- the held token --------------------------------------------------------------------

    def adopted(
        self, token: Token, *, counts: bool, margin: float, now: float, issued_at: float | None
    ) -> GrantState:
        """Holding `token`; `counts` when it is new for `refresh()`; `issued_at` when known
        (our own refresh), else estimated from the last lifetime LwA gave."""
        if issued_at is None:
            issued_at = decide.estimated_issue_time(token, self.lifetime, now)
        return dataclasses.replace(
            self,
            soft_at=decide.soft_from(token, margin, issued_at),
            header=f"Bearer {token.access_token}",
            token=token,
            issued_at=issued_at,
            refreshes=self.refreshes + 1 if counts else self.refreshes,
        )

    def adopted_stored(self, token: Token, *, margin: float, now: float) -> GrantState:
        """Holding a token read from the store; it counts for `refresh()` when it replaces a
        different one (evidence that another caller refreshed)."""
        held = self.token
        counts = held is not None and held.access_token != token.access_token
        return self.adopted(token, counts=counts, margin=margin, now=now, issued_at=None)

    def adopted_newer(self, token: Token, *, margin: float, now: float) -> GrantState:
        """Holding a newer token another process saved: nothing is left unsaved, and the
        background schedule starts afresh."""
        state = self.adopted_stored(token, margin=margin, now=now)
        return dataclasses.replace(state, unsaved=None).reset()

    def refreshed(
        self, token: Token, *, received_at: float, saved: bool, margin: float, now: float
    ) -> tuple[GrantState, float | None]:
        """Holding a token this process just got from the endpoint (its lifetime is known);
        the explicit refresh token is used up. `saved` False: the store refused it, so it is
        kept in memory and a background attempt saves it later (see `kept_unsaved`); the
        second value is then the delay before that attempt, else None."""
        state = dataclasses.replace(
            self, pending=None, lifetime=token.expires_at - received_at
        ).adopted(token, counts=True, margin=margin, now=now, issued_at=received_at)
        state = state.reset()
        if saved:
            return dataclasses.replace(state, unsaved=None), None
        return state.kept_unsaved(token, now=now)

    def seeded(self, token: Token, *, margin: float, now: float) -> GrantState:
        """Holding a token just stored as the grant (`import_token`, a code exchange)."""
        state = dataclasses.replace(self, pending=None, unsaved=None)
        return state.adopted(token, counts=True, margin=margin, now=now, issued_at=None).reset()

    def saved_again(self, token: Token, *, margin: float, now: float) -> GrantState:
        """A token the store had refused is saved now: held on its own schedule."""
        state = dataclasses.replace(self, unsaved=None)
        return state.adopted(token, counts=False, margin=margin, now=now, issued_at=self.issued_at)

    def kept_unsaved(self, token: Token, *, now: float) -> tuple[GrantState, float]:
        """`token` refused by the store: kept in memory, counted as a failure, and treated
        as soft once the backoff is over so a background attempt saves it again. Returns the
        new state and the backoff delay."""
        state, delay = dataclasses.replace(self, unsaved=token).failed(token.expires_at, now=now)
        return dataclasses.replace(state, soft_at=min(state.soft_at, now + delay)), delay

    def cleared(self) -> GrantState:
        """No token held (the grant was forgotten); counts for `refresh()`."""
        return dataclasses.replace(
            self, soft_at=NEVER, header="", token=None, unsaved=None, refreshes=self.refreshes + 1
        )

    def without_pending(self) -> GrantState:
        """The explicit refresh token is no longer needed (the store has it, or it was used)."""
        return self if self.pending is None else dataclasses.replace(self, pending=None)

    def noted_unhelped(self, access_token: str, scope: str | None, now: float) -> GrantState:
        """A refresh did not cure `access_token`'s 401s for `scope` (see `Unhelped`)."""
        return dataclasses.replace(self, unhelped=self.unhelped.noted(access_token, scope, now))

    # ----- the background schedule -----------------------------------------------------------

    def failed(self, expires_at: float, *, now: float) -> tuple[GrantState, float]:
        """A failed background attempt (or save): the next one waits (see `backoff_delay`).
        Returns the new state and the delay."""
        delay = decide.backoff_delay(self.failures, now, expires_at)
        failures = min(self.failures + 1, MAX_FAILURES)
        return dataclasses.replace(self, failures=failures, not_before=now + delay), delay

    def busy(self, expires_at: float, *, now: float) -> GrantState:
        """Another process is refreshing: not a failure, just look again shortly."""
        return dataclasses.replace(self, not_before=decide.busy_recheck_at(now, expires_at))

    def stopped_for_good(self) -> GrantState:
        """invalid_grant or a removed grant: no background attempts until `reset`."""
        return dataclasses.replace(self, stopped=True)

    def reset(self) -> GrantState:
        """A refresh succeeded or a new grant came: the next margin starts afresh."""
        if not self.stopped and self.failures == 0 and self.not_before == NEVER:
            return self
        return dataclasses.replace(self, failures=0, not_before=NEVER, stopped=False)
