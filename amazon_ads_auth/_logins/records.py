"""Logins: a stored grant plus what `login` learned about it, so that later commands and
scripts of the same user find it without being told the client id, secret or store again.

A login record is kept in the token store beside the grant (same file, keychain or Redis,
same protection), because it may hold the client secret: a refresh token is useless without
it. Grants stored before records existed are still listed; they need the client id (known
from the key) and the secret passed in, as before.

This module knows nothing of AdsAuth: `_login_lookup` finds the login a caller means (and
asks the Ads API for profiles), `_directory.LoginDirectory` builds AdsAuth objects on top.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from typing import Any

from .._errors import ConfigurationError, NoTokenError, StoreError
from .._redact import describe_store, printable
from .._stores.base import (
    GrantListingStore,
    ListableStore,
    LoginRecordStore,
    RecordListingStore,
    TokenStore,
)
from .._stores.grant import (
    EXPIRED,
    OK,
    REVOKED,
    GrantRecord,
    GrantRecordStore,
    read_grant,
    record_from_login,
    write_grant,
)
from .._stores.keys import DEFAULT_STORE_KEY as DEFAULT_STORE_KEY
from .._stores.keys import LOGIN, GrantKey
from .._token import Token

RECORD_FORMAT = 1


@dataclasses.dataclass(frozen=True)
class Profile:
    """One advertising profile as `GET /v2/profiles` returned it: `raw` is Amazon's item,
    every field kept (timezone, dailyBudget, accountInfo.marketplaceStringId, ...); the
    properties read the fields this library uses."""

    profile_id: str
    raw: Mapping[str, Any] = dataclasses.field(default_factory=dict, compare=False, repr=False)

    @property
    def country(self) -> str:
        return str(self.raw.get("countryCode", ""))

    @property
    def currency(self) -> str:
        return str(self.raw.get("currencyCode", ""))

    @property
    def type(self) -> str:
        return str(self._account.get("type", ""))

    @property
    def name(self) -> str:
        return str(self._account.get("name", ""))

    @property
    def account_id(self) -> str:
        return str(self._account.get("id", ""))

    @property
    def _account(self) -> Mapping[str, Any]:
        info = self.raw.get("accountInfo")
        return info if isinstance(info, Mapping) else {}

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> Profile:
        return cls(str(item.get("profileId", "")), item)

    @classmethod
    def from_record_item(cls, item: Mapping[str, Any]) -> Profile | None:
        """A profile as a login record keeps it: Amazon's item, or (records written by
        earlier versions) the few fields copied out of it. None without a profile id."""
        if "profileId" in item:
            return cls.from_api(item) if item["profileId"] not in (None, "") else None
        if not item.get("profile_id"):
            return None
        get = item.get
        return cls(
            str(get("profile_id")),
            {
                "profileId": str(get("profile_id")),
                "countryCode": str(get("country", "")),
                "currencyCode": str(get("currency", "")),
                "accountInfo": {
                    "type": str(get("type", "")),
                    "name": str(get("name", "")),
                    "id": str(get("account_id", "")),
                },
            },
        )


@dataclasses.dataclass(frozen=True)
class Login:
    """A stored grant and its record. `recorded` is False for a grant stored before login
    records existed (then only `client_id` and `store_key` are known).

    The lifecycle: `consented_at` (the code exchange that produced the refresh token; None
    when unknown), `refresh_expires_at` (None: unknown, or a refresh token that does not
    expire), the last refresh (`last_refresh` "ok" / "revoked" / "expired" at
    `last_refresh_at`, with LwA's `last_refresh_error`), and `unreadable` (why the grant
    cannot be read, else None). `namespace` is "login" or "tenant" (a web app's tenant,
    whose `store_key` is "tenant:<id>")."""

    client_id: str
    store_key: str
    region: str = "na"
    scope: str | None = None
    token_url: str | None = None
    authorization_url: str | None = None
    api_url: str | None = None
    profiles: tuple[Profile, ...] = ()
    client_secret: str | None = dataclasses.field(default=None, repr=False)
    demo: bool = False
    recorded: bool = True
    consented_at: float | None = None
    refresh_expires_at: float | None = None
    last_refresh: str | None = None
    last_refresh_at: float | None = None
    last_refresh_error: str | None = None
    unreadable: str | None = dataclasses.field(default=None, compare=False)
    profiles_known: bool = True

    @property
    def key(self) -> str:
        """The grant's key in the store: "<client id>/<store key>"."""
        return str(self.grant_key)

    @property
    def grant_key(self) -> GrantKey:
        return GrantKey(self.client_id, self.store_key)

    @property
    def namespace(self) -> str:
        """ "tenant" for a web tenant's grant (ConsentFlow), else "login"."""
        return self.grant_key.namespace

    @property
    def kind(self) -> str:
        """The same as `namespace` ("login" or "tenant")."""
        return self.namespace

    @property
    def tenant(self) -> str | None:
        """The tenant id of a web tenant's grant, else None."""
        return self.grant_key.tenant_id

    @property
    def state(self) -> str:
        """ "unreadable", "revoked" or "expired" (the last refresh said so, or the refresh
        token's expiry passed), "expiring" (within 30 days), else "ok", as of now."""
        return self.state_at()

    def state_at(self, now: float | None = None, *, expiring_within: float = 30 * 86400) -> str:
        """`state` at `now` (default: the clock); "expiring" within `expiring_within` s."""
        now = time.time() if now is None else now
        if self.unreadable is not None:
            return "unreadable"
        if self.last_refresh in (REVOKED, EXPIRED):
            return self.last_refresh
        if self.refresh_expires_at is not None:
            if now >= self.refresh_expires_at:
                return EXPIRED
            if self.refresh_expires_at - now <= expiring_within:
                return "expiring"
        return OK

    @property
    def has_secret(self) -> bool:
        return bool(self.client_secret)

    def owns(self, profile_id: str) -> bool:
        return any(p.profile_id == profile_id for p in self.profiles)

    def label(self) -> str:
        return f"{self.store_key} ({shorten(self.client_id)})"

    def to_record(self) -> dict[str, Any]:
        record = {
            "format": RECORD_FORMAT,
            "client_id": self.client_id,
            "region": self.region,
            "scope": self.scope,
            "token_url": self.token_url,
            "authorization_url": self.authorization_url,
            "api_url": self.api_url,
            "profiles": [dict(p.raw) for p in self.profiles] if self.profiles_known else None,
            "demo": self.demo,
            "kind": self.namespace,
        }
        if self.client_secret:
            record["client_secret"] = self.client_secret
        return record

    @classmethod
    def from_grant(cls, key: str, grant: GrantRecord) -> Login:
        """The login of a stored grant record (its token is not kept here)."""
        login = cls.from_record(key, grant.login)
        outcome = grant.last_refresh
        return dataclasses.replace(
            login,
            consented_at=grant.consented_at,
            refresh_expires_at=grant.refresh_expires_at,
            last_refresh=outcome.outcome if outcome else None,
            last_refresh_at=outcome.at if outcome else None,
            last_refresh_error=outcome.error if outcome else None,
        )

    @classmethod
    def unreadable_grant(cls, key: str, error: Exception) -> Login:
        """A grant that exists but cannot be read: listed, never used."""
        login = cls.from_record(key, None)
        return dataclasses.replace(login, unreadable=str(error))

    @classmethod
    def from_record(cls, key: str, record: Mapping[str, Any] | None) -> Login:
        parsed = GrantKey.parse(key)
        client_id, store_key = (parsed.client_id, parsed.store_key) if parsed else (key, "")
        if not record or record.get("format") != RECORD_FORMAT:
            return cls(client_id=client_id, store_key=store_key, recorded=False)
        known = record.get("profiles") is not None or "profiles" not in record
        profiles = [
            profile
            for item in record.get("profiles") or []
            if isinstance(item, dict) and (profile := Profile.from_record_item(item)) is not None
        ]

        def text(name: str) -> str | None:
            value = record.get(name)
            return value if isinstance(value, str) and value else None

        return cls(
            client_id=client_id,
            store_key=store_key,
            region=text("region") or "na",
            scope=text("scope"),
            token_url=text("token_url"),
            authorization_url=text("authorization_url"),
            api_url=text("api_url"),
            profiles=tuple(profiles),
            client_secret=text("client_secret"),
            demo=record.get("demo") is True,
            profiles_known=known,
        )

    def with_profiles(self, items: Sequence[Mapping[str, Any]]) -> Login:
        profiles = tuple(Profile.from_api(i) for i in items)
        return dataclasses.replace(self, profiles=profiles, profiles_known=True)

    def without_profiles(self) -> Login:
        """This login with its profiles unknown (the profile lookup failed or was skipped):
        `amazon-ads-auth profiles --refresh` or `LoginDirectory.refresh_profiles` fetch them."""
        return dataclasses.replace(self, profiles=(), profiles_known=False)


