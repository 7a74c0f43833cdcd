"""LoginDirectory: every login in a store, and an AdsAuth for each.

It lives with AdsAuth because it builds them; the choice of login is `_logins.resolve`'s
`LoginLookup`, which the directory *has* (its `find`, `owners` and the resolved settings,
with the plain secret at the constructor's door, stay private to it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import requests

from .._logins.records import Login
from .._logins.resolve import Given, LoginLookup, ResolvedLogin, replace_profile
from .._refresh.events import OnEvent, check_on_event
from .._stores.base import TokenStore
from .adsauth import AdsAuth
from .settings import profile_text

# A directory routes by profile itself: AMAZON_ADS_STORE_KEY / _PROFILE_ID do not apply.
_DIRECTORY_ENV = ("client_id", "client_secret", "region")


class LoginDirectory:
    """Every login in a store, and the AdsAuth of each: the way to run one script over every
    advertiser an agency manages.

        logins = LoginDirectory()            # AMAZON_ADS_TOKEN_STORE, else the CLI's store
        auth = logins.auth_for(profile_id)   # the login that owns this profile
        for login in logins: ...             # .store_key .client_id .region .profiles

    One AdsAuth per login, shared by every `auth_for` view of its profiles, so a thousand
    profiles under one login cost one refresh per expiry. Profiles are found through an
    index of the records, and each view is made once. Keyword arguments are AdsAuth's;
    AMAZON_ADS_CLIENT_ID, _CLIENT_SECRET and _REGION apply as everywhere (see `_resolve`).
    Demo logins (`--emulator`) are left out unless `demo=True` (`Sandbox.login_kwargs()`);
    with `demo=True` and no store, they are read from the sandbox's demo folder.
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
        self._lookup = LoginLookup(store, self._auth_of, given, demo=demo)
        self._overrides = overrides
        self._auths: dict[str, AdsAuth] = {}
        self._views: dict[str, AdsAuth] = {}  # profile id -> its view

    def __repr__(self) -> str:
        return f"LoginDirectory(store={self.store!r})"

    @property
    def store(self) -> TokenStore:
        return self._lookup.store

    @property
    def demo(self) -> bool:
        return self._lookup.demo

    def __iter__(self) -> Iterator[Login]:
        return iter(self._lookup.logins())

    def __len__(self) -> int:
        return len(self._lookup.logins())

    def logins(self) -> list[Login]:
        """The logins of the store (read once)."""
        return self._lookup.logins()

    def auth(
        self,
        store_key: str | None = None,
        *,
        profile_id: int | str | None = None,
        **overrides: Any,
    ) -> AdsAuth:
        """An AdsAuth for the login meant; keyword arguments as in the constructor
        override what is stored.

        Raises: NoTokenError when there is no login; ConfigurationError when the choice is
        ambiguous, no login owns the profile, or no client secret is known."""
        profile = profile_text(profile_id)
        given = self._lookup.given
        if overrides:
            given = Given.from_arguments({**self._overrides, **overrides}, env_names=_DIRECTORY_ENV)
        given = dataclasses.replace(given, store_key=store_key, profile_id=profile)
        resolved = self._lookup.resolve(given)
        base = self._cached(resolved, overrides)
        return base.with_profile(profile) if profile is not None else base

    def auth_for(self, profile_id: int | str) -> AdsAuth:
        """The AdsAuth view for `profile_id`, from the login that owns it.

        Raises: ConfigurationError when no login, or more than one, owns it."""
        key = str(profile_id)
        view = self._views.get(key)
        if view is None:
            owners = [
                x
                for x in self._lookup.owners(key)
                if self._lookup.given.client_id in (None, x.client_id)
            ]
            if len(owners) == 1:  # the index answers: no search, no API call
                resolved = self._lookup.resolved_for(
                    owners[0], replace_profile(self._lookup.given, None)
                )
                view = self._cached(resolved, {}).with_profile(key)
            else:
                view = self.auth(profile_id=profile_id)
            self._views[key] = view
        return view

    def refresh_profiles(self, login: Login) -> Login:
        """Fetch `GET /v2/profiles` for `login` and update its record.

        Raises: ConfigurationError when the login cannot be used or the API refuses."""
        self._views.clear()  # a profile may have moved to another login
        return self._lookup.refresh_profiles(login)

    def close(self) -> None:
        """Close the AdsAuth objects made so far (their private HTTP clients)."""
        for auth in self._auths.values():
            auth.close()

    def __enter__(self) -> LoginDirectory:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _cached(self, resolved: ResolvedLogin, overrides: dict[str, Any]) -> AdsAuth:
        """The one AdsAuth of a login (per set of overrides), made on first use."""
        kept = sorted(
            (k, repr(v)) for k, v in overrides.items() if k not in ("profile_id", "store")
        )
        login_key = resolved.login.key if resolved.login is not None else resolved.client_id
        cache_key = f"{login_key}|{kept!r}"
        auth = self._auths.get(cache_key)
        if auth is None:
            auth = self._auths[cache_key] = AdsAuth._from_resolved(resolved.without_profile())
        return auth

    def _auth_of(self, resolved: ResolvedLogin) -> requests.auth.AuthBase:
        return self._cached(resolved, {})
