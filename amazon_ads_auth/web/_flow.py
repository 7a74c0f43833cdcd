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
from typing import TYPE_CHECKING

from .._auth.settings import require_number, require_text
from .._errors import ConfigurationError, InvalidGrantError
from .._logins.records import Login
from .._lwa.consent import DEFAULT_SCOPE, build_authorization_request, normalize_scope
from .._redact import Secret, printable
from .._regions import Region
from .._stores.base import LoginRecordStore, TokenStore
from .._stores.keys import GrantKey
from .._token import Token
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
from ._tenants import TenantView, exists, forget_legacy, legacy_of, migrate_tenant
from ._values import ConsentResult, ConsentStart, cookie_header

if TYPE_CHECKING:  # loaded by the calls that use them: begin() needs no HTTP library
    from .._auth.adsauth import AdsAuth
    from .._logins.directory import LoginDirectory

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
        from .._auth.connect import connect

        region = Region.parse(consent.region)
        api_url = self._api_url or region.api_url
        key = GrantKey.tenant(self.client_id, consent.tenant)
        login = Login(
            client_id=self.client_id,
            store_key=key.store_key,
            region=region.value,
            scope=consent.scope,
            token_url=self._token_url or region.token_url,
            authorization_url=self._authorization_url or region.authorization_url,
            api_url=api_url,
            client_secret=self._client_secret.value if self._save_secret else None,
        )
        settings = {
            "client_id": self.client_id,
            "client_secret": self._client_secret.value,
            "region": region,
            "token_url": self._token_url,
            "authorization_url": self._authorization_url,
            "api_hosts": [api_url] if self._api_url else None,
            "clock": self._clock,
        }
        verifier = derive_verifier(self._key, consent.state)
        connected = connect(
            settings,
            lambda auth: _exchange(auth, code, self.redirect_uri, verifier),
            login if self._fetch_profiles else login.without_profiles(),
            self.store,
            api_url=api_url,
            fetch=self._fetch_profiles,
        )
        forget_legacy(self.store, key)
        login = connected.login
        if connected.profiles_error is not None:
            logger.warning(
                "connected tenant %r, but its profiles could not be fetched (%s); the grant is "
                "saved with its profiles unknown: refresh them later with "
                "LoginDirectory.refresh_profiles",
                consent.tenant,
                connected.profiles_error,
            )
        logger.info(
            "connected tenant %r: %d advertising profiles", consent.tenant, len(login.profiles)
        )
        return ConsentResult(login=login, tenant=consent.tenant, return_to=consent.return_to)

    def disconnect(self, tenant: str | int) -> bool:
        """Delete the tenant's grant and login record, even one that cannot be read (it is
        not loaded); True if there was one. (Amazon keeps the consent until the user removes
        the app at amazon.com.)

        Raises: ConfigurationError for an unusable tenant id; StoreError."""
        key = GrantKey.tenant(self.client_id, tenant_id(tenant))
        existed = False
        for where in (key, legacy_of(key)):
            if where is None:
                continue
            with self.store.lock(str(where)):
                existed = exists(self.store, str(where)) or existed
                self.store.delete(str(where))
        if existed:
            logger.info("disconnected tenant %r", printable(str(tenant)))
        return existed

    def auth(self, tenant: str | int, *, profile_id: int | str | None = None) -> AdsAuth:
        """The AdsAuth of a connected tenant (a view for `profile_id` if given).

        Raises: NoTokenError when the tenant is not connected."""
        from .._auth.adsauth import AdsAuth

        key = GrantKey.tenant(self.client_id, tenant_id(tenant))
        self.migrate_tenant(tenant)
        return AdsAuth.from_login(
            key.store_key,
            store=self.store,
            profile_id=profile_id,
            client_id=self.client_id,
            client_secret=self._client_secret.value,
            clock=self._clock,
        )

    def migrate_tenant(self, tenant: str | int) -> bool:
        """Move a tenant's grant that the release before namespaces saved under
        "<client id>/<tenant id>" into the tenants' namespace, in one write under both keys'
        locks; True if one was moved. `auth()`, `complete()` and `disconnect()` do it for
        their tenant; call it for each of your tenant ids to list them all in `directory()`.

        Raises: ConfigurationError for an unusable tenant id; StoreError."""
        return migrate_tenant(self.store, GrantKey.tenant(self.client_id, tenant_id(tenant)))

    def directory(self) -> LoginDirectory:
        """Every connected tenant, and only tenants: a LoginDirectory over the store, with
        this client's id and secret (`for login in flow.directory()`, `.auth_for(profile_id)`).
        Close it when done: it holds an AdsAuth per tenant it was asked for."""
        from .._logins.directory import LoginDirectory

        return LoginDirectory(
            TenantView(self.store, self.client_id),
            client_id=self.client_id,
            client_secret=self._client_secret.value,
        )

    def clear_cookie_header(self) -> str:
        """A Set-Cookie value that removes the consent cookie (send it from the callback)."""
        return cookie_header(self.cookie_name, "", 0, self.secure_cookie)


def _exchange(auth: AdsAuth, code: str, redirect_uri: str, verifier: str) -> Token:
    failure: InvalidGrantError | None = None
    try:
        return auth.fetch_token(code=code, redirect_uri=redirect_uri, code_verifier=verifier)
    except InvalidGrantError as exc:
        failure = InvalidGrantError(
            "Amazon refused the authorization code: it expired or was already used "
            "(codes live 5 minutes and work once); start again from Connect",
            error=exc.error,
            description=exc.description,
            status_code=exc.status_code,
            grant_type=exc.grant_type,
        )
    raise failure
