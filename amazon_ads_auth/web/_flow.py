"""ConsentFlow: "Connect your Amazon Ads account" for a web app, with no web framework.

`begin()` is pure: a consent URL and the signed cookie that binds it to this browser.
`complete()` does the I/O around the checks of `_checks`: the code exchange (at once: codes
live 5 minutes and work once), the profile lookup, and the grant and its login record saved
under the tenant's store key exactly as `amazon-ads-auth login --store-key TENANT` saves
them. The Starlette and Flask adapters are thin layers over these two calls.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

from .._auth.settings import profile_text, require_number, require_text
from .._errors import AdsAuthError, ConfigurationError, InvalidGrantError
from .._logins.records import Login, save_login
from .._lwa.consent import DEFAULT_SCOPE, build_authorization_request, normalize_scope
from .._redact import Secret
from .._regions import Region
from .._stores.base import LoginRecordStore, TokenStore
from .._urls import require_secure_url
from ._checks import (
    check_callback,
    checked_cookie_name,
    is_loopback_http,
    safe_return_to,
    secret_key_bytes,
    tenant_id,
)
from ._cookie import ConsentState, derive_verifier, seal, unseal
from ._values import ConsentResult, ConsentStart, cookie_header

if TYPE_CHECKING:  # loaded by the calls that use them: begin() needs no HTTP library
    from .._auth.adsauth import AdsAuth
    from .._auth.directory import LoginDirectory

logger = logging.getLogger("amazon_ads_auth")

DEFAULT_COOKIE_NAME = "amazon_ads_consent"
DEFAULT_COOKIE_MAX_AGE = 600


class ConsentFlow:
    """Connect tenants' Amazon Ads accounts: `begin()` at Connect, `complete()` at the
    callback, `disconnect()` to forget a tenant's grant. Safe to share between threads."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        store: TokenStore,
        redirect_uri: str,
        secret_key: str | bytes,
        region: Region | str = "na",
        scope: str | Sequence[str] = DEFAULT_SCOPE,
        cookie_name: str = DEFAULT_COOKIE_NAME,
        cookie_max_age: int = DEFAULT_COOKIE_MAX_AGE,
        save_secret: bool = False,
        fetch_profiles: bool = True,
        token_url: str | None = None,
        authorization_url: str | None = None,
        api_url: str | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """Raises: ConfigurationError naming the first argument that is not usable."""
        self.client_id = require_text("client_id", client_id, None, header=True)
        self._client_secret = Secret(require_text("client_secret", client_secret, None))
        if not isinstance(store, LoginRecordStore):
            raise ConfigurationError(
                f"store must keep login records beside grants (MemoryTokenStore, "
                f"FileTokenStore, KeyringTokenStore, RedisTokenStore do), got "
                f"{type(store).__name__}"
            )
        self.store: TokenStore = store
        if not isinstance(redirect_uri, str) or "://" not in redirect_uri:
            raise ConfigurationError(
                "redirect_uri must be the absolute URL of the callback route, registered as "
                f"an Allowed Return URL of the client, got {redirect_uri!r}"
            )
        self.redirect_uri = require_secure_url(redirect_uri, "redirect_uri")
        self._key = secret_key_bytes(secret_key)
        self.region = Region.parse(region)
        self.scope = normalize_scope(scope)
        self.cookie_name = checked_cookie_name(cookie_name)
        self.cookie_max_age = int(require_number("cookie_max_age", cookie_max_age, minimum=1))
        self.secure_cookie = not is_loopback_http(self.redirect_uri)
        self._save_secret = bool(save_secret)
        self._fetch_profiles = bool(fetch_profiles)
        self._token_url = token_url and require_secure_url(token_url, "token_url")
        self._authorization_url = authorization_url and require_secure_url(
            authorization_url, "authorization_url"
        )
        self._api_url = api_url and require_secure_url(api_url, "api_url").rstrip("/")
        self._clock = clock or time.time

    def __repr__(self) -> str:
        return (
            f"ConsentFlow(client_id={self.client_id!r}, redirect_uri={self.redirect_uri!r}, "
            f"region={self.region.value!r})"
        )

    def begin(
        self,
        tenant: str | int,
        *,
        return_to: str | None = None,
        region: Region | str | None = None,
        scope: str | Sequence[str] | None = None,
    ) -> ConsentStart:
        """The consent URL for `tenant` and the cookie that binds it to this browser. No
        I/O. `return_to` is kept only if it is a path on this app.

        Raises: ConfigurationError for a tenant id no store can hold, an unknown region
        or an empty scope."""
        tenant = tenant_id(tenant)
        chosen = self.region if region is None else Region.parse(region)
        state = secrets.token_urlsafe(24)
        request = build_authorization_request(
            self._authorization_url or chosen.authorization_url,
            self.client_id,
            self.redirect_uri,
            self.scope if scope is None else scope,
            state=state,
            code_verifier=derive_verifier(self._key, state),
        )
        consent = ConsentState(
            state=state,
            tenant=tenant,
            region=chosen.value,
            scope=request.scope,
            return_to=safe_return_to(return_to),
            expires_at=self._clock() + self.cookie_max_age,
            client_id=self.client_id,
        )
        return ConsentStart(
            url=request.url,
            cookie_name=self.cookie_name,
            cookie_value=seal(consent, self._key),
            cookie_max_age=self.cookie_max_age,
            secure=self.secure_cookie,
            tenant=tenant,
            region=chosen.value,
        )

    def complete(
        self, callback_url: str, cookie_value: str | None, *, tenant: str | int | None = None
    ) -> ConsentResult:
        """Check the callback against the cookie, exchange the code, fetch the profiles and
        save the grant with its login record under the tenant's store key. `tenant` is the
        tenant signed in now: a consent started by another is refused. Nothing is saved
        unless every check passed and the exchange succeeded.

        Raises: ConsentError (no, forged or expired cookie; another tenant),
        StateMismatchError, AuthorizationDeniedError, InvalidGrantError (the code expired
        or was used), TokenRequestError, TokenEndpointError, StoreError."""
        consent = unseal(cookie_value, self._key, now=self._clock(), client_id=self.client_id)
        if tenant is not None:
            tenant = tenant_id(tenant)
        code = check_callback(callback_url, consent, tenant)
        from .._auth.adsauth import AdsAuth

        region = Region.parse(consent.region)
        api_url = self._api_url or region.api_url
        auth = AdsAuth(
            self.client_id,
            self._client_secret.value,
            region=region,
            store=self.store,
            store_key=consent.tenant,
            token_url=self._token_url,
            authorization_url=self._authorization_url,
            api_hosts=[api_url] if self._api_url else None,
        )
        try:
            _exchange(auth, code, self.redirect_uri, derive_verifier(self._key, consent.state))
            login = Login(
                client_id=self.client_id,
                store_key=consent.tenant,
                region=region.value,
                scope=consent.scope,
                token_url=self._token_url or region.token_url,
                authorization_url=self._authorization_url or region.authorization_url,
                api_url=api_url,
                client_secret=self._client_secret.value if self._save_secret else None,
            )
            login = login.with_profiles(self._profiles(auth, api_url, consent.tenant))
            save_login(self.store, login)
        finally:
            auth.close()
        logger.info(
            "connected tenant %r: %d advertising profiles", consent.tenant, len(login.profiles)
        )
        return ConsentResult(login=login, tenant=consent.tenant, return_to=consent.return_to)

    def disconnect(self, tenant: str | int) -> bool:
        """Delete the tenant's grant and login record; True if there was one. (Amazon
        keeps the consent until the user removes the app at amazon.com.)

        Raises: ConfigurationError for an unusable tenant id; StoreError."""
        key = f"{self.client_id}/{tenant_id(tenant)}"
        records = cast(LoginRecordStore, self.store)  # checked in __init__
        with self.store.lock(key):
            existed = self.store.load(key) is not None or records.load_login(key) is not None
            self.store.delete(key)
        if existed:
            logger.info("disconnected tenant %r", tenant)
        return existed

    def auth(self, tenant: str | int, *, profile_id: int | str | None = None) -> AdsAuth:
        """The AdsAuth of a connected tenant (a view for `profile_id` if given).

        Raises: NoTokenError when the tenant is not connected."""
        from .._auth.adsauth import AdsAuth
        from .._logins.resolve import resolve

        # The tenant's record and this flow's own settings only: no AMAZON_ADS_* variable
        # of the server process applies to a tenant (its region is the one it consented in).
        arguments = {
            "store_key": tenant_id(tenant),
            "profile_id": profile_text(profile_id),
            "client_id": self.client_id,
            "client_secret": self._client_secret.value,
        }
        found = resolve(
            arguments, store=self.store, make_auth=AdsAuth._from_resolved, environment=False
        )
        return AdsAuth._from_resolved(found)

    def directory(self) -> LoginDirectory:
        """Every connected tenant: a LoginDirectory over the store, with this client's id
        and secret (`for login in flow.directory()`, `.auth_for(profile_id)`). Close it
        when done: it holds an AdsAuth per tenant it was asked for."""
        from .._auth.directory import LoginDirectory

        return LoginDirectory(
            self.store, client_id=self.client_id, client_secret=self._client_secret.value
        )

    def clear_cookie_header(self) -> str:
        """A Set-Cookie value that removes the consent cookie (send it from the callback)."""
        return cookie_header(self.cookie_name, "", 0, self.secure_cookie)

    def _profiles(self, auth: AdsAuth, api_url: str, tenant: str) -> list[dict[str, Any]]:
        if not self._fetch_profiles:
            return []
        from .._logins.profiles import fetch_profiles

        try:
            return fetch_profiles(auth, api_url)
        except AdsAuthError as exc:
            logger.warning(
                "connected tenant %r, but its profiles could not be fetched (%s); the grant is "
                "saved: refresh them later with LoginDirectory.refresh_profiles",
                tenant,
                exc,
            )
            return []


def _exchange(auth: AdsAuth, code: str, redirect_uri: str, verifier: str) -> None:
    failure: InvalidGrantError | None = None
    try:
        auth.fetch_token(code=code, redirect_uri=redirect_uri, code_verifier=verifier)
    except InvalidGrantError as exc:
        failure = InvalidGrantError(
            "Amazon refused the authorization code: it expired or was already used "
            "(codes live 5 minutes and work once); start again from Connect",
            error=exc.error,
            description=exc.description,
            status_code=exc.status_code,
            grant_type=exc.grant_type,
        )
    if failure is not None:
        raise failure
