"""The grant record: one value per grant, saved and loaded as one unit by every store.

A grant is its token, the login record `login` wrote beside it (client id, region, scope,
URLs, profiles, the secret only when asked), the time of the consent that produced its
refresh token, when that refresh token expires, and how the last refresh went. Stores keep
it as one JSON document (`grant_to_document` / `grant_from_document`: the one serialization,
shared by every store), written in one operation, so no reader ever sees a new token beside
an old record.

Refresh tokens issued on or after a cutoff expire a year after the advertiser's consent;
Amazon does not say when a refresh token was issued, so the consent time written at the code
exchange is the record. `RefreshTokenPolicy` holds the lifetime and the cutoff (the sources
disagree on the date): change the default with `RefreshTokenPolicy.set_default(...)`.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import math
import time
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol, runtime_checkable

from .._errors import StoreError
from .._redact import printable
from .._token import Token

logger = logging.getLogger("amazon_ads_auth")

GRANT_FORMAT = 2  # 1: the token and the login record only (the release before records)
OK, REVOKED, EXPIRED = "ok", "revoked", "expired"
_OUTCOMES = (OK, REVOKED, EXPIRED)
_FUTURE_SLACK = 86400.0  # a consent time further ahead than a day is not trusted
_FIELDS = ("format", "key", "token", "login", "consented_at", "refresh_expires_at")
_FIELDS_2 = ("refresh_expires_from", "last_refresh")


@dataclasses.dataclass(frozen=True)
class RefreshTokenPolicy:
    """How long a refresh token lives: `lifetime` after the consent, for consents on or
    after `cutoff` (UTC); older refresh tokens never expire (Amazon's earlier rule).

    The default (365 days, 2026-06-30) is the earlier of the two reported cutoffs; change it
    for every grant read from now on with `RefreshTokenPolicy.set_default(...)`, or pass a
    policy where one is taken. A lifetime LwA states itself (`refresh_token_expires_in`)
    always wins."""

    lifetime: datetime.timedelta = datetime.timedelta(days=365)
    cutoff: datetime.date = datetime.date(2026, 6, 30)

    _default: ClassVar[RefreshTokenPolicy | None] = None

    def expires_at(self, consented_at: float | None) -> float | None:
        """When a refresh token from a consent at `consented_at` expires; None when unknown
        (no consent time) or never (a consent before the cutoff)."""
        if consented_at is None:
            return None
        day = datetime.datetime.fromtimestamp(consented_at, tz=datetime.timezone.utc).date()
        if day < self.cutoff:
            return None
        return consented_at + self.lifetime.total_seconds()

    @classmethod
    def default(cls) -> RefreshTokenPolicy:
        """The policy in force (the module default unless `set_default` changed it)."""
        return cls._default or cls()

    @classmethod
    def set_default(cls, policy: RefreshTokenPolicy | None) -> None:
        """Use `policy` for every grant read from now on (None: back to the built-in one)."""
        cls._default = policy


@dataclasses.dataclass(frozen=True)
class RefreshOutcome:
    """How the last refresh of a grant went: "ok", "revoked" (invalid_grant before the
    refresh token's expiry) or "expired" (at or after it), at `at`, with LwA's error code."""

    outcome: str
    at: float
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "at": self.at, "error": self.error}


@dataclasses.dataclass(frozen=True)
class GrantRecord:
    """One grant as a store keeps it. `login` is the login record (`Login.to_record()`), or
    None for a grant stored without one. `refresh_expires_at` is LwA's own figure when it
    gave one (`expires_from` "lwa"), else the policy's (recomputed on every read, so a
    changed policy applies to stored grants). `extra` keeps what this version does not
    know (a damaged login record, fields of later minor versions) so a save never drops it.
    """

    token: Token
    login: Mapping[str, Any] | None = None
    consented_at: float | None = None
    refresh_expires_at: float | None = None
    expires_from: str | None = None
    last_refresh: RefreshOutcome | None = None
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict, repr=False)

    def with_token(self, token: Token) -> GrantRecord:
        return dataclasses.replace(self, token=token)

    def with_outcome(self, outcome: RefreshOutcome) -> GrantRecord:
        return dataclasses.replace(self, last_refresh=outcome)


def new_grant(
    token: Token,
    login: Mapping[str, Any] | None,
    *,
    consented_at: float | None,
    expires_in: float | None = None,
    policy: RefreshTokenPolicy | None = None,
) -> GrantRecord:
    """The record a code exchange writes: LwA's `refresh_token_expires_in` if it sent one,
    else the policy's expiry for a consent at `consented_at`."""
    if expires_in is not None and consented_at is not None:
        return GrantRecord(token, login, consented_at, consented_at + expires_in, "lwa")
    expires = (policy or RefreshTokenPolicy.default()).expires_at(consented_at)
    return GrantRecord(token, login, consented_at, expires, "policy" if expires else None)


def grant_to_document(record: GrantRecord) -> dict[str, Any]:
    """The JSON-ready document every store keeps for a grant (format 2)."""
    document: dict[str, Any] = dict(record.extra)
    document.update(
        format=GRANT_FORMAT,
        token=record.token.to_dict(),
        consented_at=record.consented_at,
        refresh_expires_at=record.refresh_expires_at,
        refresh_expires_from=record.expires_from,
        last_refresh=record.last_refresh.to_dict() if record.last_refresh else None,
    )
    if record.login is not None:
        document["login"] = dict(record.login)
    return document


def is_grant_document(value: object) -> bool:
    """Whether a stored JSON value is a grant document (else, in key-value stores, a bare
    token as the release before the grant record saved it)."""
    return isinstance(value, Mapping) and "format" in value and "token" in value


def grant_from_document(
    document: Mapping[str, Any], where: str, *, now: float | None = None
) -> GrantRecord:
    """The record in a stored document (format 1 or 2). A damaged token, or a format this
    version does not know, raises StoreError naming `where`; damaged lifecycle fields are
    ignored with a warning (the grant still works, and nothing stored is changed).

    Raises: StoreError."""
    version = document.get("format")
    if isinstance(version, int) and not isinstance(version, bool) and version > GRANT_FORMAT:
        raise StoreError(
            f"{where} was written by a newer version of amazon-ads-auth (grant format "
            f"{version}; this version reads up to {GRANT_FORMAT}); it was left untouched: "
            "upgrade amazon-ads-auth (pip install -U amazon-ads-auth)"
        )
    if version not in (1, GRANT_FORMAT) or isinstance(version, bool):
        shown = printable(repr(version))[:40]
        raise StoreError(
            f"{where} is corrupt or from an unknown version (format {shown}); it was left "
            "untouched: run `amazon-ads-auth logout` for that grant and log in again"
        )
    token = decode_token_field(document.get("token"), where)
    login = document.get("login")
    extra = {k: v for k, v in document.items() if k not in (*_FIELDS, *_FIELDS_2)}
    if login is not None and not isinstance(login, Mapping):
        logger.warning("the login record of %s is damaged: it is ignored", where)
        extra["login"] = login  # kept as it is, never overwritten by a refresh
        login = None
    now = time.time() if now is None else now
    consented_at = _time_field(document, "consented_at", where)
    if consented_at is not None and consented_at > now + _FUTURE_SLACK:
        logger.warning("the consent time of %s is in the future: it is ignored", where)
        consented_at = None
    expires_from = document.get("refresh_expires_from")
    if expires_from == "lwa":
        expires = _time_field(document, "refresh_expires_at", where)
    else:
        expires = RefreshTokenPolicy.default().expires_at(consented_at)
        expires_from = "policy" if expires is not None else None
    return GrantRecord(
        token=token,
        login=login,
        consented_at=consented_at,
        refresh_expires_at=expires,
        expires_from=expires_from if expires is not None else None,
        last_refresh=_outcome(document.get("last_refresh"), where),
        extra=extra,
    )


def decode_token_field(value: object, where: str) -> Token:
    from .._errors import TokenFormatError

    try:
        if not isinstance(value, Mapping):
            raise TokenFormatError("not a token")
        return Token.from_dict(value)
    except TokenFormatError as exc:
        raise StoreError(
            f"{where} holds no valid token ({exc}); it was left untouched: run "
            "`amazon-ads-auth logout` for that grant (or move it away) and log in again"
        ) from None


def _time_field(document: Mapping[str, Any], name: str, where: str) -> float | None:
    value = document.get(name)
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    logger.warning("the %s of %s is not a time: it is ignored", name, where)
    return None


def _outcome(value: object, where: str) -> RefreshOutcome | None:
    if value is None:
        return None
    if isinstance(value, Mapping) and value.get("outcome") in _OUTCOMES:
        at = value.get("at")
        error = value.get("error")
        if isinstance(at, (int, float)) and not isinstance(at, bool) and math.isfinite(at):
            return RefreshOutcome(
                str(value["outcome"]), float(at), error if isinstance(error, str) else None
            )
    logger.warning("the last refresh outcome of %s is damaged: it is ignored", where)
    return None


@runtime_checkable
class GrantRecordStore(Protocol):
    """A store that saves and loads a whole grant record in one operation (every store of
    this package). Callers hold `lock(key)` around a read-modify-write."""

    def load_grant(self, key: str) -> GrantRecord | None: ...

    def save_grant(self, key: str, record: GrantRecord) -> None: ...


_LIFECYCLE = "lifecycle"


def read_grant(store: Any, key: str) -> GrantRecord | None:
    """The grant record of `key` in any store: one read from a GrantRecordStore; for other
    stores, the token and the login record (whose "lifecycle" entry holds the rest).

    Raises: StoreError."""
    if isinstance(store, GrantRecordStore):
        return store.load_grant(key)
    token = store.load(key)
    if token is None:
        return None
    login = store.load_login(key) if hasattr(store, "load_login") else None
    return record_from_login(token, login, key)


def record_from_login(token: Token, login: object, key: str) -> GrantRecord:
    """The grant record a store without GrantRecordStore keeps as a token and a login
    record (whose "lifecycle" entry holds consent time, expiry and last refresh)."""
    if not isinstance(login, Mapping):
        return GrantRecord(token)
    login = dict(login)
    lifecycle = login.pop(_LIFECYCLE, None)
    if not isinstance(lifecycle, Mapping):
        return GrantRecord(token, login)
    document = {**lifecycle, "format": GRANT_FORMAT, "token": token.to_dict(), "login": login}
    return grant_from_document(document, f"the grant {printable(key)!r}")


def write_grant(store: Any, key: str, record: GrantRecord) -> None:
    """Save a whole record: one write to a GrantRecordStore; for other stores, the token
    then the login record (with the lifecycle fields in it).

    Raises: StoreError."""
    if isinstance(store, GrantRecordStore):
        store.save_grant(key, record)
        return
    store.save(key, record.token)
    if hasattr(store, "save_login") and record.login is not None:
        document = grant_to_document(record)
        lifecycle = {k: document.get(k) for k in ("consented_at", *_FIELDS_2)}
        lifecycle["refresh_expires_at"] = record.refresh_expires_at
        store.save_login(key, {**dict(record.login), _LIFECYCLE: lifecycle})
