"""LoginDirectory: every login in a store, and an AdsAuth for each, above AdsAuth itself."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from ._auth import AdsAuth
from ._login_lookup import LoginLookup
from ._logins import Login
from ._store import TokenStore


class LoginDirectory(LoginLookup):
    """Every login in a store, and the AdsAuth of each: the way to run one script over every
    advertiser an agency manages.

        logins = LoginDirectory()            # AMAZON_ADS_TOKEN_STORE, else the CLI's store
        auth = logins.auth_for(profile_id)   # the login that owns this profile
        for login in logins: ...             # .store_key .client_id .region .profiles

    One AdsAuth per login, shared by every `auth_for` view of its profiles, so a thousand
    profiles under one login cost one refresh per expiry.
    """

    def __init__(self, store: TokenStore | None = None, **overrides: Any) -> None:
        super().__init__(store, self._build, overrides)
        self._auths: dict[str, AdsAuth] = {}

    def auth(
        self,
        store_key: str | None = None,
        *,
        profile_id: int | str | None = None,
        **overrides: Any,
    ) -> AdsAuth:
        """An AdsAuth for the login meant; keyword arguments as in the constructor
        override what is stored.

        Raises: NoTokenError, ConfigurationError (see `get`)."""
        settings = {**self._overrides, **overrides}
        login = self.get(store_key, client_id=settings.get("client_id"), profile_id=profile_id)
        base = self._cached(login, settings)
        return base.with_profile(profile_id) if profile_id is not None else base

    def auth_for(self, profile_id: int | str) -> AdsAuth:
        """The AdsAuth view for `profile_id`, from the login that owns it."""
        return self.auth(profile_id=profile_id)

    def close(self) -> None:
        for auth in self._auths.values():
            auth.close()

    def _cached(self, login: Login, overrides: Mapping[str, Any]) -> AdsAuth:
        kept = sorted(
            (k, repr(v)) for k, v in overrides.items() if k not in ("profile_id", "store")
        )
        cache_key = f"{login.key}|{kept!r}"
        auth = self._auths.get(cache_key)
        if auth is None:
            auth = self._auths[cache_key] = AdsAuth(**self.settings(login, overrides))
        return auth

    def _auth_of(self, login: Login, overrides: Mapping[str, Any]) -> requests.auth.AuthBase:
        return self._cached(login, overrides)

    @staticmethod
    def _build(settings: dict[str, Any]) -> requests.auth.AuthBase:
        return AdsAuth(**settings)