def shorten(client_id: str) -> str:
    """amzn1.application-oa2-client.1234...cdef: enough to tell clients apart."""
    return client_id if len(client_id) <= 40 else f"{client_id[:32]}...{client_id[-4:]}"


def save_login(store: TokenStore, login: Login) -> bool:
    """Record `login` with its grant, under the key's lock (so it never races a refresh's
    save), keeping the rest of the grant record; False when the store cannot keep records.

    Raises: StoreError (also when no grant is stored under the key)."""
    if not isinstance(store, (GrantRecordStore, LoginRecordStore)):
        return False
    with store.lock(login.key):
        current = read_grant(store, login.key)
        if current is None:
            raise StoreError(f"no grant is stored under {printable(login.key)!r}")
        write_grant(store, login.key, dataclasses.replace(current, login=login.to_record()))
    return True


def load_logins(store: TokenStore) -> list[Login]:
    """Every grant in `store`, sorted by key, with its record when it has one; a grant that
    cannot be read is listed with `unreadable` set (it is never used, but it is counted).

    Raises: ConfigurationError when the store cannot list its keys; StoreError when it
    fails."""
    found: list[Login] = []
    if isinstance(store, GrantListingStore):  # one pass over the store
        for key, grant in store.grant_records().items():
            if GrantKey.parse(key) is None:
                continue
            if isinstance(grant, StoreError):
                found.append(Login.unreadable_grant(key, grant))
            else:
                found.append(Login.from_grant(key, grant))
        return sorted(found, key=lambda x: x.key)
    if not isinstance(store, ListableStore):
        raise ConfigurationError(
            f"the store {describe_store(store)} cannot list its grants: pass client_id= and "
            "store_key="
        )
    if isinstance(store, RecordListingStore):  # one pass over the store, not one per key
        unknown = Token("Atza|not-loaded", None, 0.0)  # the listing carries no token
        for key, login in store.records().items():
            if GrantKey.parse(key) is None:
                continue
            try:
                found.append(Login.from_grant(key, record_from_login(unknown, login, key)))
            except StoreError as exc:
                found.append(Login.unreadable_grant(key, exc))
        return sorted(found, key=lambda x: x.key)
    for key in store.keys():
        if GrantKey.parse(key) is None:
            continue
        try:
            one = read_grant(store, key)
        except StoreError as exc:
            found.append(Login.unreadable_grant(key, exc))
            continue
        if one is not None:
            found.append(Login.from_grant(key, one))
    return sorted(found, key=lambda x: x.key)


