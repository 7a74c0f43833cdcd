"""Which credentials a command or script uses: one resolution, for the CLI, `from_login()`,
`from_env()`, `LoginDirectory` and the web flow's `ConsentFlow.auth()`.

Inputs are what the caller gave (flags or keyword arguments, over the `AMAZON_ADS_*`
variables of `ENV`, the one table of their names) and the stored logins; the output is one
`ResolvedLogin`, a frozen typed value taken from one login, or an error:

- each setting: the explicit argument (flag or keyword), else its AMAZON_ADS_* variable,
  else the chosen login's record;
- the login: by store key, else the one whose record lists the profile (an index, asking
  the Ads API once when none does), else "default", else the only one;
- the client secret: one given with a client id is used only for a login of that client
  id; otherwise the login's saved one, or a ConfigurationError naming the client id;
- URLs from a record: only Amazon's hosts for that kind of URL over https, or loopback.

A secret is only ever combined with the client id it was given with; a URL read from a
record is used only if it is Amazon's host for that kind of URL over https, or loopback
http (the emulator), unless the caller gives the same URL.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from .._errors import AdsAuthError, ConfigurationError, NoTokenError
from .._redact import Secret, describe_store, mask_url
from .._regions import ADS_API_HOSTS, Region
from .._stores.base import ListableStore, TokenStore
from .._stores.encrypted import KEYS_VARIABLE
from .._urls import is_loopback
from .records import Login, choose, listing, load_logins, save_login, shorten

if TYPE_CHECKING:
    import requests

logger = logging.getLogger("amazon_ads_auth")

# Every AMAZON_ADS_* variable the package reads, once: setting -> variable. The CLI's click
# options read theirs through `envvar=ENV[...]`; everything else through `env_value`.
ENV: Final[Mapping[str, str]] = {
    "client_id": "AMAZON_ADS_CLIENT_ID",
    "client_secret": "AMAZON_ADS_CLIENT_SECRET",
    "refresh_token": "AMAZON_ADS_REFRESH_TOKEN",
    "region": "AMAZON_ADS_REGION",
    "profile_id": "AMAZON_ADS_PROFILE_ID",
    "store_key": "AMAZON_ADS_STORE_KEY",
    "token_store": "AMAZON_ADS_TOKEN_STORE",
    "store_keys": KEYS_VARIABLE,  # named by the encrypting store, a room below
    "mcp_url": "AMAZON_ADS_MCP_URL",
}
# The settings a login lookup takes from the environment (the refresh token and the store
# are read by `env_arguments` and `default_store`).
LOGIN_ENV = ("client_id", "client_secret", "store_key", "profile_id", "region")
_FROM_ENV = ("client_id", "client_secret", "refresh_token", "region", "profile_id", "store_key")

MakeAuth = Callable[["ResolvedLogin"], "requests.auth.AuthBase"]
NO_DEMO_LOGIN = "no demo login: run `amazon-ads-auth login --emulator`"
_URL_FIELDS = ("token_url", "authorization_url", "api_url")
_AMAZON_HOSTS: dict[str, set[str]] = {
    "token_url": {urlsplit(r.token_url).hostname or "" for r in Region},
    "authorization_url": {urlsplit(r.authorization_url).hostname or "" for r in Region},
    "api_url": set(ADS_API_HOSTS),
}


@dataclasses.dataclass(frozen=True)
class Given:
    """What the caller gave, explicit arguments over the environment; `extra` holds other
    AdsAuth keyword arguments (clock, refresh_margin, ...), passed through."""

    client_id: str | None = None
    client_secret: str | None = dataclasses.field(default=None, repr=False)
    store_key: str | None = None
    profile_id: str | None = None
    region: str | None = None
    token_url: str | None = None
    authorization_url: str | None = None
    api_url: str | None = None
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_arguments(
        cls, arguments: Mapping[str, Any], *, env_names: tuple[str, ...] = LOGIN_ENV
    ) -> Given:
        """Keyword arguments over the `AMAZON_ADS_*` variables of `env_names` (none: the
        environment does not apply)."""
        values: dict[str, Any] = {}
        for name in LOGIN_ENV:
            value = arguments.get(name)
            if value is None and name in env_names:
                value = env_value(name)
            values[name] = None if value is None else str(value)
        hosts = arguments.get("api_hosts")
        api_url = arguments.get("api_url") or (
            hosts[0] if isinstance(hosts, (list, tuple)) and len(hosts) == 1 else None
        )
        known = {*LOGIN_ENV, "api_url", "token_url", "authorization_url", "store"}
        extra = {k: v for k, v in arguments.items() if k not in known}
        return cls(
            **values,
            token_url=arguments.get("token_url"),
            authorization_url=arguments.get("authorization_url"),
            api_url=api_url,
            extra=extra,
        )


@dataclasses.dataclass(frozen=True)
class ResolvedLogin:
    """One coherent set of credentials and settings, taken from one login (or, for a
    refresh token given with its client, from no login): what an AdsAuth is built from.

    The client secret and refresh token stay wrapped (`Secret`), so no repr or traceback
    shows them. `login` is the stored login chosen (None when none was used); `api_url` is
    where `GET /v2/profiles` goes; `extra` holds the other AdsAuth keyword arguments the
    caller passed (clock, refresh_margin, ...), passed through unchanged.
    """

    client_id: str
    client_secret: Secret = dataclasses.field(repr=False)
    refresh_token: Secret | None = dataclasses.field(default=None, repr=False)
    region: Region | str | None = None
    store: TokenStore | None = None
    store_key: str | None = None
    token_url: str | None = None
    authorization_url: str | None = None
    api_hosts: tuple[str, ...] | None = None
    api_url: str | None = None
    profile_id: str | None = None
    account_id: str | None = None
    login: Login | None = None
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict, repr=False)

    def without_profile(self) -> ResolvedLogin:
        return dataclasses.replace(self, profile_id=None)

    def auth_kwargs(self) -> dict[str, Any]:
        """The AdsAuth keyword arguments these settings mean (the secret unwrapped here,
        at the constructor's door, and nowhere else)."""
        kwargs: dict[str, Any] = {
            "client_id": self.client_id,
            "client_secret": self.client_secret.value,
        }
        optional = {
            "refresh_token": None if self.refresh_token is None else self.refresh_token.value,
            "region": self.region,
            "store": self.store,
            "store_key": self.store_key,
            "token_url": self.token_url,
            "authorization_url": self.authorization_url,
            "api_hosts": None if self.api_hosts is None else list(self.api_hosts),
            "profile_id": self.profile_id,
            "account_id": self.account_id,
        }
        kwargs.update({k: v for k, v in optional.items() if v is not None})
        kwargs.update(self.extra)
        return kwargs

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> ResolvedLogin:
        """Constructor keyword arguments given outright (a refresh token with its client:
        no login is used), checked to name a client id and secret."""
        require_client(kwargs)
        rest = dict(kwargs)
        refresh = rest.pop("refresh_token", None)
        hosts = rest.pop("api_hosts", None)
        return cls(
            client_id=rest.pop("client_id"),
            client_secret=Secret(rest.pop("client_secret")),
            refresh_token=None if refresh is None else Secret(refresh),
            region=rest.pop("region", None),
            store=rest.pop("store", None),
            store_key=rest.pop("store_key", None),
            token_url=rest.pop("token_url", None),
            authorization_url=rest.pop("authorization_url", None),
            api_hosts=None if hosts is None else tuple(hosts),
            profile_id=_text(rest.pop("profile_id", None)),
            account_id=rest.pop("account_id", None),
            extra=rest,
        )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def settings_for(login: Login, store: TokenStore, given: Given) -> ResolvedLogin:
    """The resolution for `login` under the rules above (the profile is the one given).

    Raises: ConfigurationError for another client id, a secret given for another client, a
    login with no secret, or a record URL that is not Amazon's."""
    if given.client_id is not None and given.client_id != login.client_id:
        raise ConfigurationError(
            f"client id {shorten(given.client_id)} does not match the stored login "
            f"{login.label()}: pass the matching client id, or pick another login"
        )
    secret = given.client_secret if given.client_id == login.client_id else None
    secret = secret or login.client_secret
    if not secret:
        raise ConfigurationError(
            f"the login {login.label()} has no saved client secret: give the secret together "
            f"with its client id (AMAZON_ADS_CLIENT_ID={login.client_id} and "
            "AMAZON_ADS_CLIENT_SECRET, or client_id= and client_secret=); a secret given "
            "without its client id is never used"
        )
    region = given.region or login.region
    urls: dict[str, str] = {}
    api_hosts: tuple[str, ...] | None = None
    same_region = given.region is None or Region.parse(given.region) == Region.parse(login.region)
    for field in _URL_FIELDS:
        explicit = getattr(given, field)
        recorded = getattr(login, field) if login.recorded and same_region else None
        url = explicit or (recorded and trusted_record_url(field, recorded, login))
        if not url:
            continue
        if field != "api_url":
            urls[field] = url
        elif url.rstrip("/") != Region.parse(region).api_url:
            api_hosts = (url,)
    extra = dict(given.extra)
    if "api_hosts" in extra:  # passed through as the caller gave it, as before
        hosts = extra.pop("api_hosts")
        api_hosts = None if hosts is None else tuple(hosts)
    return ResolvedLogin(
        client_id=login.client_id,
        client_secret=Secret(secret),
        region=region,
        store=store,
        store_key=login.store_key,
        token_url=urls.get("token_url"),
        authorization_url=urls.get("authorization_url"),
        api_hosts=api_hosts,
        api_url=api_base_url(login, given),
        profile_id=given.profile_id,
        account_id=extra.pop("account_id", None),
        login=login,
        extra=extra,
    )


def api_base_url(login: Login, given: Given) -> str:
    """Where `GET /v2/profiles` goes for `login`: the URL given, the record's (if trusted),
    else the region's."""
    if given.api_url and "://" in given.api_url:
        return given.api_url
    region = Region.parse(given.region or login.region)
    same_region = region == Region.parse(login.region)
    if login.recorded and login.api_url and same_region:
        return trusted_record_url("api_url", login.api_url, login)
    return region.api_url


def trusted_record_url(field: str, url: str, login: Login) -> str:
    """`url` read from `login`'s record if it may be used: https to Amazon's host for that
    field, or http/https to a loopback address (emulators, tests).

    Raises: ConfigurationError naming the field and the login otherwise."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        host, parts = "", urlsplit("")
    if (parts.scheme == "https" and host in _AMAZON_HOSTS[field]) or (
        parts.scheme in ("http", "https") and host and is_loopback(host)
    ):
        return url
    raise ConfigurationError(
        f"the login record {login.label()} sets {field} to {mask_url(url)!r}, which is not "
        f"Amazon's {field.replace('_', ' ')} nor a loopback address: refusing to send "
        f"credentials there. Log in again, or pass {field}= yourself if you mean it"
    )


class LoginLookup:
    """The logins of one store, read once and indexed by profile, and the choice among
    them. It builds no AdsAuth itself: `make_auth` turns a `ResolvedLogin` into a requests
    auth (for asking the Ads API for profiles), so this sits below AdsAuth."""

    def __init__(
        self,
        store: TokenStore | None,
        make_auth: MakeAuth | None,
        given: Given | None = None,
        *,
        demo: bool = False,
    ) -> None:
        self.store = store if store is not None else default_store(demo=demo)
        self.demo = demo  # True: only the demo logins `--emulator` made; else only real ones
        self._make_auth = make_auth
        self.given = given or Given()
        self._logins: list[Login] | None = None
        self._owners: dict[str, list[Login]] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(store={self.store!r})"

    def __iter__(self) -> Iterator[Login]:
        return iter(self.logins())

    def __len__(self) -> int:
        return len(self.logins())

    def logins(self) -> list[Login]:
        if self._logins is None:
            self._set([x for x in load_logins(self.store) if x.demo == self.demo])
        assert self._logins is not None
        return self._logins

    def owners(self, profile_id: str) -> list[Login]:
        """The logins whose records list `profile_id` (an index, not a scan)."""
        self.logins()
        return self._owners.get(profile_id, [])

    def _set(self, logins: list[Login]) -> None:
        self._logins = logins
        owners: dict[str, list[Login]] = {}
        for login in logins:
            for profile in login.profiles:
                owners.setdefault(profile.profile_id, []).append(login)
        self._owners = owners

    def find(self, given: Given | None = None, *, pick_with: str = "store_key=") -> Login:
        """The one login `given` means.

        Raises: NoTokenError when there is no login; ConfigurationError when the choice is
        ambiguous (two owners of a profile, several logins), or no login owns the profile."""
        given = given or self.given
        where, client_id, profile = describe_store(self.store), given.client_id, given.profile_id
        logins = self.logins()
        if self.demo and not logins:
            raise NoTokenError(NO_DEMO_LOGIN)
        if given.store_key is not None or profile is None:
            found = choose(
                logins,
                where=where,
                store_key=given.store_key,
                client_id=client_id,
                pick_with=pick_with,
            )
            if profile is not None and not found.owns(profile):
                found = self._named_owner(found, profile, where)
            return found
        owners = self._owners_of(profile, client_id)
        if not owners:
            for login in [x for x in logins if client_id in (None, x.client_id)]:
                self._try_refresh(login)
            owners = self._owners_of(profile, client_id)
        if len(owners) > 1:
            raise ConfigurationError(
                f"profile {profile} is listed by several logins in {where}: {listing(owners)}; "
                f"pick one with {pick_with}"
            )
        if not owners:
            raise ConfigurationError(
                f"no login in {where} has profile {profile} (looked in {listing(logins)}, and "
                "asked the Ads API for each): log in as the advertiser that owns it"
            )
        return owners[0]

    def _owners_of(self, profile: str, client_id: str | None) -> list[Login]:
        return [x for x in self.owners(profile) if client_id in (None, x.client_id)]

    def _named_owner(self, login: Login, profile: str, where: str) -> Login:
        """The login named by store key must own the profile: ask the API once more."""
        refreshed = self._try_refresh(login)
        if refreshed is not None and refreshed.owns(profile):
            return refreshed
        owners = [x for x in self.owners(profile) if x.key != login.key]
        hint = f": it is {listing(owners)}'s" if owners else ""
        raise ConfigurationError(
            f"the login {login.label()} in {where} does not have profile {profile}{hint}; "
            "drop the store key (or AMAZON_ADS_STORE_KEY) to route by profile, or pick that "
            "login"
        )

    def _try_refresh(self, login: Login) -> Login | None:
        """`refresh_profiles`, or None with a WARNING when the login cannot be asked."""
        try:
            return self.refresh_profiles(login)
        except AdsAuthError as exc:
            logger.warning(
                "skipped the login %s while looking for a profile: %s", login.label(), exc
            )
            return None

    def refresh_profiles(self, login: Login) -> Login:
        """Fetch `GET /v2/profiles` for `login` and update its record.

        Raises: ConfigurationError when the login cannot be used or the API refuses."""
        from .profiles import fetch_profiles  # loads requests: only when asked

        if self._make_auth is None:
            raise ConfigurationError(
                f"cannot ask the Ads API for the profiles of {login.label()} here: use "
                "AdsAuth.from_login or LoginDirectory, which can"
            )
        auth = self._make_auth(self.resolved_for(login, replace_profile(self.given, None)))
        updated = login.with_profiles(fetch_profiles(auth, api_base_url(login, self.given)))
        if login.recorded:
            save_login(self.store, updated)
        self._set([updated if x.key == login.key else x for x in self.logins()])
        return updated

    def resolved_for(self, login: Login, given: Given | None = None) -> ResolvedLogin:
        """The resolution for `login` (chosen by `find`) and what was given."""
        return settings_for(login, self.store, given or self.given)

    def resolve(
        self, given: Given | None = None, *, pick_with: str = "store_key="
    ) -> ResolvedLogin:
        """The login `given` means, resolved.

        Raises: as `find`, and as `settings_for`."""
        given = given or self.given
        return self.resolved_for(self.find(given, pick_with=pick_with), given)


def replace_profile(given: Given, profile_id: str | None) -> Given:
    return dataclasses.replace(given, profile_id=profile_id)


# ----- the environment ---------------------------------------------------------------------------


def env_value(name: str) -> str | None:
    """The `AMAZON_ADS_*` variable of setting `name` (see `ENV`), stripped, or None when
    unset or blank.

    Raises: ConfigurationError for a profile id that is not digits or an unknown region."""
    var = ENV[name]
    value = os.environ.get(var, "").strip()
    return checked_variable(name, var, value) if value else None


def is_profile_id(text: str) -> bool:
    """Plain ASCII digits: the only profile ids this library sends in the Scope header."""
    return text.isascii() and text.isdigit()


def checked_variable(name: str, var: str, value: str) -> str:
    """An AMAZON_ADS_* value, with an error that names the variable when it is unusable.

    Raises: ConfigurationError for a profile id that is not digits or an unknown region."""
    if name == "profile_id" and not is_profile_id(value):
        raise ConfigurationError(
            f"{var}={value!r} is not a numeric Ads profile id: unset it, or set it to a "
            "profile id from `amazon-ads-auth profiles`"
        )
    if name == "region" and not Region.is_one(value):
        raise ConfigurationError(f"{var}={value!r} is not a region: set it to na, eu or fe")
    return value


def default_store(*, demo: bool = False) -> TokenStore:
    """Where logins are looked for when no store is given: the sandbox's demo folder for
    the demo logins (`login --emulator` keeps them there, whatever the environment says),
    else AMAZON_ADS_TOKEN_STORE, else the CLI's default store (the user's file store)."""
    from .._stores.file import demo_store_url  # the stores load when first needed
    from .._stores.url import open_store

    if demo:
        return open_store(demo_store_url())
    return open_store(os.environ.get(ENV["token_store"], "").strip() or "file:")


def env_arguments(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """AdsAuth keyword arguments from AMAZON_ADS_* variables, with `overrides` on top.
    Without a client id anywhere it returns them without one: the caller then looks for a
    stored login (`AdsAuth.from_login`)."""
    kwargs: dict[str, Any] = {}
    for name in _FROM_ENV:
        if name not in overrides:
            value = env_value(name)
            if value is not None:
                kwargs[name] = value
    store_url = os.environ.get(ENV["token_store"], "").strip()
    if store_url and "store" not in overrides:
        from .._stores.url import open_store

        kwargs["store"] = open_store(store_url)
    kwargs.update(overrides)
    return kwargs


def require_client(kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
    """`kwargs` if they name a client id and secret.

    Raises: ConfigurationError naming the variable that is missing."""
    for name in ("client_id", "client_secret"):
        if not kwargs.get(name):
            raise ConfigurationError(
                f"{ENV[name]} is not set: export it, or pass {name}= to AdsAuth.from_env()"
            )
    return kwargs


# ----- the one resolution --------------------------------------------------------------------


def resolve(
    arguments: Mapping[str, Any] | None = None,
    *,
    store: TokenStore | None = None,
    make_auth: MakeAuth | None = None,
    demo: bool = False,
    environment: bool = True,
    **keywords: Any,
) -> ResolvedLogin:
    """The login that `arguments` and `keywords` (AdsAuth's keyword arguments: store_key,
    profile_id, client_id, client_secret, region, ...; over the AMAZON_ADS_* variables
    unless `environment` is False) mean among the stored logins of `store` (default:
    AMAZON_ADS_TOKEN_STORE, else the CLI's store; `demo`: the demo logins, from the
    sandbox's folder), resolved. `make_auth` builds an auth for asking the Ads API which
    login owns a profile no record lists (without it, such a search finds nothing).

    Raises: NoTokenError when there is no login; ConfigurationError when the choice is
    ambiguous, no login owns the profile, or no client secret is known."""
    merged = {**(arguments or {}), **keywords}
    present = {k: v for k, v in merged.items() if v is not None}
    given = Given.from_arguments(present, env_names=LOGIN_ENV if environment else ())
    return LoginLookup(store, make_auth, given, demo=demo).resolve()


def resolve_env(overrides: Mapping[str, Any], make_auth: MakeAuth) -> ResolvedLogin:
    """`from_env`'s resolution: with a refresh token (or a client id that has no stored
    login) the constructor's arguments as given; otherwise the stored login, as
    `resolve` chooses it.

    Raises: ConfigurationError for a missing client id or secret; as `resolve`."""
    kwargs = env_arguments(overrides)
    if kwargs.get("refresh_token"):
        return ResolvedLogin.from_kwargs(kwargs)
    store = kwargs.get("store") or default_store()
    settings = {k: v for k, v in kwargs.items() if k not in ("refresh_token", "store")}
    demo = bool(settings.pop("demo", False))
    given = Given.from_arguments({k: v for k, v in settings.items() if v is not None})
    lookup = LoginLookup(store, make_auth, given, demo=demo)
    client_id = kwargs.get("client_id")
    if client_id and not _has_login(lookup, client_id):
        # A client with no login yet: its first use says to run `amazon-ads-auth login`.
        return ResolvedLogin.from_kwargs(kwargs)
    return lookup.resolve()


def _has_login(lookup: LoginLookup, client_id: str) -> bool:
    """Whether the lookup's store holds a login of `client_id` (False for a store that
    cannot list)."""
    if not isinstance(lookup.store, ListableStore):
        return False
    return any(x.client_id == client_id for x in lookup.logins())
