"""The token manager: the one refresh algorithm, with no HTTP library in it.

Hot path: `fresh_header()` reads one tuple, the clock, and compares. No lock, no store.

Slow path (`ensure`): single flight, double-checked.
  thread lock -> (re-check memory) -> store lock -> reload -> adopt a stored token that is
  fresh and is not the one that failed -> otherwise refresh, merge, save, adopt.
Async callers first queue on a per-event-loop asyncio.Lock, re-check, and only then let one
task run the same `ensure` in a worker thread, so the loop never blocks on I/O or locks.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections.abc import Callable

from ._errors import NoTokenError
from ._lwa import TokenHttpRequest, refresh_request
from ._store import TokenStore
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
        self._client_secret = client_secret
        self._store = store
        self._key = f"{client_id}/{store_key}"
        self._store_key = store_key
        self._token_url = token_url
        self._margin = refresh_margin
        self._transport = transport
        self._clock = clock
        # An explicit refresh token wins over a different stored one, once, on first use.
        self._pending_refresh_token = refresh_token
        # (stale_at, "Bearer <access>", token): replaced as a whole so readers never tear.
        self._state = _NEVER
        self._generation = 0
        self._unhelped: tuple[str, float] = ("", 0.0)
        self._lock = threading.Lock()
        self._loop_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._loop_locks_guard = threading.Lock()

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
        """The Authorization header value if the in-memory token is fresh, else None."""
        stale_at, header, _ = self._state
        if self._clock() < stale_at:
            return header
        return None

    def ensure(self, failed: str | None = None, *, force: bool = False) -> Token:
        """A fresh token, refreshing at most once however many callers ask at the same time.

        `failed` is an access token the API just rejected: it is not returned again (unless
        a refresh was just shown not to cure its 401s, see `note_refresh_did_not_help`).
        `force` refreshes even a fresh token, unless another caller refreshed meanwhile.
        """
        return self._ensure(self._still_failed(failed), force, self._generation)

    async def async_ensure(self, failed: str | None = None, *, force: bool = False) -> Token:
        """`ensure` for asyncio: tasks queue on a loop lock, one of them goes to a thread."""
        failed = self._still_failed(failed)
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
            token = self._transport.send(request)
            with self._store.lock(self._key):
                self._store.save(self._key, token)
                saved = self._store.load(self._key) or token
            self._pending_refresh_token = None
            self._adopt(saved)
            logger.info(
                "stored a new grant for key %r; access token expires at %.0f",
                self._key,
                saved.expires_at,
            )
            return saved

    def forget(self) -> None:
        """Drop this grant from memory and from the store."""
        with self._lock, self._store.lock(self._key):
            self._store.delete(self._key)
            self._state = _NEVER
            self._generation += 1

    def close(self) -> None:
        self._transport.close()

    def _ensure(self, failed: str | None, force: bool, generation: int) -> Token:
        with self._lock:
            current = self._state[2]
            # A forced refresh is satisfied by any refresh that finished after it was asked for.
            must_refresh = force and self._generation == generation
            if self._acceptable(current, failed, must_refresh):
                assert current is not None
                return current
            with self._store.lock(self._key):
                stored = self._store.load(self._key)
                explicit = self._pending_refresh_token
                if explicit is not None and (stored is None or stored.refresh_token != explicit):
                    # A refresh token passed in by the caller replaces a different stored one.
                    return self._refresh(explicit)
                self._pending_refresh_token = None
                if self._acceptable(stored, failed, must_refresh):
                    assert stored is not None
                    self._adopt(stored)
                    return stored
                if stored is None or not stored.refresh_token:
                    raise NoTokenError(
                        f"no refresh token for client {self._client_id!r}, store key "
                        f"{self._store_key!r}: run `amazon-ads-auth login`, pass "
                        "refresh_token=..., or set AMAZON_ADS_REFRESH_TOKEN"
                    )
                return self._refresh(stored.refresh_token)

    def _refresh(self, refresh_token: str) -> Token:
        """Called with both locks held: one token request, merged and saved."""
        request = refresh_request(
            self._token_url, self._client_id, self._client_secret, refresh_token
        )
        token = self._transport.send(request).with_refresh_token(refresh_token)
        self._store.save(self._key, token)
        self._pending_refresh_token = None
        self._adopt(token)
        logger.info(
            "refreshed the access token for key %r; it expires at %.0f",
            self._key,
            token.expires_at,
        )
        return token

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
