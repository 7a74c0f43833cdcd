"""Finding the login a caller means, and the AdsAuth settings it stands for.

`LoginLookup` lists a store's logins and picks one (by store key, by the profile it owns,
"default", or the only one), asking the Ads API for profile lists when no record names a
profile. It builds no AdsAuth itself: it is given `make_auth`, a function from a login's
settings to a requests auth, so `AdsAuth.from_login` (below the directory) and
`LoginDirectory` (above AdsAuth) share it without an import circle.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import requests

from ._errors import ConfigurationError
from ._logins import Login, choose, default_store, listing, load_logins, save_login, shorten
from ._profiles import fetch_profiles
from ._regions import Region
from ._store import TokenStore

MakeAuth = Callable[[dict[str, Any]], requests.auth.AuthBase]


def settings_from_login(
    login: Login, store: TokenStore, overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """AdsAuth keyword arguments (client id and secret included) for `login`: its record's
    settings, `overrides` on top.

    Raises: ConfigurationError for another client id, or when no secret is known."""
    overrides = dict(overrides)
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
    settings: dict[str, Any] = {
        "client_id": login.client_id,
        "client_secret": secret,
        "store": store,
        "store_key": login.store_key,
    }
    if login.recorded:
        settings["region"] = login.region
        for name in ("token_url", "authorization_url"):
            if getattr(login, name):
                settings[name] = getattr(login, name)
        if login.api_url and login.api_url.rstrip("/") != Region.parse(login.region).api_url:
            settings["api_hosts"] = [login.api_url]
    settings.update(overrides)
    return settings


def api_url_of(login: Login) -> str:
    return login.api_url or Region.parse(login.region).api_url


class LoginLookup:
    """The logins of one store, read once, and the choice among them."""

    def __init__(
        self,
        store: TokenStore | None,
        make_auth: MakeAuth,
        overrides: Mapping[str, Any] | None = None,
    ) -> None:
        self.store = store if store is not None else default_store()
        self._make_auth = make_auth
        self._overrides = dict(overrides or {})
        self._logins: list[Login] | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(store={self.store!r})"

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
        """The login meant (see `_logins.choose`); for a profile no record names, every
        login's profile list is fetched once more before giving up.

        Raises: NoTokenError when there is no login; ConfigurationError when the choice is
        ambiguous or no login owns the profile."""
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
                f"{listing(self.logins())}, and asked the Ads API for each): log in as the "
                "advertiser that owns it"
            )
        return found

    def refresh_profiles(self, login: Login) -> Login:
        """Fetch `GET /v2/profiles` for `login` and update its record."""
        auth = self._auth_of(login, self._overrides)
        updated = login.with_profiles(fetch_profiles(auth, api_url_of(login)))
        if login.recorded:
            save_login(self.store, updated)
        if self._logins is not None:
            self._logins = [updated if x.key == login.key else x for x in self._logins]
        return updated

    def settings(self, login: Login, overrides: Mapping[str, Any]) -> dict[str, Any]:
        kept = {k: v for k, v in overrides.items() if k not in ("profile_id", "store")}
        return settings_from_login(login, self.store, kept)

    def _auth_of(self, login: Login, overrides: Mapping[str, Any]) -> requests.auth.AuthBase:
        return self._make_auth(self.settings(login, overrides))
