"""CallbackTokenStore: your own database as a token store, through two functions.

Agencies keep one row per advertiser, often in Postgres. Instead of writing a TokenStore
class, give `load(key) -> dict | None` and `save(key, dict)` (JSON-ready dicts), and, to
share single flight across processes, `lock(key)`: a context manager that excludes other
processes for that key (a Postgres advisory lock, `SELECT ... FOR UPDATE`, SQLite's
`BEGIN IMMEDIATE`). msal-extensions' token-cache serialization hooks are the model.

Your functions are called in a worker thread and waited for at most until the deadline of
the refresh in progress (`refresh_deadline`), else `timeout`: a database that hangs gives a
`StoreError` naming the function, never a caller stuck for as long as it hangs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any

from .._errors import StoreError, TokenFormatError
from .._limits import seconds_left
from .._redact import printable
from .._token import Token
from .base import KeyLocks, require_token
from .grant import GrantRecord, grant_from_document, grant_to_document, is_grant_document


class CallbackTokenStore:
    """A TokenStore over your functions.

    `load(key)` returns the dict `save` was given (or None); `save(key, data)` keeps it;
    `delete(key)` (optional) removes it. `lock(key)` (optional) returns a context manager
    held while a refresh runs, entered and exited in one thread of its own: with one that is
    real across processes, they share one refresh per expiry. Without it the lock is
    in-process only: threads of one process share a refresh, processes do not.

    Each call may take at most what is left of the refresh deadline, or `timeout` seconds
    outside a refresh; any exception from a function, or from the mapping it returns,
    becomes a StoreError naming that function.
    """

    def __init__(
        self,
        load: Callable[[str], Mapping[str, Any] | None],
        save: Callable[[str, dict[str, Any]], None],
        delete: Callable[[str], None] | None = None,
        lock: Callable[[str], AbstractContextManager[Any]] | None = None,
        *,
        timeout: float = 30.0,
    ) -> None:
        if not callable(load) or not callable(save):
            raise StoreError("CallbackTokenStore needs load= and save= functions")
        self._load = load
        self._save = save
        self._delete = delete
        self._lock = lock
        self.timeout = timeout
        self._key_locks = KeyLocks()

    def __repr__(self) -> str:
        return f"CallbackTokenStore(load={_name(self._load)})"

    def load(self, key: str) -> Token | None:
        """Raises: StoreError if `load` fails, hangs, or returns something not a token."""
        record = self.load_grant(key)
        return None if record is None else record.token

    def save(self, key: str, token: Token) -> None:
        """Replace the grant's token, keeping the rest of its record.

        Raises: StoreError if `load` or `save` fails or hangs."""
        require_token(token)
        previous = self.load_grant(key)
        self.save_grant(key, GrantRecord(token) if previous is None else previous.with_token(token))

    def load_grant(self, key: str) -> GrantRecord | None:
        """The whole grant record `load(key)` returns (a grant document, or a bare token
        dict as the release before grant records saved).

        Raises: StoreError if `load` fails, hangs, or returns something not a grant."""

        def read() -> dict[str, Any] | None:
            data = self._load(key)
            return None if data is None else dict(data)  # a hostile mapping fails in here

        data = self._call("load", read, key)
        if data is None:
            return None
        where = f"load({printable(key)!r}) of the CallbackTokenStore"
        if is_grant_document(data):
            return grant_from_document(data, where)
        try:
            return GrantRecord(Token.from_oauth2_dict(data))
        except TokenFormatError as exc:
            raise StoreError(f"{where} returned something that is not a token: {exc}") from None

    def save_grant(self, key: str, record: GrantRecord) -> None:
        """The whole grant record as one JSON-ready dict, in one call of `save`.

        Raises: StoreError if `save` fails or hangs."""
        require_token(record.token)
        data = grant_to_document(record)
        self._call("save", lambda: self._save(key, data), key)

    def load_login(self, key: str) -> dict[str, Any] | None:
        """What `login` recorded with this grant (kept in the same dict).

        Raises: StoreError as `load`."""
        record = self.load_grant(key)
        return None if record is None or record.login is None else dict(record.login)

    def save_login(self, key: str, record: dict[str, Any]) -> None:
        """Raises: StoreError when no grant is stored under `key`, or as `save`."""
        previous = self.load_grant(key)
        if previous is None:
            raise StoreError(f"no grant is stored under {printable(key)!r}")
        self.save_grant(key, dataclasses.replace(previous, login=dict(record)))

    def delete(self, key: str) -> None:
        """Raises: StoreError without a delete= function, or if it fails or hangs."""
        delete = self._delete
        if delete is None:
            raise StoreError("this CallbackTokenStore has no delete= function")
        self._call("delete", lambda: delete(key), key)

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Raises: StoreError if `lock` fails, or is not taken before the deadline."""
        if self._lock is None:
            with self._key_locks.get(key):
                yield
            return
        holder = _LockHolder(self._lock, key)
        holder.acquire(seconds_left(self.timeout))
        try:
            yield
        finally:
            holder.release(seconds_left(self.timeout))

    def _call(self, name: str, function: Callable[[], Any], key: str) -> Any:
        """`function()` in a worker thread, waited for until the deadline."""
        outcome: list[Any] = []
        done = threading.Event()

        def run() -> None:
            try:
                outcome.append((True, function()))
            except Exception as exc:
                outcome.append((False, exc))
            finally:
                done.set()

        threading.Thread(target=run, name=f"amazon-ads-auth-{name}", daemon=True).start()
        wait = seconds_left(self.timeout)
        if not done.wait(wait):
            raise StoreError(
                f"{name}({key!r}) of the CallbackTokenStore did not answer within "
                f"{wait:.3g}s: check the database behind it"
            )
        ok, value = outcome[0]
        if not ok:
            raise StoreError(
                f"{name}({key!r}) of the CallbackTokenStore failed: {type(value).__name__}"
            ) from None
        return value


class _LockHolder:
    """Holds the user's lock context manager in a thread of its own, so that entering can
    be waited for with a bound and it is exited in the thread that entered it (database
    connections are often bound to one thread). A lock taken after its caller gave up is
    released at once."""

    def __init__(self, lock: Callable[[str], AbstractContextManager[Any]], key: str) -> None:
        self._lock = lock
        self._key = key
        self._entered = threading.Event()
        self._leave = threading.Event()
        self._left = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._hold, name="amazon-ads-auth-lock", daemon=True)

    def acquire(self, wait: float) -> None:
        self._thread.start()
        if not self._entered.wait(wait):
            self._leave.set()  # if it is taken later, it is given back at once
            raise StoreError(
                f"lock({self._key!r}) of the CallbackTokenStore was not taken within "
                f"{wait:.3g}s: another holder, or the database behind it, is stuck"
            )
        if self._error is not None:
            raise StoreError(
                f"lock({self._key!r}) of the CallbackTokenStore failed: "
                f"{type(self._error).__name__}"
            ) from None

    def release(self, wait: float) -> None:
        self._leave.set()
        self._left.wait(wait)

    def _hold(self) -> None:
        try:
            manager = self._lock(self._key)
            manager.__enter__()
        except Exception as exc:
            self._error = exc
            self._entered.set()
            self._left.set()
            return
        self._entered.set()
        self._leave.wait()
        with contextlib.suppress(Exception):
            manager.__exit__(None, None, None)
        self._left.set()


def _name(function: object) -> str:
    return str(getattr(function, "__qualname__", type(function).__name__))
