"""RedisTokenStore: one token per key in Redis, so a fleet of machines refreshes once.

The lock is redis-py's (SET NX PX with an ownership token, compare-and-delete on release)
with a TTL, so a holder that crashed cannot block the fleet for longer than `lock_ttl`.
A fresh lock object per use: redis-py keeps the owner token in the object.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .._errors import ConfigurationError, StoreError
from .._limits import DEFAULT_LOCK_TTL, DEFAULT_LOCK_WAIT
from .._redact import printable
from .base import WholeGrantRecords, decode_record, require_token, stored_grant
from .grant import GrantRecord, grant_to_document

if TYPE_CHECKING:
    import redis

logger = logging.getLogger("amazon_ads_auth")

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


class RedisTokenStore(WholeGrantRecords):
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

    def load_grant(self, key: str) -> GrantRecord | None:
        """The whole grant record of `key` (one round trip), or None.

        Raises: StoreError when Redis fails or the value cannot be read."""
        try:
            raw, legacy_record = self._client.mget(self._grant_name(key), self._record_name(key))
        except self._errors as exc:
            raise self._fail("loading a grant", exc) from None
        return None if raw is None else self._decode(key, raw, legacy_record)

    def save_grant(self, key: str, record: GrantRecord) -> None:
        """Write the whole grant record of `key` in one MULTI/EXEC (and drop the separate
        login record an older version kept), so no reader sees half of it."""
        require_token(record.token)
        value = json.dumps(grant_to_document(record))
        try:
            with self._client.pipeline(transaction=True) as pipe:
                pipe.set(self._grant_name(key), value)
                pipe.delete(self._record_name(key))
                pipe.execute()
        except self._errors as exc:
            raise self._fail("saving a grant", exc) from None

    def delete(self, key: str) -> None:
        try:
            self._client.delete(self._grant_name(key), self._record_name(key))
        except self._errors as exc:
            raise self._fail("deleting a token", exc) from None

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
        """Every key stored under this prefix (for listing grants); a name that is not
        UTF-8 is skipped with a warning."""
        return sorted(self._names())

    def grant_records(self) -> dict[str, GrantRecord | StoreError]:
        """Every key with its record, or why it cannot be read (two round trips a batch)."""
        keys = sorted(self._names())
        found: dict[str, GrantRecord | StoreError] = {}
        for start in range(0, len(keys), 500):
            batch = keys[start : start + 500]
            names = [n for k in batch for n in (self.prefix + k, self._record_name(k))]
            try:
                values = self._client.mget(names) if names else []
            except self._errors as exc:
                raise self._fail("listing grants", exc) from None
            for n, key in enumerate(batch):
                raw, legacy_record = values[2 * n], values[2 * n + 1]
                if raw is None:
                    continue
                try:
                    found[key] = self._decode(key, raw, legacy_record)
                except StoreError as exc:
                    found[key] = exc
        return found

    def problems(self) -> list[str]:
        """Names under the prefix that are not UTF-8 (no key can be read back from them)."""
        return [
            f"a name under the prefix {self.prefix!r} at {self._where()} is not UTF-8 text "
            f"({printable(repr(raw))[:80]}): it was left untouched; remove it with redis-cli"
            for raw in self._undecodable()
        ]

    def _names(self) -> list[str]:
        found = []
        for raw_name in self._scan():
            if isinstance(raw_name, bytes):
                try:
                    name = raw_name.decode()
                except UnicodeDecodeError:
                    logger.warning(
                        "skipped a name under the Redis prefix %r that is not UTF-8: %s",
                        self.prefix,
                        printable(repr(raw_name))[:80],
                    )
                    continue
            else:
                name = str(raw_name)
            key = name[len(self.prefix) :]
            if key and not key.startswith(_RESERVED):
                found.append(key)
        return found

    def _undecodable(self) -> list[bytes]:
        bad = []
        for raw_name in self._scan():
            if isinstance(raw_name, bytes):
                try:
                    raw_name.decode()
                except UnicodeDecodeError:
                    bad.append(raw_name)
        return bad

    def _scan(self) -> list[bytes | str]:
        try:
            return list(self._client.scan_iter(match=self.prefix.encode() + b"*"))
        except self._errors as exc:
            raise self._fail("listing keys", exc) from None

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

    def _decode(self, key: str, raw: bytes | str, legacy_record: bytes | str | None) -> GrantRecord:
        where = f"the Redis value {printable(self.prefix + key)} at {self._where()}"
        return stored_grant(
            raw, where, lambda: None if legacy_record is None else decode_record(legacy_record)
        )