def cannot_be_read(login: Login) -> StoreError:
    """The error for a chosen login whose grant cannot be read: what to run to remove it."""
    if login.tenant is not None:
        remedy = f"ConsentFlow.disconnect({printable(login.tenant)!r}) removes it"
    else:
        remedy = f"`amazon-ads-auth logout --store-key {shell_word(login.store_key)}` removes it"
    # The store's own advice ("; it was left untouched: ...") gives way to the command here.
    reason = (login.unreadable or "").split("; it was left untouched")[0]
    return StoreError(
        f"the login {printable(login.store_key)!r} cannot be read ({reason}): {remedy}"
    )


def shell_word(text: str) -> str:
    import shlex

    return shlex.quote(printable(text))


def choose(
    logins: Sequence[Login],
    *,
    where: str,
    store_key: str | None = None,
    client_id: str | None = None,
    pick_with: str = "store_key=",
) -> Login:
    """The login a caller means by store key, else the one named "default", else the only
    one (profile routing is `_resolve`'s).

    Without a store key, web tenants' grants are never chosen (their namespace is the web
    app's), and a "default" that cannot be read is an error, never a reason to pick another.

    Raises: NoTokenError when there is none at all; ConfigurationError when the choice is
    ambiguous; StoreError when the login meant cannot be read."""
    if store_key is None:
        logins = [x for x in logins if x.namespace == LOGIN]
    candidates = [x for x in logins if client_id is None or x.client_id == client_id]
    if not logins:
        raise NoTokenError(
            f"no login found in {where}: run `amazon-ads-auth login`, or set "
            "AMAZON_ADS_CLIENT_ID, AMAZON_ADS_CLIENT_SECRET and AMAZON_ADS_REFRESH_TOKEN"
        )
    if client_id is not None and not candidates:
        raise ConfigurationError(
            f"no login for client id {shorten(client_id)} in {where} (it has "
            f"{listing(logins)}): check the client id, or run `amazon-ads-auth login`"
        )
    if store_key is not None:
        named = [x for x in candidates if x.store_key == store_key]
        if not named:
            raise NoTokenError(
                f"no login named {store_key!r} in {where} (it has {listing(candidates)}): "
                f"run `amazon-ads-auth login --store-key {store_key}`"
            )
        return _one(named, where, "--client-id" if pick_with.startswith("-") else "client_id=")
    defaults = [x for x in candidates if x.store_key == DEFAULT_STORE_KEY]
    return _one(defaults or candidates, where, pick_with)


def _one(logins: Sequence[Login], where: str, pick_with: str) -> Login:
    if len(logins) == 1:
        if logins[0].unreadable is not None:
            raise cannot_be_read(logins[0])
        return logins[0]
    raise ConfigurationError(
        f"several logins in {where}: {listing(logins)}; pick one with {pick_with}"
    )


def listing(logins: Sequence[Login]) -> str:
    return ", ".join(printable(x.label()) for x in logins) or "no logins"
