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

from .._errors import ConfigurationError, StoreError
from .._limits import DEFAULT_LOCK_TTL, DEFAULT_LOCK_WAIT
from .._token import Token
from .base import decode_record, decode_token, require_token

if TYPE_CHECKING:
    import redis

_LOCK = "lock:"
_LOGIN = "login:"
_RESERVED = (_LOCK, _LOGIN)


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

    `url_or_client` is a redis:// or rediss:// URL or a `redis.Redis` client. The lock
    defaults come from the refresh deadline (`_limits`): `lock_ttl` (150 s) outlasts a whole
    refresh (at most 120 s) plus its save, and stays under the default refresh margin
    (300 s), so if a holder crashes the fleet's access tokens are still valid when its lock
    expires. `lock_timeout` (180 s) waits past a dead holder's TTL before StoreError.
    """

    def __init__(
        self,
        url_or_client: str | redis.Redis,
        *,
        prefix: str = "amazon-ads-auth:",
        lock_timeout: float = DEFAULT_LOCK_WAIT,
        lock_ttl: float = DEFAULT_LOCK_TTL,
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
        self.prefix = prefix
        self.lock_timeout = lock_timeout
        self.lock_ttl = lock_ttl

    def __repr__(self) -> str:
        return f"RedisTokenStore({self._where()!r}, prefix={self.prefix!r})"

    @property
    def where(self) -> str:
        """redis://host:port/db (prefix ...), as messages show the store: no password."""
        return f"redis://{self._where()} (prefix {self.prefix!r})"

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
            raw = self._client.get(self._grant_name(key))
        except self._errors as exc:
            raise self._fail("loading a token", exc) from None
        return None if raw is None else self._decode(key, raw)

    def save(self, key: str, token: Token) -> None:
        require_token(token)
        try:
            self._client.set(self._grant_name(key), json.dumps(token.to_dict()))
        except self._errors as exc:
            raise self._fail("saving a token", exc) from None

    def delete(self, key: str) -> None:
        try:
            self._client.delete(self._grant_name(key), self._record_name(key))
        except self._errors as exc:
            raise self._fail("deleting a token", exc) from None

    def load_login(self, key: str) -> dict[str, Any] | None:
        """What `login` recorded with this grant, under `prefix + "login:" + key`."""
        try:
            raw = self._client.get(self._record_name(key))
        except self._errors as exc:
            raise self._fail("loading a login record", exc) from None
        return None if raw is None else decode_record(raw)

    def save_login(self, key: str, record: dict[str, Any]) -> None:
        try:
            self._client.set(self._record_name(key), json.dumps(record))
        except self._errors as exc:
            raise self._fail("saving a login record", exc) from None

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        with self._locked(key, blocking=True) as acquired:
            if not acquired:
                raise StoreError(
                    f"timed out after {self.lock_timeout}s waiting for the Redis lock "
                    f"{self.prefix}lock:{key} at {self._where()}; it expires by itself within "
                    f"{self.lock_ttl}s"
                )
            yield

    def try_lock(self, key: str) -> contextlib.AbstractContextManager[bool]:
        """The key's lock if no one holds it: yields whether it was taken."""
        return self._locked(key, blocking=False)

    @contextlib.contextmanager
    def _locked(self, key: str, *, blocking: bool) -> Iterator[bool]:
        name = f"{self.prefix}{_LOCK}{self._grant_name(key)[len(self.prefix) :]}"
        redis_lock = self._client.lock(
            name,
            timeout=self.lock_ttl,
            blocking_timeout=self.lock_timeout,
            thread_local=False,
        )
        try:
            acquired = redis_lock.acquire(blocking=blocking)
        except self._errors as exc:
            raise self._fail(f"taking the lock {name}", exc) from None
        if not acquired:
            yield False
            return
        try:
            yield True
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
                if not key.startswith(_RESERVED):
                    found.append(key)
        except self._errors as exc:
            raise self._fail("listing keys", exc) from None
        return sorted(found)

    def _grant_name(self, key: str) -> str:
        """Where the grant of `key` lives. Keys that start with a reserved word are refused:
        under this prefix those names hold locks and login records, so no key's grant can
        ever be another key's record or lock."""
        if not isinstance(key, str) or not key:
            raise StoreError("store keys must be non-empty strings")
        if key.startswith(_RESERVED):
            raise StoreError(
                f"store key {key!r} starts with {key.split(':', 1)[0]!r}:, which a "
                "RedisTokenStore reserves for its locks and login records: pick another key"
            )
        return self.prefix + key

    def _record_name(self, key: str) -> str:
        return f"{self.prefix}{_LOGIN}{self._grant_name(key)[len(self.prefix) :]}"

    def _decode(self, key: str, raw: bytes | str) -> Token:
        return decode_token(raw, f"the Redis value {self.prefix + key} at {self._where()}")
