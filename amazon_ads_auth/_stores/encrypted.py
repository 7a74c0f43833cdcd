"""EncryptedTokenStore: any store, with the secrets in it encrypted at rest (Fernet).

The refresh token, the access token and a saved client secret are encrypted before they
reach the wrapped store, so its files, rows or Redis values hold no credential. Keys are
`cryptography`'s Fernet keys (AES-128-CBC + HMAC-SHA256): the first encrypts, every one
decrypts (MultiFernet), so keys rotate online:

1. give every worker the new key after the old one (it can now read both);
2. put the new key first (new writes use it);
3. `rekey()` (or `amazon-ads-auth store rekey`) re-encrypts every grant under its lock;
4. drop the old key.

Each encrypted value is `enc:v1:<key id>:<Fernet token>`, where the key id is a short
fingerprint of the key (8 hex digits of its SHA-256, never the key), and the plaintext
binds the value to its store key, so a value copied into another grant's row is refused
instead of used. A grant that no given key decrypts is a `StoreError` naming the key id,
and is left untouched.

Keys come from `keys=`, or `AMAZON_ADS_STORE_KEYS` (comma-separated), so they never sit
beside the data. `keys=` may also be a function returning them (the KMS/Vault extension
point): it is called on first use and again by `reload_keys()`, e.g. to unwrap a data key
with your KMS.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from typing import Any

from .._errors import ConfigurationError, StoreError
from .._redact import describe_store
from .._token import Token
from .base import (
    GrantListingStore,
    ListableStore,
    LoginRecordStore,
    RecordListingStore,
    TokenStore,
    require_token,
    try_lock,
)
from .grant import GrantRecord, GrantRecordStore

KEYS_VARIABLE = "AMAZON_ADS_STORE_KEYS"
PREFIX = "enc:v1:"
# Fields of a login record that are secrets (encrypted like the tokens).
SECRET_FIELDS = ("client_secret",)

KeySource = Sequence[str | bytes] | Callable[[], Sequence[str | bytes]]


def _fernet() -> Any:
    try:
        from cryptography import fernet
    except ImportError:
        raise ConfigurationError(
            "EncryptedTokenStore needs cryptography: pip install 'amazon-ads-auth[encryption]'"
        ) from None
    return fernet


def new_key() -> str:
    """A new random Fernet key (urlsafe base64 of 32 bytes), for AMAZON_ADS_STORE_KEYS."""
    return str(_fernet().Fernet.generate_key().decode())


def key_id(key: str | bytes) -> str:
    """A key's short fingerprint: 8 hex digits of its SHA-256. Safe to print and log."""
    raw = key.encode() if isinstance(key, str) else key
    return hashlib.sha256(raw.strip()).hexdigest()[:8]


def keys_from_env() -> list[str]:
    """The keys in AMAZON_ADS_STORE_KEYS (comma-separated, first encrypts); [] when unset."""
    return [k.strip() for k in os.environ.get(KEYS_VARIABLE, "").split(",") if k.strip()]


class _Keys:
    """Loaded Fernet keys: the first encrypts, each decrypts what carries its id."""

    def __init__(self, given: Sequence[str | bytes]) -> None:
        fernet = _fernet()
        if isinstance(given, str):  # "NEW,OLD", as in AMAZON_ADS_STORE_KEYS
            given = [k.strip() for k in given.split(",") if k.strip()]
        elif isinstance(given, bytes):
            given = [given]
        if not given:
            raise ConfigurationError(
                f"EncryptedTokenStore needs a list of Fernet keys (keys=[...] or "
                f"{KEYS_VARIABLE}, comma-separated); make one with `amazon-ads-auth store "
                "new-key`"
            )
        self.by_id: dict[str, Any] = {}
        self.ids: list[str] = []
        for position, key in enumerate(given, start=1):
            raw = key.encode() if isinstance(key, str) else key
            try:
                cipher = fernet.Fernet(raw.strip())
            except (ValueError, TypeError):
                raise ConfigurationError(
                    f"key {position} of the EncryptedTokenStore is not a Fernet key (32 bytes, "
                    "urlsafe base64); make one with `amazon-ads-auth store new-key`"
                ) from None
            kid = key_id(raw)
            if kid not in self.by_id:
                self.by_id[kid] = cipher
                self.ids.append(kid)
        self.primary = self.ids[0]
        self._invalid = fernet.InvalidToken

    def encrypt(self, store_key: str, value: str) -> str:
        payload = json.dumps([store_key, value], separators=(",", ":")).encode()
        token = self.by_id[self.primary].encrypt(payload).decode()
        return f"{PREFIX}{self.primary}:{token}"

    def decrypt(self, store_key: str, value: str, where: str) -> str:
        kid, _, token = value[len(PREFIX) :].partition(":")
        cipher = self.by_id.get(kid)
        if cipher is None:
            raise StoreError(
                f"{where} was encrypted with key {kid}, which none of the given keys "
                f"({', '.join(self.ids)}) is; it was left untouched: add that key to "
                f"{KEYS_VARIABLE} (or keys=)"
            )
        try:
            bound, plain = json.loads(cipher.decrypt(token.encode()))
        except (self._invalid, ValueError, TypeError):
            raise StoreError(
                f"{where} does not decrypt with key {kid} (corrupt or tampered with); it was "
                "left untouched"
            ) from None
        if bound != store_key:
            raise StoreError(
                f"{where} holds a value encrypted for another store key (copied from another "
                "grant?); it was left untouched: delete it and log in again"
            )
        return str(plain)


