"""Which credentials a command or script uses: one resolution, for the CLI, `from_login()`,
`from_env()` and `LoginDirectory`.

Inputs are what the caller gave (flags or keyword arguments, over `AMAZON_ADS_*` variables)
and the stored logins; the output is one coherent set taken from one login, or an error:

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
from typing import Any
from urllib.parse import urlsplit

import requests

from .._auth.settings import checked_variable
from .._errors import AdsAuthError, ConfigurationError, NoTokenError
from .._redact import describe_store, mask_url
from .._regions import ADS_API_HOSTS, Region
from .._stores.base import TokenStore
from .._urls import is_loopback
from .profiles import fetch_profiles
from .records import Login, choose, default_store, listing, load_logins, save_login, shorten

logger = logging.getLogger("amazon_ads_auth")

MakeAuth = Callable[[dict[str, Any]], requests.auth.AuthBase]
_ENV = {
    "client_id": "AMAZON_ADS_CLIENT_ID",
    "client_secret": "AMAZON_ADS_CLIENT_SECRET",
    "store_key": "AMAZON_ADS_STORE_KEY",
    "profile_id": "AMAZON_ADS_PROFILE_ID",
    "region": "AMAZON_ADS_REGION",
}
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
        cls, arguments: Mapping[str, Any], *, env_names: tuple[str, ...] = tuple(_ENV)
    ) -> Given:
        """Keyword arguments over the `AMAZON_ADS_*` variables of `env_names`."""
        values: dict[str, Any] = {}
        for name, var in _ENV.items():
            value = arguments.get(name)
            if value is None and name in env_names:
                value = os.environ.get(var, "").strip() or None
                if value is not None:
                    value = checked_variable(name, var, value)
            values[name] = None if value is None else str(value)
        hosts = arguments.get("api_hosts")
        api_url = arguments.get("api_url") or (
            hosts[0] if isinstance(hosts, (list, tuple)) and len(hosts) == 1 else None
        )
        known = {*_ENV, "api_url", "token_url", "authorization_url", "store"}
        extra = {k: v for k, v in arguments.items() if k not in known}
        return cls(
            **values,
            token_url=arguments.get("token_url"),
            authorization_url=arguments.get("authorization_url"),
            api_url=api_url,
            extra=extra,
        )


def settings_for(login: Login, store: TokenStore, given: Given) -> dict[str, Any]:
    """AdsAuth keyword arguments for `login` under the rules above.

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
    settings: dict[str, Any] = {
        "client_id": login.client_id,
        "client_secret": secret,
        "store": store,
        "store_key": login.store_key,
        "region": given.region or login.region,
    }
    same_region = given.region is None or Region.parse(given.region) == Region.parse(login.region)
    for field in _URL_FIELDS:
        explicit = getattr(given, field)
        recorded = getattr(login, field) if login.recorded and same_region else None
        url = explicit or (recorded and trusted_record_url(field, recorded, login))
        if not url:
            continue
        if field != "api_url":
            settings[field] = url
        elif url.rstrip("/") != Region.parse(settings["region"]).api_url:
            settings["api_hosts"] = [url]
    settings.update(given.extra)
    return settings


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
    them. It builds no AdsAuth itself: `make_auth` turns settings into a requests auth (for
    asking the Ads API for profiles), so this sits below AdsAuth."""

    def __init__(
        self,
        store: TokenStore | None,
        make_auth: MakeAuth,
        given: Given | None = None,
        *,
        demo: bool = False,
    ) -> None:
        self.store = store if store is not None else default_store()
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
        settings = self.settings(login, dataclasses.replace(self.given, profile_id=None))
        auth = self._auth_of(login, settings)
        updated = login.with_profiles(fetch_profiles(auth, api_base_url(login, self.given)))
        if login.recorded:
            save_login(self.store, updated)
        self._set([updated if x.key == login.key else x for x in self.logins()])
        return updated

    def settings(self, login: Login, given: Given | None = None) -> dict[str, Any]:
        return settings_for(login, self.store, given or self.given)

    def _auth_of(self, login: Login, settings: dict[str, Any]) -> requests.auth.AuthBase:
        return self._make_auth(settings)
