"""The token manager: one frozen `GrantState`, the locks, and the I/O around the decisions.

The manager holds one reference to its grant's state (`_refresh/state.py`) and replaces it
with pure transitions; what to do next is decided by pure functions in `decisions`
(`wait_step`, `background_step`, `after_refused_refresh_token`); store and token-endpoint
calls are `grant_io`'s. Each path reads "decide, do the I/O, decide again", like h11's
`Connection` around its state machine:
- fresh: `fresh_header()` reads the state once, a clock read and a comparison; no lock.
- soft (inside the margin): callers keep the current token; one background refresh runs
  (`background`), taking the store lock without waiting.
- waiting (expired, a 401, `refresh()`): thread lock -> re-check -> store lock -> reload ->
  adopt a stored token that meets the need -> otherwise refresh, save, adopt. A store that
  is down does not stop it (LwA refresh tokens do not rotate): it is only no longer single
  flight across processes. Async callers queue on their loop's lock, then one task runs
  the waiting path in a worker thread, so the loop never blocks.

Two locks: `_lock` serialises the waiting and background paths (held across I/O); the
short `_state_lock` guards each read-modify-write of the state, so a transition made
outside `_lock` (a 401 memo, a background failure) never loses another's.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from .._errors import InvalidGrantError, StoreError
from .._limits import deadline_scope
from .._locks import LoopLocks, forget_locks_at_fork
from .._lwa.messages import TokenHttpRequest
from .._redact import Secret
from .._stores.base import TokenStore
from .._token import Token
from . import decisions as decide
from .background import BackgroundRefresher
from .decisions import (
    VALID,
    BackgroundAction,
    Need,
    RefreshChoice,
    RefusalAction,
    StoreRead,
    WaitAction,
)
from .events import GrantEvents
from .grant_io import Consent, GrantIO, expiry
from .state import GrantState

logger = logging.getLogger("amazon_ads_auth")
_T = TypeVar("_T")


class TokenManager:
    """Keeps one grant's access token fresh for every thread and task that shares it."""

    def __init__(
        self,
        grant: GrantIO,
        *,
        refresh_token: str | None,
        refresh_margin: float,
        refresh_deadline: float,
        clock: Callable[[], float],
        events: GrantEvents | None = None,
    ) -> None:
        self._grant = grant
        # Lifecycle events (`_refresh.events`): collected under the locks, delivered after.
        self.events = events if events is not None else GrantEvents(grant.key, "", None)
        self._key = grant.key
        self._margin = refresh_margin
        self._deadline = refresh_deadline
        self._clock = clock
        self._state = GrantState(pending=None if refresh_token is None else Secret(refresh_token))
        self._state_lock = threading.Lock()
        self._background = BackgroundRefresher(
            self._background_soft, self._background_failed, self._background_stopped, self._key
        )
        self._lock = threading.Lock()
        self._loop_locks = LoopLocks()
        forget_locks_at_fork(self)

    def _after_fork(self) -> None:
        """In a forked child: fresh locks, and no background refresh believed running."""
        self._lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._background.after_fork()

    def __repr__(self) -> str:
        return f"TokenManager(key={self._key!r}, store={self.store!r})"

    @property
    def store(self) -> TokenStore:
        return self._grant.store

    @property
    def key(self) -> str:
        """The grant's key in the store: "<client id>/<store key>"."""
        return self._key

    @property
    def state(self) -> GrantState:
        """The grant's state now (a frozen value; read it once)."""
        return self._state

    @property
    def token(self) -> Token | None:
        """The token held in memory, fresh or not. No I/O."""
        return self._state.token

    # ----- the hot path --------------------------------------------------------------------

    def fresh_header(self) -> str | None:
        """The Authorization header value while the token is valid, else None: one read of
        the state, a clock read and a comparison. Inside the margin it starts (at most) one
        background refresh and still answers: no caller waits while the token is valid."""
        state = self._state
        now = self._clock()
        if now < state.soft_at:
            return state.header
        token = state.token
        if token is not None and now < token.expires_at:
            if state.background_due(now):
                self._background.start()
            return state.header
        return None

    def _usable(self, need: Need) -> Token | None:
        """The held token if it meets `need` (a soft one starts its background refresh)."""
        state = self._state
        if not decide.satisfies(state.token, need, self._clock(), state.refreshes):
            return None
        self.fresh_header()
        return state.token

    def _move(self, step: Callable[[GrantState], GrantState]) -> GrantState:
        """Replace the state with `step(state)`, atomically with respect to other moves."""
        with self._state_lock:
            self._state = new = step(self._state)
        return new

    def _move_and(self, step: Callable[[GrantState], tuple[GrantState, _T]]) -> _T:
        """`_move` for a transition that also returns a value (a backoff delay)."""
        with self._state_lock:
            self._state, value = step(self._state)
        return value

    # ----- what callers ask --------------------------------------------------------------

    def ensure(self, need: Need = VALID) -> Token:
        """A token that meets `need`, refreshing at most once however many callers ask.

        Raises: NoTokenError (no grant, or it was removed), TokenRequestError (LwA refused),
        TokenEndpointError (LwA unreachable), StoreError."""
        held = self._usable(need)
        return held if held is not None else self._wait(need)

    async def async_ensure(self, need: Need = VALID) -> Token:
        """`ensure` for asyncio: tasks queue on a loop lock, one of them goes to a thread."""
        held = self._usable(need)
        if held is not None:
            return held
        async with self._loop_locks.get():
            held = self._usable(need)
            import asyncio  # loaded by async callers only

            return held if held is not None else await asyncio.to_thread(self._wait, need)

    def refresh(self) -> Token:
        """A new token now, unless another caller refreshed while this one waited."""
        return self.ensure(Need.forced(self._state.refreshes))

    def need_after_401(self, rejected: str, scope: str | None) -> Need:
        """What to ask for after the API refused `rejected` for `scope` (see `decisions`)."""
        return decide.need_after_401(rejected, scope, self._state.unhelped, self._clock())

    def note_refresh_did_not_help(self, access_token: str, scope: str | None) -> None:
        """A replay right after a 401 got 401 again: for this token and scope those 401s
        are about something else (profile, client id). For a minute they cost no token
        request; other scopes and `refresh()` are unaffected."""
        now = self._clock()
        self._move(lambda s: s.noted_unhelped(access_token, scope, now))

    def save_new_grant(
        self, request: TokenHttpRequest, login: Mapping[str, Any] | None = None
    ) -> Token:
        """Exchange an authorization code and store the result as this key's grant: token,
        `login` record and consent time in one write (never a stored refresh token)."""
        started = time.perf_counter()
        try:
            exchanged = self._grant.exchange(request)
        except Exception as exc:
            self.events.exchanged(time.perf_counter() - started, exc)
            raise
        self.events.exchanged(time.perf_counter() - started)
        saved = self.seed(exchanged, consent=Consent(login, self._clock()))
        logger.info("stored a new grant for key %r; %s", self._key, expiry(saved))
        return saved

    def seed(self, token: Token, *, consent: Consent | None = None) -> Token:
        """Store `token` as this key's grant and use it (no token request while it is
        valid); a stored refresh token is kept when `token` has none.

        Raises: StoreError."""
        with self._lock:
            saved = self._grant.save_grant(token, consent)
            now = self._clock()
            self._move(lambda s: s.seeded(saved, margin=self._margin, now=now))
            return saved

    def forget(self) -> None:
        """Drop this grant from memory and from the store."""
        with self._lock:
            self._grant.delete()
            self._move(GrantState.cleared)

    def close(self) -> None:
        self._grant.close()

    # ----- the waiting path (expired, a 401, refresh()) ------------------------------------

    def _wait(self, need: Need) -> Token:
        with self.events.collecting(soft=False):  # delivered once the locks are released
            return self._wait_for(need)

    def _wait_for(self, need: Need) -> Token:
        with self._lock, deadline_scope(self._deadline):
            held = self._usable(need)
            if held is not None:
                return held
            peeked = None if need.waits else self._peek_store()
            if peeked is not None:
                return peeked
            try:
                with self._grant.lock():
                    stored = self._grant.load()
                    self.events.notice(stored, self._clock())
                    return self._wait_locked(stored, need)
            except StoreError as exc:  # before any refresh: saves never raise
                state = self._state
                step = decide.wait_step(
                    pending=state.pending.value if state.pending is not None else None,
                    stored=None,
                    held=state.token,
                    need=need,
                    now=self._clock(),
                    store_ok=False,
                    unsaved=state.unsaved is not None,
                )
                if step.refresh_token is None:
                    raise
                logger.warning(
                    "the token store failed for key %r (%s); refreshing without it: single "
                    "flight across processes is off until the store is back",
                    self._key,
                    exc,
                )
                return self._refresh(Secret(step.refresh_token))

    def _wait_locked(self, stored: Token | None, need: Need) -> Token:
        """The waiting path under the store lock, with the store just read."""
        state = self._state
        step = decide.wait_step(
            pending=state.pending.value if state.pending is not None else None,
            stored=stored,
            held=state.token,
            need=need,
            now=self._clock(),
            unsaved=state.unsaved is not None,
        )
        if step.drops_pending:
            self._move(GrantState.without_pending)
        if step.action is WaitAction.ADOPT_STORED:
            assert stored is not None
            return self._adopt_stored(stored)
        if step.action is WaitAction.NO_REFRESH_TOKEN:
            raise self._grant.no_token(step.missing)
        assert step.refresh_token is not None
        choice = RefreshChoice(step.refresh_token, step.source)
        return self._refresh_chosen(choice, stored, need)

    def _peek_store(self) -> Token | None:
        """Adopt a still-valid stored token, read without the store lock (see
        `decisions.adopts_unlocked_read`), or None."""
        try:
            stored = self._grant.load()
        except StoreError:
            return None  # the locked path reports it, or refreshes without the store
        state = self._state
        if stored is None or not decide.adopts_unlocked_read(
            pending=state.pending.value if state.pending is not None else None,
            stored=stored,
            held=state.token,
            unsaved=state.unsaved is not None,
            now=self._clock(),
        ):
            return None
        return self._adopt_stored(stored, drop_pending=True)

    def _adopt_stored(self, stored: Token, *, drop_pending: bool = False) -> Token:
        """Hold `stored` (one move: with the explicit refresh token dropped if asked)."""
        now = self._clock()

        def adopt(state: GrantState) -> GrantState:
            state = state.without_pending() if drop_pending else state
            return state.adopted_stored(stored, margin=self._margin, now=now)

        self._move(adopt)
        return stored

    def _refresh_chosen(
        self, choice: RefreshChoice, stored: Token | None, need: Need, *, retry: bool = True
    ) -> Token:
        if choice.token is None:
            raise self._grant.no_token(choice.missing)
        try:
            return self._refresh(Secret(choice.token), retry=retry)
        except InvalidGrantError:
            after = decide.after_refused_refresh_token(
                used=choice.token,
                source=choice.source,
                stored=stored,
                held=self._state.token,
                need=need,
                now=self._clock(),
            )
            if after.action is RefusalAction.RAISE:
                raise
            logger.warning(  # a stale AMAZON_ADS_REFRESH_TOKEN beside a good stored grant
                "the refresh token passed in for key %r was refused (invalid_grant); using "
                "the stored grant instead",
                self._key,
            )
            if after.action is RefusalAction.ADOPT_STORED:
                assert stored is not None
                return self._adopt_stored(stored, drop_pending=True)
            assert after.refresh_token is not None
            self._move(GrantState.without_pending)
            return self._refresh(Secret(after.refresh_token), retry=retry)

    def _refresh(self, refresh_token: Secret, *, retry: bool = True) -> Token:
        """One token request, saved before it is adopted (whoever sees the new token and
        exits knows the store has it); a save that fails keeps it in memory for later."""
        received_at = self._clock()
        started = time.perf_counter()
        try:
            token = self._grant.refresh(refresh_token, retry=retry)
        except Exception as exc:
            self.events.refresh_failed(exc, time.perf_counter() - started)
            raise
        self.events.refreshed(time.perf_counter() - started)
        error = self._grant.save(token)
        now = self._clock()
        delay = self._move_and(
            lambda s: s.refreshed(
                token, received_at=received_at, saved=error is None, margin=self._margin, now=now
            )
        )
        if error is not None and delay is not None:
            self._warn_unsaved(error, delay)
        self._grant.announce(token, received_at, self._margin)
        return token

    def _warn_unsaved(self, error: StoreError, delay: float) -> None:
        logger.warning(
            "could not save the new token for key %r (%s); keeping it in memory and trying "
            "the save again in %.0fs",
            self._key,
            error,
            delay,
        )

    # ----- the background path (inside the margin) -----------------------------------------

    def _background_soft(self) -> None:
        with self.events.collecting(soft=True):  # delivered once the locks are released
            self._background_attempt()

    def _background_attempt(self) -> None:
        """One refresh attempt, in the runner's worker thread; raises what failed."""
        with self._lock, deadline_scope(self._deadline):
            state = self._state
            held, unsaved = state.token, state.unsaved
            token_state = state.token_state(self._clock(), self._margin)

            def step(read: StoreRead, stored: Token | None) -> BackgroundAction:
                return decide.background_step(
                    state=token_state,
                    held=held,
                    unsaved=unsaved is not None,
                    read=read,
                    stored=stored,
                    now=self._clock(),
                )

            stored = None
            action = step(StoreRead.NOT_YET, None)
            if action is BackgroundAction.READ_STORE:
                stored = self._grant.load()
                action = step(StoreRead.UNLOCKED, stored)
            if action is not BackgroundAction.TRY_LOCK:
                self._background_act(action, stored, unsaved)
                return
            assert held is not None
            with self._grant.try_lock() as acquired:
                if not acquired:  # another process is refreshing: look again shortly
                    now = self._clock()
                    self._move(lambda s: s.busy(held.expires_at, now=now))
                    return
                stored = self._grant.load()
                self.events.notice(stored, self._clock())
                self._background_act(step(StoreRead.LOCKED, stored), stored, unsaved)

    def _background_act(
        self, action: BackgroundAction, stored: Token | None, unsaved: Token | None
    ) -> None:
        now = self._clock()
        if action is BackgroundAction.ADOPT_STORED:
            assert stored is not None
            self._move(lambda s: s.adopted_newer(stored, margin=self._margin, now=now))
        elif action is BackgroundAction.SAVE_AGAIN:
            assert unsaved is not None
            self._save_again(unsaved)
        elif action is BackgroundAction.REFRESH:
            state = self._state
            choice = decide.choose_refresh_token(
                pending=state.pending.value if state.pending is not None else None,
                stored=stored,
                held=state.token,
                unsaved=state.unsaved is not None,
            )
            self._refresh_chosen(choice, stored, VALID, retry=False)
        # NOTHING_EXPIRED (waiting callers refresh) and NOTHING_FRESH (someone refreshed)

    def _save_again(self, token: Token) -> None:
        error = self._grant.save(token)
        now = self._clock()
        if error is None:
            self._move(lambda s: s.saved_again(token, margin=self._margin, now=now))
            return
        self._warn_unsaved(error, self._move_and(lambda s: s.kept_unsaved(token, now=now)))

    def _background_failed(self) -> float:
        """The runner's attempt failed: the backoff delay before the next one."""
        now = self._clock()

        def fail(state: GrantState) -> tuple[GrantState, float]:
            token = state.token
            return state.failed(token.expires_at if token is not None else now, now=now)

        return self._move_and(fail)

    def _background_stopped(self) -> None:
        """The runner's attempt failed for good (invalid_grant, a removed grant)."""
        self._move(GrantState.stopped_for_good)