@dataclasses.dataclass
class RekeyResult:
    """What `rekey` did: grants re-encrypted, grants already under the first key, and the
    grants it could not read (key -> why), which it left untouched."""

    rekeyed: list[str] = dataclasses.field(default_factory=list)
    unchanged: list[str] = dataclasses.field(default_factory=list)
    failed: dict[str, str] = dataclasses.field(default_factory=dict)


class EncryptedTokenStore:
    """A TokenStore that encrypts the secrets of every grant before `store` sees them.

    `keys`: Fernet keys, first encrypts, all decrypt (default: AMAZON_ADS_STORE_KEYS), or a
    function returning them (called on first use and by `reload_keys()`).
    `allow_plaintext=True` reads grants stored unencrypted (while moving a store to
    encryption; `rekey()` encrypts them); by default they are a StoreError.

    It has the optional abilities of the store it wraps (listing, login records, grant
    records in one operation, try-lock) and locks with that store's lock. In a grant record
    the tokens and a saved client secret are sealed; the rest (client id, region, profiles,
    consent time, refresh-token expiry, last refresh) is kept as it is, so listing works
    without the keys.
    """

    # Present on an instance only when the wrapped store has the ability, so `isinstance`
    # with ListableStore, RecordListingStore, LoginRecordStore, GrantRecordStore and
    # GrantListingStore tells the truth.
    keys: Callable[[], list[str]]
    records: Callable[[], dict[str, dict[str, Any] | None]]
    load_login: Callable[[str], dict[str, Any] | None]
    save_login: Callable[[str, dict[str, Any]], None]
    load_grant: Callable[[str], GrantRecord | None]
    save_grant: Callable[[str, GrantRecord], None]
    grant_records: Callable[[], dict[str, GrantRecord | StoreError]]

    def __init__(
        self,
        store: TokenStore,
        keys: KeySource | None = None,
        *,
        allow_plaintext: bool = False,
    ) -> None:
        if not isinstance(store, TokenStore):
            raise ConfigurationError("EncryptedTokenStore wraps a TokenStore")
        self.store = store
        self.allow_plaintext = allow_plaintext
        self._source: KeySource = keys if keys is not None else keys_from_env()
        self._keys: _Keys | None = None
        if not callable(self._source):
            self._keys = _Keys(self._source)
        if isinstance(store, ListableStore):
            self.keys = store.keys
        if isinstance(store, RecordListingStore):
            self.records = self._records
        if isinstance(store, LoginRecordStore):
            self.load_login = self._load_login
            self.save_login = self._save_login
        if isinstance(store, GrantRecordStore):
            self.load_grant = self._load_grant
            self.save_grant = self._save_grant
        if isinstance(store, GrantListingStore):
            self.grant_records = self._grant_records

    def __repr__(self) -> str:
        return f"EncryptedTokenStore({self.store!r})"

    @property
    def where(self) -> str:
        return f"{describe_store(self.store)} (encrypted)"

    @property
    def lock_ttl(self) -> float | None:
        """The wrapped store's lock TTL, so the refresh deadline fits inside it."""
        ttl = getattr(self.store, "lock_ttl", None)
        return ttl if isinstance(ttl, (int, float)) else None

    @property
    def key_ids(self) -> list[str]:
        """The fingerprints of the keys, the encrypting one first."""
        return list(self._cipher().ids)

    def reload_keys(self) -> None:
        """Call the key function again (after a rotation in your KMS or Vault)."""
        if callable(self._source):
            self._keys = _Keys(self._source())

    def _cipher(self) -> _Keys:
        if self._keys is None:
            source = self._source
            self._keys = _Keys(source() if callable(source) else source)
        return self._keys

    # ----- TokenStore ---------------------------------------------------------------------

    def load(self, key: str) -> Token | None:
        stored = self.store.load(key)
        return None if stored is None else self._open_token(key, stored)

    def save(self, key: str, token: Token) -> None:
        """Raises: StoreError when the stored grant is encrypted with a key not given here
        (it is never overwritten by a process that could not read it)."""
        require_token(token)
        stored = self.store.load(key)
        if stored is not None:
            self._refuse_foreign(key, [stored.access_token, stored.refresh_token], "grant")
        self.store.save(key, self._seal_token(key, token))

    def delete(self, key: str) -> None:
        self.store.delete(key)

    def lock(self, key: str) -> contextlib.AbstractContextManager[None]:
        return self.store.lock(key)

    def try_lock(self, key: str) -> contextlib.AbstractContextManager[bool]:
        return try_lock(self.store, key)

    def _load_login(self, key: str) -> dict[str, Any] | None:
        assert isinstance(self.store, LoginRecordStore)
        record = self.store.load_login(key)
        return None if record is None else self._open_record(key, record)

    def _save_login(self, key: str, record: dict[str, Any]) -> None:
        assert isinstance(self.store, LoginRecordStore)
        stored = self.store.load_login(key)
        if stored is not None:
            secrets = [stored.get(name) for name in SECRET_FIELDS]
            self._refuse_foreign(key, secrets, "login record")
        self.store.save_login(key, self._seal_record(key, record))

    def _load_grant(self, key: str) -> GrantRecord | None:
        """The wrapped store's record of `key` (one read), its secrets opened.

        Raises: StoreError (also when no given key opens it; nothing is changed)."""
        assert isinstance(self.store, GrantRecordStore)
        stored = self.store.load_grant(key)
        return None if stored is None else self._open_grant(key, stored)

    def _save_grant(self, key: str, record: GrantRecord) -> None:
        """The whole record in one write of the wrapped store, its secrets sealed.

        Raises: StoreError when the stored grant is encrypted with a key not given here
        (it is never overwritten by a process that could not read it)."""
        assert isinstance(self.store, GrantRecordStore)
        require_token(record.token)
        stored = self.store.load_grant(key)
        if stored is not None:
            self._refuse_foreign(key, _secrets(stored), "grant")
        self.store.save_grant(key, self._seal_grant(key, record))

    def _grant_records(self) -> dict[str, GrantRecord | StoreError]:
        """Every grant of the wrapped store with its secrets opened, or why it cannot be
        read (a grant no given key opens is a StoreError naming the key id it needs)."""
        assert isinstance(self.store, GrantListingStore)
        found: dict[str, GrantRecord | StoreError] = {}
        for key, stored in self.store.grant_records().items():
            if isinstance(stored, StoreError):
                found[key] = stored
                continue
            try:
                found[key] = self._open_grant(key, stored)
            except StoreError as exc:
                found[key] = exc
        return found

    def _refuse_foreign(self, key: str, values: list[Any], what: str) -> None:
        """A stored value under a key id this store does not have is a StoreError."""
        cipher = self._cipher()
        for value in values:
            if isinstance(value, str) and value.startswith(PREFIX):
                kid = value[len(PREFIX) :].partition(":")[0]
                if kid not in cipher.by_id:
                    raise StoreError(
                        f"the {what} {key!r} in {self.where} was encrypted with key {kid}, "
                        f"which none of the given keys ({', '.join(cipher.ids)}) is; it was "
                        f"left untouched: add that key to {KEYS_VARIABLE} (or keys=)"
                    )

    def _records(self) -> dict[str, dict[str, Any] | None]:
        assert isinstance(self.store, RecordListingStore)
        found: dict[str, dict[str, Any] | None] = {}
        for key, record in self.store.records().items():
            try:
                found[key] = None if record is None else self._open_record(key, record)
            except StoreError:
                # Listed with what is not secret (client id, region, profiles); the secret
                # it cannot open is left out, and loading the grant says which key it needs.
                assert record is not None
                found[key] = {k: v for k, v in record.items() if k not in SECRET_FIELDS}
        return found

    # ----- rotation -----------------------------------------------------------------------

    def rekey(self) -> RekeyResult:
        """Re-encrypt every grant (and its record) with the first key, each under its lock,
        while workers keep running; grants no key decrypts are reported and left alone.

        Raises: ConfigurationError when the wrapped store cannot list its grants."""
        if not isinstance(self.store, ListableStore):
            raise ConfigurationError("rekey needs a store that can list its grants")
        result = RekeyResult()
        for key in self.store.keys():
            try:
                changed = self._rekey_one(key)
            except StoreError as exc:
                result.failed[key] = str(exc)
                continue
            (result.rekeyed if changed else result.unchanged).append(key)
        return result

    def _rekey_one(self, key: str) -> bool:
        cipher = self._cipher()
        with self.store.lock(key):
            if isinstance(self.store, GrantRecordStore):  # the whole record, one write
                grant = self.store.load_grant(key)
                if grant is None:
                    return False
                opened_grant = self._open_grant(key, grant, plaintext_ok=True)  # raises first
                if all(_under(value, cipher.primary) for value in _secrets(grant) if value):
                    return False
                self.store.save_grant(key, self._seal_grant(key, opened_grant))
                return True
            stored = self.store.load(key)
            if stored is None:
                return False
            token = self._open_token(key, stored, plaintext_ok=True)  # raises before a write
            records = self.store if isinstance(self.store, LoginRecordStore) else None
            record = records.load_login(key) if records is not None else None
            opened = None if record is None else self._open_record(key, record, plaintext_ok=True)
            current = [stored.access_token, stored.refresh_token]
            if record is not None:
                current += [record.get(name) for name in SECRET_FIELDS]
            if all(_under(value, cipher.primary) for value in current if value is not None):
                return False
            self.store.save(key, self._seal_token(key, token))
            if records is not None and opened is not None:
                records.save_login(key, self._seal_record(key, opened))
            return True

    # ----- the values: the one place a grant's secrets are sealed and opened --------------

    def _seal_token(self, key: str, token: Token) -> Token:
        cipher = self._cipher()
        return dataclasses.replace(
            token,
            access_token=cipher.encrypt(key, token.access_token),
            refresh_token=(
                None if token.refresh_token is None else cipher.encrypt(key, token.refresh_token)
            ),
        )

    def _open_token(self, key: str, token: Token, *, plaintext_ok: bool = False) -> Token:
        where = f"the grant {key!r} in {self.where}"
        return dataclasses.replace(
            token,
            access_token=self._open(key, token.access_token, where, plaintext_ok),
            refresh_token=(
                None
                if token.refresh_token is None
                else self._open(key, token.refresh_token, where, plaintext_ok)
            ),
        )

    def _seal_record(self, key: str, record: dict[str, Any]) -> dict[str, Any]:
        sealed = dict(record)
        for name in SECRET_FIELDS:
            if isinstance(sealed.get(name), str):
                sealed[name] = self._cipher().encrypt(key, sealed[name])
        return sealed

    def _open_record(
        self, key: str, record: dict[str, Any], *, plaintext_ok: bool = False
    ) -> dict[str, Any]:
        opened = dict(record)
        where = f"the login record of {key!r} in {self.where}"
        for name in SECRET_FIELDS:
            if isinstance(opened.get(name), str):
                opened[name] = self._open(key, opened[name], where, plaintext_ok)
        return opened

    def _seal_grant(self, key: str, record: GrantRecord) -> GrantRecord:
        login = None if record.login is None else self._seal_record(key, dict(record.login))
        return dataclasses.replace(record, token=self._seal_token(key, record.token), login=login)

    def _open_grant(
        self, key: str, record: GrantRecord, *, plaintext_ok: bool = False
    ) -> GrantRecord:
        token = self._open_token(key, record.token, plaintext_ok=plaintext_ok)
        login = record.login
        if login is not None:
            login = self._open_record(key, dict(login), plaintext_ok=plaintext_ok)
        return dataclasses.replace(record, token=token, login=login)

    def _open(self, key: str, value: str, where: str, plaintext_ok: bool) -> str:
        if value.startswith(PREFIX):
            return self._cipher().decrypt(key, value, where)
        if plaintext_ok or self.allow_plaintext:
            return value
        raise StoreError(
            f"{where} is stored unencrypted; it was left untouched: encrypt it with "
            "`amazon-ads-auth store rekey` (or pass allow_plaintext=True while moving to "
            "encryption)"
        )


