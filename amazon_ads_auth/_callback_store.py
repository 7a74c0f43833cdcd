"""CallbackTokenStore: your own database as a token store, through two functions.

Agencies keep one row per advertiser, often in Postgres. Instead of writing a TokenStore
class, give `load(key) -> dict | None` and `save(key, dict)` (JSON-ready dicts), and, to
share single flight across processes, `lock(key)`: a context manager that excludes other
processes for that key (a Postgres advisory lock, `SELECT ... FOR UPDATE`, SQLite's
`BEGIN IMMEDIATE`). msal-extensions' token-cache serialization hooks are the model.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any

from ._errors import StoreError, TokenFormatError
from ._store import KeyLocks, require_token
from ._token import Token


class CallbackTokenStore:
    """A TokenStore over your functions.

    `load(key)` returns the dict `save` was given (or None); `save(key, data)` keeps it;
    `delete(key)` (optional) removes it. `lock(key)` (optional) returns a context manager
    held while a refresh runs: with one that is real across processes, they share one
    refresh per expiry. Without it the lock is in-process only: threads of one process
    share a refresh, processes do not. A stored refresh token is never replaced by none,
    whatever the functions do.
    """

    def __init__(
        self,
        load: Callable[[str], Mapping[str, Any] | None],
        save: Callable[[str, dict[str, Any]], None],
        delete: Callable[[str], None] | None = None,
        lock: Callable[[str], AbstractContextManager[Any]] | None = None,
    ) -> None:
        if not callable(load) or not callable(save):
            raise StoreError("CallbackTokenStore needs load= and save= functions")
        self._load = load
        self._save = save
        self._delete = delete
        self._lock = lock
        self._key_locks = KeyLocks()

    def __repr__(self) -> str:
        name = getattr(self._load, "__qualname__", type(self._load).__name__)
        return f"CallbackTokenStore(load={name})"

    def load(self, key: str) -> Token | None:
        data = self._call("load", self._load, key)
        if data is None:
            return None
        try:
            return Token.from_oauth2_dict(data)
        except TokenFormatError as exc:
            raise StoreError(
                f"load({key!r}) returned something that is not a token: {exc}"
            ) from None

    def save(self, key: str, token: Token) -> None:
        require_token(token)
        previous = self.load(key)
        if previous is not None:
            token = token.with_refresh_token(previous.refresh_token)
        self._call("save", self._save, key, token.to_dict())

    def delete(self, key: str) -> None:
        if self._delete is None:
            raise StoreError("this CallbackTokenStore has no delete= function")
        self._call("delete", self._delete, key)

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        if self._lock is None:
            with self._key_locks.get(key):
                yield
            return
        try:
            manager = self._lock(key)
            manager.__enter__()
        except Exception as exc:
            raise StoreError(f"lock({key!r}) failed: {type(exc).__name__}: {exc}") from None
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                manager.__exit__(None, None, None)

    def _call(self, name: str, function: Callable[..., Any], *args: Any) -> Any:
        try:
            return function(*args)
        except Exception as exc:
            raise StoreError(
                f"{name}({args[0]!r}) of the CallbackTokenStore failed: {type(exc).__name__}"
            ) from None
