"""LoginDirectory: every login in a store, and an AdsAuth for each, above AdsAuth itself."""

from __future__ import annotations

import dataclasses
from typing import Any

import requests

from .._auth.adsauth import AdsAuth
from .._auth.settings import profile_text
from .._refresh.events import OnEvent, check_on_event
from .._stores.base import TokenStore
from .records import Login
from .resolve import Given, LoginLookup

# A directory routes by profile itself: AMAZON_ADS_STORE_KEY / _PROFILE_ID do not apply.
_DIRECTORY_ENV = ("client_id", "client_secret", "region")


class LoginDirectory(LoginLookup):
    """Every login in a store, and the AdsAuth of each: the way to run one script over every
    advertiser an agency manages.

        logins = LoginDirectory()            # AMAZON_ADS_TOKEN_STORE, else the CLI's store
        auth = logins.auth_for(profile_id)   # the login that owns this profile
        for login in logins: ...             # .store_key .client_id .region .profiles

    One AdsAuth per login, shared by every `auth_for` view of its profiles, so a thousand
    profiles under one login cost one refresh per expiry. Profiles are found through an
    index of the records, and each view is made once. Keyword arguments are AdsAuth's;
    AMAZON_ADS_CLIENT_ID, _CLIENT_SECRET and _REGION apply as everywhere (see `_resolve`).
    Demo logins (`--emulator`) are left out unless `demo=True` (`Sandbox.login_kwargs()`).
    """

    def __init__(
        self,
        store: TokenStore | None = None,
        *,
        demo: bool = False,
        on_event: OnEvent | None = None,
        **overrides: Any,
    ) -> None:
        if on_event is not None:  # every AdsAuth made here reports to it (`_refresh.events`)
            overrides["on_event"] = check_on_event(on_event)
        given = Given.from_arguments(overrides, env_names=_DIRECTORY_ENV)
        super().__init__(store, self._build, given, demo=demo)
        self._overrides = overrides
        self._auths: dict[str, AdsAuth] = {}
        self._views: dict[str, AdsAuth] = {}  # profile id -> its view

    def auth(
        self,
        store_key: str | None = None,
        *,
        profile_id: int | str | None = None,
        **overrides: Any,
    ) -> AdsAuth:
        """An AdsAuth for the login meant; keyword arguments as in the constructor
        override what is stored.

        Raises: NoTokenError, ConfigurationError (see `find`)."""
        profile = profile_text(profile_id)
        given = self.given
        if overrides:
            given = Given.from_arguments({**self._overrides, **overrides}, env_names=_DIRECTORY_ENV)
        given = dataclasses.replace(given, store_key=store_key, profile_id=profile)
        login = self.find(given)
        base = self._cached(login, given, overrides)
        return base.with_profile(profile) if profile is not None else base

    def auth_for(self, profile_id: int | str) -> AdsAuth:
        """The AdsAuth view for `profile_id`, from the login that owns it.

        Raises: ConfigurationError when no login, or more than one, owns it."""
        key = str(profile_id)
        view = self._views.get(key)
        if view is None:
            owners = self._owners_of(key, self.given.client_id)
            if len(owners) == 1:  # the index answers: no search, no API call
                view = self._cached(owners[0], self.given, {}).with_profile(key)
            else:
                view = self.auth(profile_id=profile_id)
            self._views[key] = view
        return view

    def close(self) -> None:
        """Close the AdsAuth objects made so far (their private HTTP clients)."""
        for auth in self._auths.values():
            auth.close()

    def __enter__(self) -> LoginDirectory:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def refresh_profiles(self, login: Login) -> Login:
        self._views.clear()  # a profile may have moved to another login
        return super().refresh_profiles(login)

    def _cached(self, login: Login, given: Given, overrides: dict[str, Any]) -> AdsAuth:
        kept = sorted(
            (k, repr(v)) for k, v in overrides.items() if k not in ("profile_id", "store")
        )
        cache_key = f"{login.key}|{kept!r}"
        auth = self._auths.get(cache_key)
        if auth is None:
            auth = self._auths[cache_key] = AdsAuth(**self.settings(login, given))
        return auth

    def _auth_of(self, login: Login, settings: dict[str, Any]) -> requests.auth.AuthBase:
        return self._cached(login, self.given, {})

    @staticmethod
    def _build(settings: dict[str, Any]) -> requests.auth.AuthBase:
        return AdsAuth(**settings)
