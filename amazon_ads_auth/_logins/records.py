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
from collections.abc import Mapping, Sequence
from typing import Any

from .._errors import ConfigurationError, NoTokenError, StoreError
from .._public import public
from .._redact import describe_store
from .._stores.base import ListableStore, LoginRecordStore, RecordListingStore, TokenStore

RECORD_FORMAT = 1
DEFAULT_STORE_KEY = "default"


@public
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


@public
@dataclasses.dataclass(frozen=True)
class Login:
    """A stored grant and its record. `recorded` is False for a grant stored before login
    records existed (then only `client_id` and `store_key` are known)."""

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

    @property
    def key(self) -> str:
        """The grant's key in the store: "<client id>/<store key>"."""
        return f"{self.client_id}/{self.store_key}"

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
            "profiles": [dict(p.raw) for p in self.profiles],
            "demo": self.demo,
        }
        if self.client_secret:
            record["client_secret"] = self.client_secret
        return record

    @classmethod
    def from_record(cls, key: str, record: Mapping[str, Any] | None) -> Login:
        client_id, _, store_key = key.partition("/")
        if not record or record.get("format") != RECORD_FORMAT:
            return cls(client_id=client_id, store_key=store_key, recorded=False)
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
        )

    def with_profiles(self, items: Sequence[Mapping[str, Any]]) -> Login:
        return dataclasses.replace(self, profiles=tuple(Profile.from_api(i) for i in items))


def shorten(client_id: str) -> str:
    """amzn1.application-oa2-client.1234...cdef: enough to tell clients apart."""
    return client_id if len(client_id) <= 40 else f"{client_id[:32]}...{client_id[-4:]}"


def save_login(store: TokenStore, login: Login) -> bool:
    """Record `login` with its grant, under the key's lock (so it never races a refresh's
    save); False when the store cannot keep records."""
    if not isinstance(store, LoginRecordStore):
        return False
    with store.lock(login.key):
        store.save_login(login.key, login.to_record())
    return True


def load_logins(store: TokenStore) -> list[Login]:
    """Every grant in `store`, with its record when it has one.

    Raises: ConfigurationError when the store cannot list its keys; StoreError when it
    fails."""
    if not isinstance(store, ListableStore):
        raise ConfigurationError(
            f"the store {describe_store(store)} cannot list its grants: pass client_id= and "
            "store_key="
        )
    if isinstance(store, RecordListingStore):  # one pass over the store, not one per key
        return [Login.from_record(k, r) for k, r in store.records().items() if "/" in k]
    records = store if isinstance(store, LoginRecordStore) else None
    found = []
    listed = store.keys()
    for key in listed:
        if "/" not in key:
            continue
        try:
            record = records.load_login(key) if records is not None else None
        except StoreError:
            record = None  # an unreadable grant is listed without its record
        found.append(Login.from_record(key, record))
    return found


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

    Raises: NoTokenError when there is none at all; ConfigurationError when the choice is
    ambiguous."""
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
        return logins[0]
    raise ConfigurationError(
        f"several logins in {where}: {listing(logins)}; pick one with {pick_with}"
    )


def listing(logins: Sequence[Login]) -> str:
    return ", ".join(x.label() for x in logins) or "no logins"
