"""The token manager: locks and paths around the refresh decisions; no HTTP library here.

Decisions are pure functions in `_decisions`, the held token and hot path are `_held_token`'s,
store and token-endpoint calls `_grant_io`'s. Each path reads "decide, do the I/O, decide
again":
- soft (inside the margin): callers keep the current token; one background refresh runs
  (`_background`), taking the store lock without waiting.
- waiting (expired, a 401, `refresh()`): thread lock -> re-check -> store lock -> reload ->
  adopt a stored token that meets the need -> otherwise refresh, save, adopt. A store that
  is down does not stop it (LwA refresh tokens do not rotate): it is only no longer single
  flight across processes. Async callers queue on their loop's lock, then one task runs
  the waiting path in a worker thread, so the loop never blocks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from .._errors import InvalidGrantError, StoreError
from .._limits import deadline_scope
from .._locks import LoopLocks, forget_locks_at_fork
from .._lwa.messages import TokenHttpRequest
from .._redact import Secret
from .._stores.base import TokenStore
from .._token import Token
from . import decisions as decide
from .background import BackgroundRefresher
from .decisions import VALID, Need, RefreshChoice, TokenState
from .events import GrantEvents
from .grant_io import Consent, GrantIO, expiry
from .held import HeldToken

logger = logging.getLogger("amazon_ads_auth")


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
        # An explicit refresh token wins over a different stored one, once, on first use.
        self._pending = None if refresh_token is None else Secret(refresh_token)
        self._unhelped = decide.Unhelped()
        self._background = BackgroundRefresher(
            self._background_soft, lambda: self.held.expires_at(), clock, self._key
        )
        self.held = HeldToken(refresh_margin, clock, self._background.start)
        self.fresh_header = self.held.fresh_header  # the hot path, one attribute away
        self._lock = threading.Lock()
        self._loop_locks = LoopLocks()
        forget_locks_at_fork(self)

    def _after_fork(self) -> None:
        """In a forked child: a fresh lock, and no background refresh believed running."""
        self._lock = threading.Lock()
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
    def token(self) -> Token | None:
        """The token held in memory, fresh or not. No I/O."""
        return self.held.token

    def ensure(self, need: Need = VALID) -> Token:
        """A token that meets `need`, refreshing at most once however many callers ask.

        Raises: NoTokenError (no grant, or it was removed), TokenRequestError (LwA refused),
        TokenEndpointError (LwA unreachable), StoreError."""
        held = self.held.usable(need)
        return held if held is not None else self._wait(need)

    async def async_ensure(self, need: Need = VALID) -> Token:
        """`ensure` for asyncio: tasks queue on a loop lock, one of them goes to a thread."""
        held = self.held.usable(need)
        if held is not None:
            return held
        async with self._loop_locks.get():
            held = self.held.usable(need)
            import asyncio  # loaded by async callers only

            return held if held is not None else await asyncio.to_thread(self._wait, need)

    def refresh(self) -> Token:
        """A new token now, unless another caller refreshed while this one waited."""
        return self.ensure(Need.forced(self.held.refreshes))

    def need_after_401(self, rejected: str, scope: str | None) -> Need:
        """What to ask for after the API refused `rejected` for `scope` (see `_decisions`)."""
        return decide.need_after_401(rejected, scope, self._unhelped, self._clock())

    def note_refresh_did_not_help(self, access_token: str, scope: str | None) -> None:
        """A replay right after a 401 got 401 again: for this token and scope those 401s
        are about something else (profile, client id). For a minute they cost no token
        request; other scopes and `refresh()` are unaffected."""
        self._unhelped = self._unhelped.noted(access_token, scope, self._clock())

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
            self._pending = None
            self.held.unsaved = None
            self.held.adopt(saved, counts=True)
            self._background.reset()
            return saved

    def forget(self) -> None:
        """Drop this grant from memory and from the store."""
        with self._lock:
            self._grant.delete()
            self.held.clear()

    def close(self) -> None:
        self._grant.close()

    # ----- the waiting path (expired, a 401, refresh()) ------------------------------------

    def _wait(self, need: Need) -> Token:
        with self.events.collecting(soft=False):  # delivered once the locks are released
            return self._wait_locked(need)

    def _wait_locked(self, need: Need) -> Token:
        with self._lock, deadline_scope(self._deadline):
            held = self.held.usable(need)
            if held is not None:
                return held
            peeked = None if need.waits else self._peek_store()
            if peeked is not None:
                return peeked
            try:
                with self._grant.lock():
                    stored = self._grant.load()
                    self.events.notice(stored, self._clock())
                    choice = self._choose(stored)
                    adopted = (
                        None if choice.source == "pending" else self._adopt_stored(stored, need)
                    )
                    return adopted or self._refresh_chosen(choice, stored, need)
            except StoreError as exc:  # before any refresh: saves never raise
                choice = self._choose(None, store_ok=False)
                if choice.token is None:
                    raise
                logger.warning(
                    "the token store failed for key %r (%s); refreshing without it: single "
                    "flight across processes is off until the store is back",
                    self._key,
                    exc,
                )
                return self._refresh(Secret(choice.token))

    def _peek_store(self) -> Token | None:
        """Adopt a still-valid stored token, read without the store lock (writes are
        atomic), so a process never queues behind another's background refresh for a token
        it could use now. None when the caller's own refresh token must be tried first."""
        try:
            stored = self._grant.load()
        except StoreError:
            return None  # the locked path reports it, or refreshes without the store
        if stored is None or self._choose(stored).source == "pending":
            return None
        if not decide.satisfies(stored, VALID, self._clock(), 0):
            return None
        self._pending = None
        self.held.adopt_stored(stored)
        return stored

    def _choose(self, stored: Token | None, *, store_ok: bool = True) -> RefreshChoice:
        return decide.choose_refresh_token(
            pending=self._pending.value if self._pending is not None else None,
            stored=stored,
            held=self.held.token,
            store_ok=store_ok,
            unsaved=self.held.unsaved is not None,
        )

    def _adopt_stored(self, stored: Token | None, need: Need) -> Token | None:
        """The stored token, adopted, if it meets `need` instead of a refresh."""
        self._pending = None
        held = self.held.token
        if stored is None or not decide.use_stored(stored, held, need, self._clock()):
            return None
        self.held.adopt_stored(stored)
        return stored

    def _refresh_chosen(
        self, choice: RefreshChoice, stored: Token | None, need: Need, *, retry: bool = True
    ) -> Token:
        if choice.token is None:
            raise self._grant.no_token(choice.missing)
        try:
            return self._refresh(Secret(choice.token), retry=retry)
        except InvalidGrantError:
            fallback = decide.fallback_after_refusal(choice.token, stored)
            if choice.source != "pending" or fallback is None:
                raise
            logger.warning(  # a stale AMAZON_ADS_REFRESH_TOKEN beside a good stored grant
                "the refresh token passed in for key %r was refused (invalid_grant); using "
                "the stored grant instead",
                self._key,
            )
            return self._adopt_stored(stored, need) or self._refresh(Secret(fallback), retry=retry)

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
        self._pending = None
        error = self._grant.save(token)
        self.held.adopt_refreshed(token, received_at)
        self._background.reset()
        if error is None:
            self.held.unsaved = None
        else:
            self._keep_unsaved(token, error)
        self._grant.announce(token, received_at, self._margin)
        return token

    def _keep_unsaved(self, token: Token, error: StoreError) -> None:
        """Keep a token the store refused in memory; a background attempt saves it later."""
        self.held.unsaved = token
        delay = self._background.failed(token.expires_at)
        self.held.retry_save_at(self._clock() + delay)
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
            held, state, unsaved = self.held.token, self.held.state(), self.held.unsaved
            if held is None or state is TokenState.EXPIRED:
                return  # expired meanwhile: waiting callers refresh
            if unsaved is None and state is TokenState.FRESH:
                return  # someone refreshed meanwhile
            if self._adopt_if_newer(self._grant.load()):
                return  # another process refreshed: adopted without any lock
            with self._grant.try_lock() as acquired:
                if not acquired:
                    self._background.busy(held.expires_at)  # another process is refreshing
                    return
                stored = self._grant.load()
                self.events.notice(stored, self._clock())
                if self._adopt_if_newer(stored):
                    return
                if unsaved is not None and state is TokenState.FRESH:
                    self._save_again(unsaved)  # only the save was left to do
                    return
                self._refresh_chosen(self._choose(stored), stored, VALID, retry=False)

    def _adopt_if_newer(self, stored: Token | None) -> bool:
        if stored is None or not decide.stored_is_newer(stored, self.held.token, self._clock()):
            return False
        self.held.adopt_stored(stored)
        self.held.unsaved = None
        self._background.reset()
        return True

    def _save_again(self, token: Token) -> None:
        error = self._grant.save(token)
        if error is None:
            self.held.unsaved = None
            self.held.adopt(token, counts=False, issued_at=self.held.issued_at)  # on schedule
        else:
            self._keep_unsaved(token, error)