def _secrets(record: GrantRecord) -> list[Any]:
    """The values of a stored record that are sealed: tokens and a saved client secret."""
    found: list[Any] = [record.token.access_token, record.token.refresh_token]
    if record.login is not None:
        found += [record.login.get(name) for name in SECRET_FIELDS]
    return found


def _under(value: object, kid: str) -> bool:
    return isinstance(value, str) and value.startswith(f"{PREFIX}{kid}:")


def rekey(
    store: TokenStore, keys: KeySource | None = None, *, old_keys: Sequence[str | bytes] = ()
) -> RekeyResult:
    """Re-encrypt every grant of `store` (an unencrypted store, or the store an
    EncryptedTokenStore wraps) with the first of `keys` (default: AMAZON_ADS_STORE_KEYS),
    decrypting with any of `keys` and `old_keys`; grants stored unencrypted are encrypted.
    Online: each grant is rewritten under its lock.

    Raises: ConfigurationError (no keys, a store that cannot list its grants)."""
    if isinstance(store, EncryptedTokenStore):
        store = store.store
    given = list(keys() if callable(keys) else keys if keys is not None else keys_from_env())
    if not given:
        raise ConfigurationError(
            f"rekey needs the new key first: pass it (--key) or set {KEYS_VARIABLE}"
        )
    return EncryptedTokenStore(store, [*given, *old_keys]).rekey()
