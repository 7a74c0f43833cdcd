"""RedisTokenStore: one token per key in Redis, so a fleet of machines refreshes once.

The lock is redis-py's (SET NX PX with an ownership token, compare-and-delete on release)
with a TTL, so a holder that crashed cannot block the fleet for longer than `lock_ttl`.
A fresh lock object per use: redis-py keeps the owner token in the object.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ._errors import ConfigurationError, StoreError
from ._store import decode_token
from ._token import Token

if TYPE_CHECKING:
    import redis


def _redis_module() -> Any:
    try:
        import redis
    except ImportError:
        raise ConfigurationError(
            "RedisTokenStore needs redis-py: pip install 'amazon-ads-auth[redis]'"
        ) from None
    return redis


class RedisTokenStore:
    """Tokens as JSON under `prefix + key` in Redis, locked with redis-py's Lock.

    `url_or_client` is a redis:// or rediss:// URL or a `redis.Redis` client. `lock_ttl`
    must exceed a refresh's worst case: with the library defaults that is 4 attempts x 10 s
    plus 3 waits of at most 60 s (a capped Retry-After), 220 s, so the default is 240 s. It
    also stays under the default refresh margin (300 s): if a holder crashes, the fleet's
    access tokens are still valid when the lock expires. `lock_timeout` bounds the wait for
    another holder before StoreError.
    """

    def __init__(
        self,
        url_or_client: str | redis.Redis,
        *,
        prefix: str = "amazon-ads-auth:",
        lock_timeout: float = 270.0,
        lock_ttl: float = 240.0,
    ) -> None:
        module = _redis_module()
        if isinstance(url_or_client, str):
            try:
                self._client = module.Redis.from_url(url_or_client)
            except ValueError as exc:
                raise ConfigurationError(f"invalid Redis URL: {exc}") from None
        else:
            self._client = url_or_client
        self._errors: tuple[type[Exception], ...] = (module.RedisError,)
        self._watch_error = module.WatchError
        self.prefix = prefix
        self.lock_timeout = lock_timeout
        self.lock_ttl = lock_ttl

    def __repr__(self) -> str:
        return f"RedisTokenStore({self._where()!r}, prefix={self.prefix!r})"

    def _where(self) -> str:
        """host:port/db, never the password."""
        kwargs = self._client.connection_pool.connection_kwargs
        return f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"

    def _fail(self, doing: str, exc: Exception) -> StoreError:
        return StoreError(
            f"Redis at {self._where()} failed while {doing}: {type(exc).__name__}; "
            "check that the server is up and the URL is right"
        )

    def load(self, key: str) -> Token | None:
        try:
            raw = self._client.get(self.prefix + key)
        except self._errors as exc:
            raise self._fail("loading a token", exc) from None
        return None if raw is None else self._decode(key, raw)

    def save(self, key: str, token: Token) -> None:
        name = self.prefix + key
        try:
            with self._client.pipeline() as pipe:
                while True:
                    try:
                        pipe.watch(name)
                        raw = pipe.get(name)
                        if raw is not None:
                            # Never replace a stored refresh token with none.
                            stored = self._decode(key, raw).refresh_token
                            token = token.with_refresh_token(stored)
                        pipe.multi()
                        pipe.set(name, json.dumps(token.to_dict()))
                        pipe.execute()
                        return
                    except self._watch_error:
                        continue
        except self._errors as exc:
            raise self._fail("saving a token", exc) from None

    def delete(self, key: str) -> None:
        try:
            self._client.delete(self.prefix + key)
        except self._errors as exc:
            raise self._fail("deleting a token", exc) from None

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        name = f"{self.prefix}lock:{key}"
        redis_lock = self._client.lock(
            name,
            timeout=self.lock_ttl,
            blocking_timeout=self.lock_timeout,
            thread_local=False,
        )
        try:
            acquired = redis_lock.acquire()
        except self._errors as exc:
            raise self._fail(f"taking the lock {name}", exc) from None
        if not acquired:
            raise StoreError(
                f"timed out after {self.lock_timeout}s waiting for the Redis lock {name} at "
                f"{self._where()}; it expires by itself within {self.lock_ttl}s"
            )
        try:
            yield
        finally:
            # The lock may have expired (a very slow holder): that is not an error here.
            with contextlib.suppress(*self._errors):
                redis_lock.release()

    def keys(self) -> list[str]:
        """Every key stored under this prefix (for listing grants)."""
        try:
            names = self._client.scan_iter(match=self.prefix + "*")
            found = []
            for raw_name in names:
                name = raw_name.decode() if isinstance(raw_name, bytes) else str(raw_name)
                key = name[len(self.prefix) :]
                if not key.startswith("lock:"):
                    found.append(key)
        except self._errors as exc:
            raise self._fail("listing keys", exc) from None
        return sorted(found)

    def _decode(self, key: str, raw: bytes | str) -> Token:
        return decode_token(raw, f"the Redis value {self.prefix + key} at {self._where()}")
