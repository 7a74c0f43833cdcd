"""Logins: a stored grant plus what `login` learned about it, so that later commands and
scripts of the same user find it without being told the client id, secret or store again.

A login record is kept in the token store beside the grant (same file, keychain or Redis,
same protection), because it may hold the client secret: a refresh token is useless without
it. Grants stored before records existed are still listed; they need the client id (known
from the key) and the secret passed in, as before.

`LoginDirectory` is the library side (`AdsAuth.from_login()` uses it): list the logins of
a store, pick one by name, by client id or by the profile it owns, and build one AdsAuth per
login whose `with_profile` views share its token.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import requests

from ._errors import ConfigurationError, NoTokenError, StoreError
from ._open_store import open_store
from ._regions import Region
from ._store import TokenStore

if TYPE_CHECKING:
    from ._auth import AdsAuth

RECORD_FORMAT = 1
DEFAULT_STORE_KEY = "default"


@dataclasses.dataclass(frozen=True)
class Profile:
    """One advertising profile as `GET /v2/profiles` described it."""

    profile_id: str
    country: str = ""
    currency: str = ""
    type: str = ""
    name: str = ""
    account_id: str = ""

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> Profile:
        info = item.get("accountInfo") or {}
        return cls(
            profile_id=str(item.get("profileId", "")),
            country=str(item.get("countryCode", "")),
            currency=str(item.get("currencyCode", "")),
            type=str(info.get("type", "")),
            name=str(info.get("name", "")),
            account_id=str(info.get("id", "")),
        )


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
            "profiles": [dataclasses.asdict(p) for p in self.profiles],
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
        profiles = []
        for item in record.get("profiles") or []:
            if isinstance(item, dict) and item.get("profile_id"):
                fields = {f.name for f in dataclasses.fields(Profile)}
                profiles.append(Profile(**{k: str(v) for k, v in item.items() if k in fields}))

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


def demo_store_url() -> str:
    """Where `--emulator` keeps demo logins: a folder of their own beside the real tokens,
    so they never mix with real grants and are never refreshed against Amazon."""
    from ._file_store import default_data_dir

    return (default_data_dir() / "demo-tokens").as_uri()


def default_store() -> TokenStore:
    """AMAZON_ADS_TOKEN_STORE, else the CLI's default store (the user's file store)."""
    return open_store(os.environ.get("AMAZON_ADS_TOKEN_STORE", "").strip() or "file:")


def save_login(store: TokenStore, login: Login) -> bool:
    """Record `login` with its grant; False when the store cannot keep records."""
    method = getattr(store, "save_login", None)
    if method is None:
        return False
    method(login.key, login.to_record())
    return True


def load_logins(store: TokenStore) -> list[Login]:
    """Every grant in `store`, with its record when it has one."""
    keys = getattr(store, "keys", None)
    if keys is None:
        raise ConfigurationError(
            f"the store {store!r} cannot list its grants: pass client_id= and store_key="
        )
    loader = getattr(store, "load_login", None)
    found = []
    for key in keys():
        if "/" not in key:
            continue
        try:
            record = loader(key) if loader is not None else None
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
    profile_id: str | None = None,
    pick_with: str = "store_key=",
) -> Login | None:
    """The login a caller means: by store key, else by the profile it owns (None when no
    record names it: the caller may refresh the profile lists), else the one named
    "default", else the only one. Raises NoTokenError when there is none at all and
    ConfigurationError when the choice is ambiguous."""
    candidates = [x for x in logins if client_id is None or x.client_id == client_id]
    if not logins:
        raise NoTokenError(f"no login found in {where}: run `amazon-ads-auth login`")
    if client_id is not None and not candidates:
        raise ConfigurationError(
            f"no login for client id {shorten(client_id)} in {where} (it has "
            f"{_listing(logins)}): check the client id, or run `amazon-ads-auth login`"
        )
    if store_key is not None:
        named = [x for x in candidates if x.store_key == store_key]
        if not named:
            raise NoTokenError(
                f"no login named {store_key!r} in {where} (it has {_listing(candidates)}): "
                f"run `amazon-ads-auth login --store-key {store_key}`"
            )
        return _one(named, where, "--client-id" if pick_with.startswith("-") else "client_id=")
    if profile_id is not None and client_id is None:
        # A profile alone names its login; with a client id it only sets the Scope header.
        owners = [x for x in candidates if x.owns(profile_id)]
        return _one(owners, where, pick_with) if owners else None
    defaults = [x for x in candidates if x.store_key == DEFAULT_STORE_KEY]
    return _one(defaults or candidates, where, pick_with)


def _one(logins: Sequence[Login], where: str, pick_with: str) -> Login:
    if len(logins) == 1:
        return logins[0]
    raise ConfigurationError(
        f"several logins in {where}: {_listing(logins)}; pick one with {pick_with}"
    )


def _listing(logins: Sequence[Login]) -> str:
    return ", ".join(x.label() for x in logins) or "no logins"


class LoginDirectory:
    """Every login in a store, and the AdsAuth of each: the way to run one script over every
    advertiser an agency manages.

        logins = LoginDirectory()            # AMAZON_ADS_TOKEN_STORE, else the CLI's store
        auth = logins.auth_for(profile_id)   # the login that owns this profile
        for login in logins: ...             # .store_key .client_id .region .profiles

    One AdsAuth per login, shared by every `auth_for` view of its profiles, so a thousand
    profiles under one login cost one refresh per expiry.
    """

    def __init__(self, store: TokenStore | None = None, **overrides: Any) -> None:
        self.store = store if store is not None else default_store()
        self._overrides = overrides
        self._auths: dict[str, AdsAuth] = {}
        self._logins: list[Login] | None = None

    def __repr__(self) -> str:
        return f"LoginDirectory(store={self.store!r})"

    def __iter__(self) -> Iterator[Login]:
        return iter(self.logins())

    def __len__(self) -> int:
        return len(self.logins())

    def logins(self) -> list[Login]:
        if self._logins is None:
            self._logins = load_logins(self.store)
        return self._logins

    def get(
        self,
        store_key: str | None = None,
        *,
        client_id: str | None = None,
        profile_id: int | str | None = None,
        pick_with: str = "store_key=",
    ) -> Login:
        """The login meant (see `choose`); for a profile no record names, every login's
        profile list is fetched once more before giving up."""
        profile = None if profile_id is None else str(profile_id)
        where = repr(self.store)
        options = {"store_key": store_key, "client_id": client_id, "profile_id": profile}
        found = choose(self.logins(), where=where, pick_with=pick_with, **options)
        if found is not None:
            return found
        assert profile is not None
        for login in self.logins():
            if client_id is None or login.client_id == client_id:
                self.refresh_profiles(login)
        found = choose(self.logins(), where=where, pick_with=pick_with, **options)
        if found is None:
            raise ConfigurationError(
                f"no login in {where} has profile {profile} (looked in "
                f"{_listing(self.logins())}, and asked the Ads API for each): log in as the "
                "advertiser that owns it"
            )
        return found

    def auth(
        self,
        store_key: str | None = None,
        *,
        profile_id: int | str | None = None,
        **overrides: Any,
    ) -> AdsAuth:
        """An AdsAuth for the login meant; keyword arguments as in the constructor
        override what is stored."""
        settings = {**self._overrides, **overrides}
        login = self.get(store_key, client_id=settings.get("client_id"), profile_id=profile_id)
        base = self._auth_of(login, settings)
        return base.with_profile(profile_id) if profile_id is not None else base

    def auth_for(self, profile_id: int | str) -> AdsAuth:
        """The AdsAuth view for `profile_id`, from the login that owns it."""
        return self.auth(profile_id=profile_id)

    def refresh_profiles(self, login: Login) -> Login:
        """Fetch `GET /v2/profiles` for `login` and update its record."""
        auth = self._auth_of(login, self._overrides)
        updated = login.with_profiles(fetch_profiles(auth, api_url_of(login, auth)))
        if login.recorded:
            save_login(self.store, updated)
        if self._logins is not None:
            self._logins = [updated if x.key == login.key else x for x in self._logins]
        return updated

    def close(self) -> None:
        for auth in self._auths.values():
            auth.close()

    def _auth_of(self, login: Login, settings: Mapping[str, Any]) -> AdsAuth:
        settings = {k: v for k, v in settings.items() if k not in ("profile_id", "store")}
        cache_key = f"{login.key}|{sorted(settings.items())!r}"
        auth = self._auths.get(cache_key)
        if auth is None:
            auth = auth_from_login(login, self.store, **settings)
            self._auths[cache_key] = auth
        return auth


def auth_from_login(login: Login, store: TokenStore, **overrides: Any) -> AdsAuth:
    """An AdsAuth for `login`: its record's settings, `overrides` on top."""
    from ._auth import AdsAuth

    client_id = overrides.pop("client_id", None)
    if client_id is not None and client_id != login.client_id:
        raise ConfigurationError(
            f"client id {shorten(client_id)} does not match the stored login "
            f"{login.label()}: pass the matching client id, or pick another login"
        )
    secret = (
        overrides.pop("client_secret", None)
        or login.client_secret
        or os.environ.get("AMAZON_ADS_CLIENT_SECRET", "").strip()
    )
    if not secret:
        raise ConfigurationError(
            f"the login {login.label()} has no saved client secret: set "
            "AMAZON_ADS_CLIENT_SECRET, or pass client_secret="
        )
    settings: dict[str, Any] = {"store": store, "store_key": login.store_key}
    if login.recorded:
        settings["region"] = login.region
        for name in ("token_url", "authorization_url"):
            if getattr(login, name):
                settings[name] = getattr(login, name)
        if login.api_url and login.api_url.rstrip("/") != Region.parse(login.region).api_url:
            settings["api_hosts"] = [login.api_url]
    settings.update(overrides)
    return AdsAuth(login.client_id, secret, **settings)


def api_url_of(login: Login, auth: AdsAuth) -> str:
    return login.api_url or auth.region.api_url


def fetch_profiles(auth: AdsAuth, api_url: str) -> list[dict[str, Any]]:
    """`GET /v2/profiles` with `auth`; ConfigurationError (with the API's words) if refused."""
    try:
        response = requests.get(f"{api_url.rstrip('/')}/v2/profiles", auth=auth, timeout=30)
    except requests.RequestException as exc:
        raise ConfigurationError(
            f"the Ads API at {api_url} could not be reached ({type(exc).__name__}): check the "
            "region and your network"
        ) from None
    if response.status_code != 200:
        try:
            details = response.json().get("details", "")
        except (ValueError, AttributeError):
            details = ""
        raise ConfigurationError(
            f"GET /v2/profiles answered HTTP {response.status_code}"
            + (f" ({details})" if details else "")
            + ": check the region and that the client is approved for the Ads API"
        )
    try:
        data = response.json()
    except ValueError:
        data = []
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []
