"""The TokenStore protocol and the in-memory store."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol, runtime_checkable

from .._errors import StoreError, TokenFormatError
from .._locks import forget_locks_at_fork
from .._redact import printable
from .._token import Token
from .grant import GrantRecord, grant_from_document, is_grant_document


@runtime_checkable
class TokenStore(Protocol):
    """Where tokens live between refreshes, keyed by a string the caller chooses.

    The whole contract is these four methods:
    - `load(key)`: the token saved under `key`, or None.
    - `save(key, token)`: keep exactly `token` under `key` (the token manager has already
      merged in the stored refresh token, under the key's lock: a store need not).
    - `delete(key)`: remove the grant and anything kept with it (its login record).
    - `lock(key)`: a context manager that excludes every other user of the same store and
      key (threads, and for shared stores processes and machines) while held; the token
      manager re-reads, refreshes and saves under it, which makes a refresh happen once.

    Optional abilities are protocols of their own: `TryLockStore`, `ListableStore`,
    `LoginRecordStore`, and `GrantRecordStore` (`_stores.grant`: the whole grant record
    saved and loaded in one operation; every store of this package has it, and `save`
    then replaces the token and keeps the rest of the record).
    `amazon_ads_auth.testing.check_token_store` runs the contract against a store of yours.
    """

    def load(self, key: str) -> Token | None: ...

    def save(self, key: str, token: Token) -> None: ...

    def delete(self, key: str) -> None: ...

    def lock(self, key: str) -> AbstractContextManager[None]: ...


@runtime_checkable
class TryLockStore(Protocol):
    """A store whose lock can be tried without waiting: `try_lock(key)` yields True when it
    was taken, False when another holder has it. Background refreshes use it, so a process
    that finds another one refreshing goes on with its valid token."""

    def try_lock(self, key: str) -> AbstractContextManager[bool]: ...


@runtime_checkable
class ListableStore(Protocol):
    """A store that can list its keys (for `status`, `LoginDirectory`, `from_login`)."""

    def keys(self) -> list[str]: ...


@runtime_checkable
class LoginRecordStore(Protocol):
    """A store that keeps what `login` learned about a grant beside it: a JSON-ready dict
    that may hold the client secret, so it is kept with the token and protected alike. The
    record's storage must never collide with another key's grant, and `delete(key)` removes
    it with the grant. Callers save records under `lock(key)`."""

    def load_login(self, key: str) -> dict[str, Any] | None: ...

    def save_login(self, key: str, record: dict[str, Any]) -> None: ...


@runtime_checkable
class RecordListingStore(Protocol):
    """A store that lists every key with its login record (or None) in one pass, so a
    directory of a thousand logins is one scan, not a thousand and one reads."""

    def records(self) -> dict[str, dict[str, Any] | None]: ...


@runtime_checkable
class GrantListingStore(Protocol):
    """A store that lists every grant with its whole record in one pass, or the StoreError
    that says why a grant cannot be read (`status`, `LoginDirectory`, `from_login`)."""

    def grant_records(self) -> dict[str, GrantRecord | StoreError]: ...


def try_lock(store: TokenStore, key: str) -> AbstractContextManager[bool]:
    """The store's lock without waiting (`TryLockStore`); for a store without that ability
    this waits for `lock(key)` (only background refreshes use it, so no caller waits)."""
    if isinstance(store, TryLockStore):
        return store.try_lock(key)
    return _waiting(store, key)


@contextmanager
def _waiting(store: TokenStore, key: str) -> Iterator[bool]:
    with store.lock(key):
        yield True


def decode_token(raw: str | bytes, where: str) -> Token:
    """A Token from the JSON a store kept; StoreError naming `where` if it is not one."""
    try:
        return Token.from_dict(json.loads(raw))
    except (ValueError, TokenFormatError, RecursionError):
        raise StoreError(
            f"{where} is not a token; it was left untouched: delete it and log in again"
        ) from None


def require_token(token: object) -> None:
    """Stores keep Token objects only: refuse anything else at once, with what to do."""
    if not isinstance(token, Token):
        raise StoreError(
            f"a store saves Token objects, got {type(token).__name__}: build one with "
            "Token.from_dict(...) first"
        )


def decode_record(raw: str | bytes) -> dict[str, Any] | None:
    """A login record from stored JSON; None (an unrecorded grant) if it is not one."""
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return record if isinstance(record, dict) else None


class KeyLocks:
    """One threading.Lock per key, made on first use, for stores whose lock is in-process.
    A forked child gets fresh ones: a lock another thread held at fork time would never be
    released there."""

    def __init__(self) -> None:
        self._after_fork()
        forget_locks_at_fork(self)

    def get(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _after_fork(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}


class MemoryTokenStore:
    """Tokens in this process's memory: the default, and the right store for one process."""

    def __init__(self) -> None:
        self._grants: dict[str, GrantRecord] = {}
        self._key_locks = KeyLocks()
        self._guard = threading.Lock()
        forget_locks_at_fork(self)

    def __repr__(self) -> str:
        return f"MemoryTokenStore(keys={len(self._grants)})"

    where = "memory: (this process only)"

    def load(self, key: str) -> Token | None:
        record = self._grants.get(key)
        return None if record is None else record.token

    def save(self, key: str, token: Token) -> None:
        require_token(token)
        with self._guard:
            previous = self._grants.get(key)
            self._grants[key] = (
                GrantRecord(token) if previous is None else previous.with_token(token)
            )

    def load_grant(self, key: str) -> GrantRecord | None:
        return self._grants.get(key)

    def save_grant(self, key: str, record: GrantRecord) -> None:
        require_token(record.token)
        login = None if record.login is None else dict(record.login)  # no aliasing
        with self._guard:
            self._grants[key] = dataclasses.replace(record, login=login)

    def delete(self, key: str) -> None:
        with self._guard:
            self._grants.pop(key, None)

    def keys(self) -> list[str]:
        return sorted(self._grants)

    def grant_records(self) -> dict[str, GrantRecord | StoreError]:
        return dict(sorted(self._grants.items()))

    def load_login(self, key: str) -> dict[str, Any] | None:
        record = self._grants.get(key)
        return None if record is None or record.login is None else dict(record.login)

    def save_login(self, key: str, record: dict[str, Any]) -> None:
        with self._guard:
            previous = self._grants.get(key)
            if previous is None:
                raise StoreError(f"no grant is stored under {key!r} in memory")
            self._grants[key] = dataclasses.replace(previous, login=dict(record))

    @contextmanager
    def lock(self, key: str) -> Iterator[None]:
        with self._key_locks.get(key):
            yield

    @contextmanager
    def try_lock(self, key: str) -> Iterator[bool]:
        key_lock = self._key_locks.get(key)
        if not key_lock.acquire(blocking=False):
            yield False
            return
        try:
            yield True
        finally:
            key_lock.release()

    def _after_fork(self) -> None:
        # The guard, like the key locks, may have been held by another thread at fork time.
        self._guard = threading.Lock()


def stored_grant(
    raw: str | bytes, where: str, legacy_login: Callable[[], Mapping[str, Any] | None]
) -> GrantRecord:
    """A stored value as a grant record: a grant document, or a bare token as the release
    before grant records wrote it (its login record, kept apart then, from `legacy_login`).

    Raises: StoreError when the value is neither."""
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        value = None
    if is_grant_document(value):
        return grant_from_document(value, where)
    return GrantRecord(decode_token(raw, where), legacy_login())


class WholeGrantRecords:
    """The token and the login record as halves of one grant record, for a store with
    `load_grant`/`save_grant` (the file, keyring and Redis stores): each half is read with
    one read and written with one write of the whole record."""

    where: Any  # the store's description, for the error

    def load_grant(self, key: str) -> GrantRecord | None:
        raise NotImplementedError

    def save_grant(self, key: str, record: GrantRecord) -> None:
        raise NotImplementedError

    def load(self, key: str) -> Token | None:
        record = self.load_grant(key)
        return None if record is None else record.token

    def save(self, key: str, token: Token) -> None:
        """Replace the grant's token, keeping the rest of its record (callers hold the
        key's lock)."""
        require_token(token)
        previous = self.load_grant(key)
        self.save_grant(key, GrantRecord(token) if previous is None else previous.with_token(token))

    def load_login(self, key: str) -> dict[str, Any] | None:
        """What `login` recorded with this grant (kept in the grant's own record)."""
        record = self.load_grant(key)
        return None if record is None or record.login is None else dict(record.login)

    def save_login(self, key: str, record: dict[str, Any]) -> None:
        """Keep `record` in the grant's record (the grant must be saved first)."""
        previous = self.load_grant(key)
        if previous is None:
            raise StoreError(f"no grant is stored under {printable(key)!r} in {self.where}")
        self.save_grant(key, dataclasses.replace(previous, login=dict(record)))
