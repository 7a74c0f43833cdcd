"""The token manager: the one refresh algorithm, with no HTTP library in it.

A token is, for its grant:
- fresh (now < expires_at - margin): `fresh_header()` reads one tuple and the clock. No
  lock, no store, no I/O.
- soft (inside the margin, still valid): callers keep using it and never wait. The first
  caller to notice starts one background refresh (`_background`); its failures are logged
  and retried on a backoff, never raised.
- expired (or rejected by a 401, or a forced refresh): callers wait for one refresh
  (`ensure`), single flight, double-checked:
  thread lock -> (re-check memory) -> store lock -> reload -> adopt a stored token that is
  fresh and is not the one that failed -> otherwise refresh, merge, save, adopt.
  A store that is down does not stop it: LwA refresh tokens do not rotate, so refreshing
  without the store's lock is safe, only no longer single-flight across processes.
Async callers first queue on a per-event-loop asyncio.Lock, re-check, and only then let one
task run the same `ensure` in a worker thread, so the loop never blocks on I/O or locks.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections.abc import Callable

from ._background import SoftRefreshSchedule
from ._errors import AdsAuthError, InvalidGrantError, NoTokenError, StoreError
from ._fork import forget_locks_at_fork
from ._lwa import TokenHttpRequest, refresh_request
from ._redact import Secret
from ._store import TokenStore, try_lock
from ._token import Token
from ._transport import TokenTransport

logger = logging.getLogger("amazon_ads_auth")

_NEVER: tuple[float, str, Token | None] = (float("-inf"), "", None)
_UNHELPED_SECONDS = 60.0


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
    ) -> None:
        self._client_id = client_id
        self._client_secret = Secret(client_secret)
        self._store = store
        self._key = f"{client_id}/{store_key}"
        self._store_key = store_key
        self._token_url = token_url
        self._margin = refresh_margin
        self._transport = transport
        self._clock = clock
        # An explicit refresh token wins over a different stored one, once, on first use.
        self._pending_refresh_token = None if refresh_token is None else Secret(refresh_token)
        # (stale_at, "Bearer <access>", token): replaced as a whole so readers never tear.
        self._state = _NEVER
        self._generation = 0
        self._unhelped: tuple[str, float] = ("", 0.0)
        # A token the store refused to save (disk full, Redis down): saved again later.
        self._unsaved: Token | None = None
        self._soft = SoftRefreshSchedule(clock)
        # Told about every new token (e.g. requests-oauthlib's token_updater during a move).
        self.on_new_token: Callable[[Token], None] | None = None
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
        self._soft = self._soft.after_fork()

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

    def fresh_header(self) -> str | None:
        """The Authorization header value while the in-memory token is valid, else None.

        Inside the refresh margin it starts (at most) one background refresh and still
        returns the current header: no caller waits while the token is valid.
        """
        stale_at, header, token = self._state
        now = self._clock()
        if now < stale_at:
            return header
        if token is not None and now < token.expires_at:
            self._start_background(now)
            return header
        return None

    def _valid_now(self) -> Token | None:
        """The in-memory token if it is still valid (starting a background refresh when it
        is inside the margin), else None."""
        if self.fresh_header() is None:
            return None
        return self._state[2]

    def ensure(self, failed: str | None = None, *, force: bool = False) -> Token:
        """A valid token, refreshing at most once however many callers ask at the same time.

        Inside the refresh margin this returns the current token at once (a background
        refresh is under way). `failed` is an access token the API just rejected: it is not
        returned again (unless a refresh was just shown not to cure its 401s, see
        `note_refresh_did_not_help`). `force` refreshes even a fresh token, unless another
        caller refreshed meanwhile. Both wait for their refresh.
        """
        failed = self._still_failed(failed)
        if failed is None and not force:
            current = self._valid_now()
            if current is not None:
                return current
        return self._ensure(failed, force, self._generation)

    async def async_ensure(self, failed: str | None = None, *, force: bool = False) -> Token:
        """`ensure` for asyncio: tasks queue on a loop lock, one of them goes to a thread."""
        failed = self._still_failed(failed)
        if failed is None and not force:
            current = self._valid_now()
            if current is not None:
                return current
        generation = self._generation
        async with self._loop_lock():
            current = self._state[2]
            if self._acceptable(current, failed, force and self._generation == generation):
                assert current is not None
                return current
            return await asyncio.to_thread(self._ensure, failed, force, generation)

    def note_refresh_did_not_help(self, access_token: str) -> None:
        """A request replayed with this token right after a 401 got 401 again: those 401s are
        about something else (profile, scope, client id), not the token. For a minute, 401s
        with this token cost no token request, so a misconfigured profile cannot turn every
        API call into a refresh."""
        self._unhelped = (access_token, self._clock() + _UNHELPED_SECONDS)

    def _still_failed(self, failed: str | None) -> str | None:
        token, until = self._unhelped
        if failed is not None and failed == token and self._clock() < until:
            return None
        return failed

    def save_new_grant(self, request: TokenHttpRequest) -> Token:
        """Exchange an authorization code and store the result as this key's grant."""
        with self._lock:
            saved = self._store_grant(self._transport.send(request))
            logger.info(
                "stored a new grant for key %r; access token expires at %.0f",
                self._key,
                saved.expires_at,
            )
            return saved

    def seed(self, token: Token) -> Token:
        """Store `token` as this key's grant and use it (no token request while it is
        valid); a stored refresh token is kept when `token` has none."""
        with self._lock:
            return self._store_grant(token)

    def _store_grant(self, token: Token) -> Token:
        """Called with the thread lock held: save `token` as the grant, adopt what the store
        kept (its refresh token merged in)."""
        with self._store.lock(self._key):
            self._store.save(self._key, token)
            saved = self._store.load(self._key) or token
        self._pending_refresh_token = None
        self._unsaved = None
        self._adopt(saved)
        self._soft.reset()
        return saved

    def forget(self) -> None:
        """Drop this grant from memory and from the store."""
        with self._lock, self._store.lock(self._key):
            self._store.delete(self._key)
            self._state = _NEVER
            self._unsaved = None
            self._generation += 1

    def close(self) -> None:
        self._transport.close()

    # ----- waiting refresh (expired, 401, forced) -----------------------------------------

    def _ensure(self, failed: str | None, force: bool, generation: int) -> Token:
        with self._lock:
            current = self._state[2]
            # A forced refresh is satisfied by any refresh that finished after it was asked for.
            must_refresh = force and self._generation == generation
            if self._acceptable(current, failed, must_refresh):
                assert current is not None
                return current
            if failed is None and not must_refresh:
                valid = self._valid_in_store()
                if valid is not None:
                    return valid
            try:
                with self._store.lock(self._key):
                    return self._ensure_locked(failed, must_refresh)
            except StoreError as exc:
                # Saves never raise (`_save`), so the store failed before any refresh.
                return self._refresh_without_store(exc)

    def _valid_in_store(self) -> Token | None:
        """A still-valid stored token, read without the store lock (writes are atomic), so
        a process never queues behind another's background refresh for a token it could
        use now. None when the caller's own refresh token must be tried first."""
        try:
            stored = self._store.load(self._key)
        except StoreError:
            return None  # the locked path reports it, or refreshes without the store
        explicit = self._pending_refresh_token
        if stored is None or (explicit is not None and stored.refresh_token != explicit.value):
            return None
        if self._clock() >= stored.expires_at:
            return None
        self._pending_refresh_token = None
        self._adopt(stored)
        return stored

    def _ensure_locked(self, failed: str | None, must_refresh: bool) -> Token:
        stored = self._store.load(self._key)
        explicit = self._pending_refresh_token
        if explicit is not None and (stored is None or stored.refresh_token != explicit.value):
            # A refresh token passed in by the caller replaces a different stored one...
            try:
                return self._refresh(explicit)
            except InvalidGrantError:
                if stored is None or not stored.refresh_token:
                    raise
                # ...unless LwA refuses it while the store holds a grant (a stale
                # AMAZON_ADS_REFRESH_TOKEN, say): then the stored grant is used.
                logger.warning(
                    "the refresh token passed in for key %r was refused (invalid_grant); "
                    "using the stored grant instead",
                    self._key,
                )
        self._pending_refresh_token = None
        if self._acceptable(stored, failed, must_refresh) or (
            # A caller that only needs a valid token takes a stored one inside its margin
            # (another process's background refresh will replace it): no one waits for that.
            stored is not None
            and failed is None
            and not must_refresh
            and self._clock() < stored.expires_at
        ):
            assert stored is not None
            self._adopt(stored)
            return stored
        if stored is None or not stored.refresh_token:
            raise NoTokenError(
                f"no refresh token for client {self._client_id!r}, store key "
                f"{self._store_key!r} (looked under {self._key!r} in {self._store!r}): run "
                "`amazon-ads-auth login`, pass refresh_token=..., or set "
                "AMAZON_ADS_REFRESH_TOKEN"
            )
        return self._refresh(Secret(stored.refresh_token))

    def _refresh_without_store(self, error: StoreError) -> Token:
        """The store failed before any refresh: refresh with the refresh token we hold.
        Safe because LwA refresh tokens do not rotate; the save is retried later."""
        current = self._state[2]
        refresh_token = self._pending_refresh_token
        if refresh_token is None and current is not None and current.refresh_token:
            refresh_token = Secret(current.refresh_token)
        if refresh_token is None:
            raise error
        logger.warning(
            "the token store failed for key %r (%s); refreshing without it: single flight "
            "across processes is off until the store is back",
            self._key,
            error,
        )
        return self._refresh(refresh_token)

    def _refresh(self, refresh_token: Secret, *, retry: bool = True) -> Token:
        """One token request (with retries unless `retry=False`), merged, adopted, saved.
        A save that fails keeps the token in memory and is tried again later."""
        token = self._transport.send(
            refresh_request(
                self._token_url, self._client_id, self._client_secret.value, refresh_token.value
            ),
            retry=retry,
        ).with_refresh_token(refresh_token.value)
        self._pending_refresh_token = None
        # Saved before it is adopted: whoever sees the new token in memory (and may exit)
        # knows the store has it too, unless the save failed and is retried.
        error = self._save(token)
        self._adopt(token)
        self._soft.reset()
        logger.info(
            "refreshed the access token for key %r; it expires at %.0f",
            self._key,
            token.expires_at,
        )
        if error is not None:
            self._keep_unsaved(token, error)
        self._tell(token)
        return token

    def _tell(self, token: Token) -> None:
        callback = self.on_new_token
        if callback is None:
            return
        try:
            callback(token)
        except Exception as exc:  # the user's callback must not break a refresh
            logger.warning(
                "the new-token callback for key %r failed (%s)", self._key, type(exc).__name__
            )

    def _save(self, token: Token) -> StoreError | None:
        try:
            self._store.save(self._key, token)
        except StoreError as exc:
            return exc
        self._unsaved = None
        return None

    def _keep_unsaved(self, token: Token, error: StoreError) -> None:
        """Keep a token the store refused in memory; a background attempt saves it later."""
        self._unsaved = token
        delay = self._soft.failed(token.expires_at)
        # Bring the next check forward so a background attempt retries the save.
        self._state = (min(self._state[0], self._clock() + delay), *self._state[1:])
        logger.warning(
            "could not save the new token for key %r (%s); keeping it in memory and trying "
            "the save again in %.0fs",
            self._key,
            error,
            delay,
        )

    # ----- background refresh (inside the margin) ----------------------------------------

    def _start_background(self, now: float) -> None:
        if not self._soft.claim(now):
            return
        try:
            threading.Thread(
                target=self._background, name="amazon-ads-auth-refresh", daemon=True
            ).start()
        except RuntimeError:  # interpreter shutting down: callers still have a valid token
            self._soft.release()

    def _background(self) -> None:
        """One refresh attempt in a worker thread. Raises nothing: failures are logged and
        the next attempt waits for the backoff."""
        try:
            with self._lock:
                self._background_attempt()
        except InvalidGrantError as exc:
            self._soft.stop()
            logger.error(
                "background refresh for key %r failed for good (%s); calls go on with the "
                "current token until it expires",
                self._key,
                exc,
            )
        except AdsAuthError as exc:
            current = self._state[2]
            delay = self._soft.failed(current.expires_at if current else self._clock())
            logger.warning(
                "background refresh for key %r failed (%s); the current token is still "
                "valid; next attempt in %.3gs",
                self._key,
                exc,
                delay,
            )
        except Exception as exc:  # a bug or a third-party store's error: never raised
            current = self._state[2]
            self._soft.failed(current.expires_at if current else self._clock())
            logger.warning(
                "background refresh for key %r failed unexpectedly (%s)",
                self._key,
                type(exc).__name__,
            )
        finally:
            self._soft.release()

    def _background_attempt(self) -> None:
        """Called with the thread lock held."""
        current = self._state[2]
        now = self._clock()
        if current is None or now >= current.expires_at:
            return  # expired meanwhile: waiting callers refresh
        if self._unsaved is None and now < current.expires_at - self._margin:
            return  # someone refreshed meanwhile
        # Another process may have refreshed already: adopt that without any lock.
        if self._adopt_if_newer(self._store.load(self._key), current):
            return
        with try_lock(self._store, self._key) as acquired:
            if not acquired:
                # Another process is refreshing: look at the store again shortly.
                self._soft.busy(current.expires_at)
                return
            if self._adopt_if_newer(self._store.load(self._key), current):
                return
            if now < current.expires_at - self._margin:
                assert self._unsaved is not None
                error = self._save(self._unsaved)  # only the save was left to do
                if error is None:
                    self._adopt(current)  # back to the normal schedule
                else:
                    self._keep_unsaved(current, error)
                return
            stored = self._store.load(self._key)
            refresh_token = self._pending_refresh_token
            if refresh_token is None:
                value = (stored and stored.refresh_token) or current.refresh_token
                if not value:
                    raise NoTokenError(f"no refresh token for key {self._key!r}")
                refresh_token = Secret(value)
            self._refresh(refresh_token, retry=False)

    def _adopt_if_newer(self, stored: Token | None, current: Token) -> bool:
        if (
            stored is not None
            and stored.access_token != current.access_token
            and stored.expires_at > current.expires_at
            and self._clock() < stored.expires_at - self._margin
        ):
            self._adopt(stored)
            self._unsaved = None
            self._soft.reset()
            return True
        return False

    # ----- shared --------------------------------------------------------------------------

    def _acceptable(self, token: Token | None, failed: str | None, must_refresh: bool) -> bool:
        return (
            token is not None
            and not must_refresh
            and token.access_token != failed
            and self._clock() < token.expires_at - self._margin
        )

    def _adopt(self, token: Token) -> None:
        self._state = (
            token.expires_at - self._margin,
            f"Bearer {token.access_token}",
            token,
        )
        self._generation += 1

    def _loop_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._loop_locks.get(loop)
        if lock is None:
            with self._loop_locks_guard:
                lock = self._loop_locks.setdefault(loop, asyncio.Lock())
        return lock
