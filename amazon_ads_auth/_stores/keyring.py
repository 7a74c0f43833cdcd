"""KeyringTokenStore: tokens in the OS keychain (macOS Keychain, Windows Credential Locker,
Secret Service), for a desktop. Keyrings have no locks, so the lock is a file lock."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .._errors import ConfigurationError, StoreError
from .._limits import DEFAULT_LOCK_WAIT
from .._redact import printable
from .base import WholeGrantRecords, decode_record, require_token, stored_grant
from .file import FileTokenStore, default_data_dir
from .grant import GrantRecord, grant_to_document

_INDEX = "__index__"
# Login records are entries "#login:<key>". Grant keys may not start with "#" (nor be the
# index), so no key's grant can be another key's record. Records of older versions were
# "<key>#login", which the grant of a key ending in "#login" could collide with: they are
# read only when no grant has that name, and moved on the next save.
_RECORD_PREFIX = "#login:"
_LEGACY_RECORD_SUFFIX = "#login"


def _keyring_module() -> Any:
    try:
        import keyring
        import keyring.backends.fail
        import keyring.errors
    except ImportError:
        raise ConfigurationError(
            "KeyringTokenStore needs keyring: pip install 'amazon-ads-auth[keyring]'"
        ) from None
    return keyring


class KeyringTokenStore(WholeGrantRecords):
    """Tokens as JSON secrets of `service` in the OS keyring, one entry per key.

    Raises StoreError at construction when no keyring backend is usable. `lock_folder`
    (default: "locks" under the user data folder) holds the per-key lock files.
    """

    def __init__(
        self,
        service: str = "amazon-ads-auth",
        *,
        lock_folder: str | Path | None = None,
        lock_timeout: float = DEFAULT_LOCK_WAIT,
    ) -> None:
        self._keyring = _keyring_module()
        backend = self._keyring.get_keyring()
        if isinstance(backend, self._keyring.backends.fail.Keyring):
            raise StoreError(
                "no OS keyring backend is available: on Linux install and unlock a Secret "
                "Service (gnome-keyring, KWallet) or `pip install keyrings.alt`; or use "
                "FileTokenStore / RedisTokenStore instead"
            )
        self.service = service
        # The file store's locking (per-key lock files, 0700 folder) serves as our lock.
        self._locks = FileTokenStore(
            lock_folder if lock_folder is not None else default_data_dir() / "locks",
            lock_timeout=lock_timeout,
        )

    def __repr__(self) -> str:
        return f"KeyringTokenStore(service={self.service!r})"

    @property
    def where(self) -> str:
        """keyring:SERVICE, as messages show the store."""
        return f"keyring:{self.service}"

    def _call(self, doing: str, function: Any, *args: str) -> Any:
        try:
            return function(self.service, *args)
        except self._keyring.errors.KeyringError as exc:
            raise StoreError(
                f"the OS keyring failed while {doing} ({type(exc).__name__}): is it unlocked?"
            ) from None

    @staticmethod
    def _check_key(key: str) -> None:
        if not isinstance(key, str) or not key:
            raise StoreError("store keys must be non-empty strings")
        if key.startswith("#") or key == _INDEX:
            raise StoreError(
                f"store key {key!r} is reserved in a KeyringTokenStore (keys may not start "
                f"with '#' or be {_INDEX!r}): pick another key"
            )

    def load_grant(self, key: str) -> GrantRecord | None:
        """The whole grant record of `key` (one keychain entry), or None.

        Raises: StoreError when the keyring fails or the entry cannot be read."""
        self._check_key(key)
        raw = self._call("loading a token", self._keyring.get_password, key)
        if raw is None:
            return None
        where = f"the keyring entry {printable(key)!r} of service {self.service!r}"
        return stored_grant(raw, where, lambda: self._legacy_login(key))

    def save_grant(self, key: str, record: GrantRecord) -> None:
        """Write the whole grant record of `key` as one keychain entry (and drop the
        separate login record an older version kept)."""
        require_token(record.token)
        self._check_key(key)
        existed = self._call("reading a token", self._keyring.get_password, key) is not None
        value = json.dumps(grant_to_document(record))
        self._call("saving a grant", self._keyring.set_password, key, value)
        if not existed:
            self._update_index(add=key)
        with contextlib.suppress(StoreError):
            for name in self._record_names(key):
                if self._call("reading a login record", self._keyring.get_password, name):
                    self._call("deleting a login record", self._keyring.delete_password, name)

    def delete(self, key: str) -> None:
        self._check_key(key)
        if self._call("reading a token", self._keyring.get_password, key) is not None:
            try:
                self._call("deleting a token", self._keyring.delete_password, key)
            except StoreError:
                if self._call("reading a token", self._keyring.get_password, key) is not None:
                    raise
        self._update_index(remove=key)
        with contextlib.suppress(StoreError):
            for name in self._record_names(key):
                if self._call("reading a login record", self._keyring.get_password, name):
                    self._call("deleting a login record", self._keyring.delete_password, name)

    def grant_records(self) -> dict[str, GrantRecord | StoreError]:
        """Every indexed key with its record, or why it cannot be read."""
        found: dict[str, GrantRecord | StoreError] = {}
        for key in self.keys():
            try:
                record = self.load_grant(key)
            except StoreError as exc:
                found[key] = exc
                continue
            if record is not None:
                found[key] = record
        return found

    def _legacy_login(self, key: str) -> dict[str, Any] | None:
        for name in self._record_names(key):
            raw = self._call("loading a login record", self._keyring.get_password, name)
            if raw is not None:
                return decode_record(raw)
        return None

    def _record_names(self, key: str) -> list[str]:
        """The record entry of `key`, then an older version's, when no grant has its name."""
        self._check_key(key)
        names = [_RECORD_PREFIX + key]
        legacy = key + _LEGACY_RECORD_SUFFIX
        if legacy not in self.keys():
            names.append(legacy)
        return names

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        with self._locks.lock(f"{self.service}/{key}"):
            yield

    def try_lock(self, key: str) -> contextlib.AbstractContextManager[bool]:
        return self._locks.try_lock(f"{self.service}/{key}")

    def keys(self) -> list[str]:
        """Keys saved through this store (keyrings cannot list entries, so we keep an index)."""
        raw = self._call("reading the index", self._keyring.get_password, _INDEX)
        try:
            keys = json.loads(raw) if raw else []
        except ValueError:
            keys = []
        return sorted(k for k in keys if isinstance(k, str))

    def _update_index(self, *, add: str | None = None, remove: str | None = None) -> None:
        with self._locks.lock(f"{self.service}/{_INDEX}"):
            keys = set(self.keys())
            if add:
                keys.add(add)
            if remove:
                keys.discard(remove)
            self._call(
                "writing the index", self._keyring.set_password, _INDEX, json.dumps(sorted(keys))
            )
