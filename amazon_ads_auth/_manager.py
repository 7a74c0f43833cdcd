"""The token manager: the I/O around the refresh decisions, with no HTTP library in it.

Every decision (the token's state, whether a token meets what a caller needs, which
refresh token to use, whether the store's token is newer) is a pure function in
`_decisions`; this module holds the state and locks and does the store calls and the token
request around them. Each path reads "decide, do the I/O, decide again":
- hot path (`fresh_header`): one tuple read and a clock comparison; no lock, no I/O.
- soft (inside the margin): callers keep the current token; one background refresh runs
  (`_background`), taking the store lock without waiting.
- waiting (expired, a 401, `refresh()`): thread lock -> re-check -> store lock -> reload ->
  adopt a stored token that meets the need -> otherwise refresh, save, adopt. A store that
  is down does not stop it: LwA refresh tokens do not rotate, so refreshing without the
  store's lock is safe, only no longer single-flight across processes.
Async callers queue on a per-event-loop asyncio.Lock first and only then let one task run
the waiting path in a worker thread, so the loop never blocks.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import threading
import weakref
from collections.abc import Callable

from ._background import BackgroundRefresher
from ._decisions import (
    UNHELPED_SECONDS,
    VALID,
    Need,
    NoRefreshToken,
    RefreshChoice,
    TokenState,
    choose_refresh_token,
    estimated_issue_time,
    fallback_after_refusal,
    lifetime_within_margin,
    merge_refresh_token,
    need_after_401,
    satisfies,
    soft_from,
    stored_is_newer,
    token_state,
    use_stored,
)
from ._errors import InvalidGrantError, NoTokenError, StoreError
from ._fork import forget_locks_at_fork
from ._limits import DEFAULT_REFRESH_DEADLINE, EXPECTED_TOKEN_LIFETIME, deadline_scope
from ._lwa import TokenHttpRequest, refresh_request
from ._redact import Secret
from ._store import TokenStore, try_lock
from ._token import Token
from ._transport import TokenTransport

logger = logging.getLogger("amazon_ads_auth")

_NEVER: tuple[float, str, Token | None] = (float("-inf"), "", None)
_UNHELPED_KEPT = 256  # (token, scope) pairs remembered at most


class TokenManager:
    """Keeps one grant's access token fresh for every thread and task that shares it."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        refresh_token: str | None,
        store: TokenStore,
        store_key: str,
        token_url: str,
        refresh_margin: float,
        transport: TokenTransport,
        clock: Callable[[], float],
        refresh_deadline: float = DEFAULT_REFRESH_DEADLINE,
        on_new_token: Callable[[Token], None] | None = None,
    ) -> None:
        self._client_id = client_id
        self._client_secret = Secret(client_secret)
        self._store = store
        self._key = f"{client_id}/{store_key}"
        self._token_url = token_url
        self._margin = refresh_margin
        self._deadline = refresh_deadline
        self._transport = transport
        self._clock = clock
        self._on_new_token = on_new_token
        # An explicit refresh token wins over a different stored one, once, on first use.
        self._pending = None if refresh_token is None else Secret(refresh_token)
        # (soft_at, "Bearer <access>", token): replaced as a whole so readers never tear.
        self._state = _NEVER
        self._issued_at = 0.0  # when the token in `_state` was issued (or is thought to be)
        # The access-token lifetime the endpoint last gave (LwA's 3600 s until we refresh):
        # when a token read from the store was issued, for its half-life.
        self._lifetime = EXPECTED_TOKEN_LIFETIME
        self._refreshes = 0  # new tokens adopted: what a FORCED need counts
        self._unhelped: dict[tuple[str, str | None], float] = {}
        # A token the store refused to save (disk full, Redis down): saved again later.
        self._unsaved: Token | None = None
        self._warned_short = False
        self._background = BackgroundRefresher(
            self._background_attempt, self._expires_at, clock, self._key
        )
        self._make_locks()
        forget_locks_at_fork(self)

    def _make_locks(self) -> None:
        self._lock = threading.Lock()
        self._loop_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._loop_locks_guard = threading.Lock()

    def _after_fork(self) -> None:
        """In a forked child: fresh locks (one held by a parent thread would never be
        released here) and no background refresh believed to be running."""
        self._make_locks()
        self._background.after_fork()

    def __repr__(self) -> str:
        return f"TokenManager(key={self._key!r}, store={self._store!r})"

    @property
    def store(self) -> TokenStore:
        return self._store

    @property
    def key(self) -> str:
        """The key this grant has in the store: "<client id>/<store key>"."""
        return self._key

    @property
    def token(self) -> Token | None:
        """The token held in memory, fresh or not. No I/O."""
        return self._state[2]

    @property
    def state(self) -> TokenState:
        """The in-memory token's state now."""
        return token_state(self._state[2], self._clock(), self._margin, self._issued_at)

    def fresh_header(self) -> str | None:
        """The Authorization header value while the in-memory token is valid, else None.

        Inside the refresh margin it starts (at most) one background refresh and still
        returns the current header: no caller waits while the token is valid.
        """
        soft_at, header, token = self._state
        now = self._clock()
        if now < soft_at:
            return header
        if token is not None and now < token.expires_at:
            self._background.start(now)
            return header
        return None

    def ensure(self, need: Need = VALID) -> Token:
        """A token that meets `need`, refreshing at most once however many callers ask.

        Raises: NoTokenError (no grant, or it was removed), TokenRequestError and its
        subclasses (LwA refused), TokenEndpointError (LwA unreachable), StoreError.
        """
        held = self._usable(need)
        return held if held is not None else self._wait(need)

    async def async_ensure(self, need: Need = VALID) -> Token:
        """`ensure` for asyncio: tasks queue on a loop lock, one of them goes to a thread."""
        held = self._usable(need)
        if held is not None:
            return held
        async with self._loop_lock():
            held = self._usable(need)
            if held is not None:
                return held
            return await asyncio.to_thread(self._wait, need)

    def refresh(self) -> Token:
        """A new token now, unless another caller refreshed while this one waited."""
        return self.ensure(Need.forced(self._refreshes))

    async def async_refresh(self) -> Token:
        return await self.async_ensure(Need.forced(self._refreshes))

    def need_after_401(self, rejected: str, scope: str | None) -> Need:
        """What to ask for after the API refused `rejected` for `scope` (see `_decisions`)."""
        return need_after_401(rejected, scope, self._unhelped, self._clock())

    def note_refresh_did_not_help(self, access_token: str, scope: str | None) -> None:
        """A request replayed with this token right after a 401 got 401 again: for this
        scope those 401s are about something else (profile, client id), not the token. For
        a minute they cost no token request; other scopes and `refresh()` are unaffected."""
        now = self._clock()
        kept = {k: until for k, until in self._unhelped.items() if until > now}
        while len(kept) >= _UNHELPED_KEPT:
            kept.pop(next(iter(kept)))
        kept[(access_token, scope)] = now + UNHELPED_SECONDS
        self._unhelped = kept  # replaced whole: readers never see it half-built

    def save_new_grant(self, request: TokenHttpRequest) -> Token:
        """Exchange an authorization code and store the result as this key's grant."""
        with self._lock:
            saved = self._store_grant(self._transport.send(request))
            logger.info("stored a new grant for key %r; %s", self._key, _expiry(saved))
            return saved

    def seed(self, token: Token) -> Token:
        """Store `token` as this key's grant and use it (no token request while it is
        valid); a stored refresh token is kept when `token` has none."""
        with self._lock:
            return self._store_grant(token)

    def forget(self) -> None:
        """Drop this grant from memory and from the store."""
        with self._lock, self._store.lock(self._key):
            self._store.delete(self._key)
            self._state = _NEVER
            self._unsaved = None
            self._refreshes += 1

    def close(self) -> None:
        self._transport.close()

    # ----- the waiting path (expired, a 401, refresh()) ------------------------------------

    def _usable(self, need: Need) -> Token | None:
        """The in-memory token if it meets `need` (a soft one starts its background
        refresh), else None."""
        token = self._state[2]
        if not satisfies(token, need, self._clock(), self._refreshes):
            return None
        self.fresh_header()
        return token

    def _wait(self, need: Need) -> Token:
        with self._lock, deadline_scope(self._deadline):
            held = self._usable(need)
            if held is not None:
                return held
            if not need.waits:
                stored = self._peek_store()
                if stored is not None:
                    return stored
            try:
                with self._store.lock(self._key):
                    return self._refresh_locked(need)
            except StoreError as exc:
                # Saves never raise (`_save`), so the store failed before any refresh.
                return self._refresh_without_store(exc)

    def _peek_store(self) -> Token | None:
        """A still-valid stored token, read without the store lock (writes are atomic), so
        a process never queues behind another's background refresh for a token it could
        use now. None when the caller's own refresh token must be tried first."""
        try:
            stored = self._store.load(self._key)
        except StoreError:
            return None  # the locked path reports it, or refreshes without the store
        pending = self._pending
        if pending is not None and (stored is None or stored.refresh_token != pending.value):
            return None
        if stored is None or not satisfies(stored, VALID, self._clock(), 0):
            return None
        self._pending = None
        self._adopt(stored, counts=self._state[2] is not None)
        return stored

    def _refresh_locked(self, need: Need) -> Token:
        """Called with both locks held."""
        stored = self._store.load(self._key)
        choice = self._choose(stored)
        if choice.source != "pending":
            self._pending = None
            if self._adopt_stored(stored, need):
                assert stored is not None
                return stored
        return self._refresh_chosen(choice, stored, need)

    def _adopt_stored(self, stored: Token | None, need: Need) -> bool:
        held = self._state[2]
        if not use_stored(stored, held, need, self._clock()):
            return False
        assert stored is not None
        self._adopt(stored, counts=held is not None and held.access_token != stored.access_token)
        return True

    def _choose(self, stored: Token | None, *, store_ok: bool = True) -> RefreshChoice:
        pending = self._pending.value if self._pending is not None else None
        return choose_refresh_token(
            pending=pending,
            stored=stored,
            held=self._state[2],
            store_ok=store_ok,
            unsaved=self._unsaved is not None,
        )

    def _refresh_chosen(
        self, choice: RefreshChoice, stored: Token | None, need: Need, *, retry: bool = True
    ) -> Token:
        if choice.token is None:
            raise self._no_token(choice.missing)
        if choice.source != "pending":
            return self._refresh(Secret(choice.token), retry=retry)
        try:
            return self._refresh(Secret(choice.token), retry=retry)
        except InvalidGrantError:
            fallback = fallback_after_refusal(choice.token, stored)
            if fallback is None:
                raise
            # A stale AMAZON_ADS_REFRESH_TOKEN beside a good stored grant: use the grant.
            logger.warning(
                "the refresh token passed in for key %r was refused (invalid_grant); "
                "using the stored grant instead",
                self._key,
            )
            self._pending = None
            if self._adopt_stored(stored, need):
                assert stored is not None
                return stored
            return self._refresh(Secret(fallback), retry=retry)

    def _refresh_without_store(self, error: StoreError) -> Token:
        """The store failed before any refresh: refresh with the refresh token we hold."""
        choice = self._choose(None, store_ok=False)
        if choice.token is None:
            raise error
        logger.warning(
            "the token store failed for key %r (%s); refreshing without it: single flight "
            "across processes is off until the store is back",
            self._key,
            error,
        )
        return self._refresh(Secret(choice.token))

    def _no_token(self, why: NoRefreshToken | None) -> NoTokenError:
        if why is NoRefreshToken.REMOVED:
            return NoTokenError(
                f"the login was removed: the grant {self._key!r} is no longer in "
                f"{self._store!r} (`amazon-ads-auth logout`, or another process deleted "
                "it): run `amazon-ads-auth login`"
            )
        return NoTokenError(
            f"no refresh token for key {self._key!r} in {self._store!r}: run "
            "`amazon-ads-auth login`, pass refresh_token=..., or set AMAZON_ADS_REFRESH_TOKEN"
        )

    # ----- refresh, save, adopt -------------------------------------------------------------

    def _refresh(self, refresh_token: Secret, *, retry: bool = True) -> Token:
        """One token request (with retries unless `retry=False`), saved, adopted. A save
        that fails keeps the token in memory and is tried again later. (Secrets stay in
        `Secret` wrappers here, so no frame of a traceback shows them.)"""
        received_at = self._clock()
        token = self._transport.send(
            refresh_request(
                self._token_url, self._client_id, self._client_secret.value, refresh_token.value
            ),
            retry=retry,
        ).with_refresh_token(refresh_token.value)
        self._pending = None
        # Saved before it is adopted: whoever sees the new token in memory (and may exit)
        # knows the store has it too, unless the save failed and is retried.
        error = self._save(token)
        self._lifetime = token.expires_at - received_at
        self._adopt(token, counts=True, issued_at=received_at)
        self._background.reset()
        logger.info("refreshed the access token for key %r; %s", self._key, _expiry(token))
        if lifetime_within_margin(token, self._margin, received_at) and not self._warned_short:
            self._warned_short = True
            logger.warning(
                "the token endpoint gave key %r a token that lives %.0fs, no longer than the "
                "refresh margin (%.0fs): it is refreshed after half its life instead; use a "
                "smaller refresh_margin",
                self._key,
                token.expires_at - received_at,
                self._margin,
            )
        if error is not None:
            self._keep_unsaved(token, error)
        self._tell(token)
        return token

    def _store_grant(self, token: Token) -> Token:
        """Called with the thread lock held: save `token` as the grant (raising if the store
        fails: the caller must know) and adopt it."""
        with self._store.lock(self._key):
            saved = merge_refresh_token(token, self._store.load(self._key))
            self._store.save(self._key, saved)
        self._pending = None
        self._unsaved = None
        self._adopt(saved, counts=True)
        self._background.reset()
        return saved

    def _save(self, token: Token) -> StoreError | None:
        try:
            if not token.refresh_token:
                token = merge_refresh_token(token, self._store.load(self._key))
            self._store.save(self._key, token)
        except StoreError as exc:
            return exc
        self._unsaved = None
        return None

    def _keep_unsaved(self, token: Token, error: StoreError) -> None:
        """Keep a token the store refused in memory; a background attempt saves it later."""
        self._unsaved = token
        delay = self._background.failed(token.expires_at)
        # Bring the soft point forward so a background attempt retries the save.
        self._state = (min(self._state[0], self._clock() + delay), *self._state[1:])
        logger.warning(
            "could not save the new token for key %r (%s); keeping it in memory and trying "
            "the save again in %.0fs",
            self._key,
            error,
            delay,
        )

    def _adopt(self, token: Token, *, counts: bool, issued_at: float | None = None) -> None:
        """Use `token` from now on; `counts` when it is a new token for `refresh()`;
        `issued_at` when we know it (our own refresh), else estimated."""
        if issued_at is None:
            issued_at = estimated_issue_time(token, self._lifetime, self._clock())
        self._issued_at = issued_at
        soft_at = soft_from(token, self._margin, issued_at)
        self._state = (soft_at, f"Bearer {token.access_token}", token)
        if counts:
            self._refreshes += 1

    def _tell(self, token: Token) -> None:
        callback = self._on_new_token
        if callback is None:
            return
        try:
            callback(token)
        except Exception as exc:  # the user's callback must not break a refresh
            logger.warning(
                "the new-token callback for key %r failed (%s)", self._key, type(exc).__name__
            )

    def _expires_at(self) -> float:
        token = self._state[2]
        return token.expires_at if token is not None else self._clock()

    # ----- the background path (inside the margin) -----------------------------------------

    def _background_attempt(self) -> None:
        """One refresh attempt, in the runner's worker thread; raises what failed."""
        with self._lock, deadline_scope(self._deadline):
            held = self._state[2]
            now = self._clock()
            state = token_state(held, now, self._margin, self._issued_at)
            if held is None or state is TokenState.EXPIRED:
                return  # expired meanwhile: waiting callers refresh
            if self._unsaved is None and state is TokenState.FRESH:
                return  # someone refreshed meanwhile
            # Another process may have refreshed already: adopt that without any lock.
            if self._adopt_if_newer(self._store.load(self._key)):
                return
            with try_lock(self._store, self._key) as acquired:
                if not acquired:
                    self._background.busy(held.expires_at)  # another process is refreshing
                    return
                stored = self._store.load(self._key)
                if self._adopt_if_newer(stored):
                    return
                if self._unsaved is not None and state is TokenState.FRESH:
                    self._save_again(self._unsaved)  # only the save was left to do
                    return
                self._refresh_chosen(self._choose(stored), stored, VALID, retry=False)

    def _adopt_if_newer(self, stored: Token | None) -> bool:
        if not stored_is_newer(stored, self._state[2], self._clock()):
            return False
        assert stored is not None
        self._adopt(stored, counts=True)
        self._unsaved = None
        self._background.reset()
        return True

    def _save_again(self, token: Token) -> None:
        error = self._save(token)
        if error is None:
            self._adopt(token, counts=False, issued_at=self._issued_at)  # back on schedule
        else:
            self._keep_unsaved(token, error)

    def _loop_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._loop_locks.get(loop)
        if lock is None:
            with self._loop_locks_guard:
                lock = self._loop_locks.setdefault(loop, asyncio.Lock())
        return lock


def _expiry(token: Token) -> str:
    """ "expires at 2026-12-02T10:00:00Z" (ISO 8601, UTC) for log lines."""
    when = datetime.datetime.fromtimestamp(token.expires_at, tz=datetime.timezone.utc)
    return "expires at " + when.strftime("%Y-%m-%dT%H:%M:%SZ")
