"""ConsentFlow: "Connect your Amazon Ads account" for a web app, with no web framework.

`begin()` is pure: a consent URL and the signed cookie that binds it to this browser.
`complete()` does the I/O around the checks of `_checks`: the code exchange (at once: codes
live 5 minutes and work once), the profile lookup, and the grant and its login record saved
under the tenant's store key exactly as `amazon-ads-auth login --store-key TENANT` saves
them. The Starlette and Flask adapters are thin layers over these two calls.
"""

from __future__ import annotations

import datetime
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from .._auth.settings import profile_text, require_number, require_text
from .._errors import ConfigurationError
from .._logins.records import Login
from .._lwa.consent import DEFAULT_SCOPE, build_authorization_request, normalize_scope
from .._redact import Secret, SecretBytes, printable
from .._refresh.events import (
    EXPIRING_WITHIN,
    GrantConnected,
    GrantDisconnected,
    OnEvent,
    check_on_event,
    deliver,
)
from .._regions import Region
from .._stores.base import LoginRecordStore, TokenStore
from .._stores.keys import GrantKey
from .._urls import require_secure_url
from ._checks import (
    check_callback,
    checked_cookie_name,
    is_loopback_http,
    safe_return_to,
    secret_key_bytes,
    tenant_id,
)
from ._cookie import ConsentState, DoneState, derive_verifier, seal, unseal
from ._done import completed_consent, done_marker
from ._exchange import exchange_code as _exchange
from ._expiring import ExpiringTenant, expiring_tenants
from ._owners import ProfileOwners
from ._pages import plural
from ._tenants import TenantView, exists, forget_legacy, legacy_of, migrate_tenant
from ._values import ANY_TENANT, AnyTenant, ConsentResult, ConsentStart, cookie_header

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
        on_event: OnEvent | None = None,
    ) -> None:
        """`on_event` hears GrantConnected, GrantDisconnected and the code exchanges.

        Raises: ConfigurationError naming the first argument that is not usable."""
        # Secrets first, wrapped and out of this frame's locals (no traceback carries them).
        try:
            self._client_secret = Secret(require_text("client_secret", client_secret, None))
            self._key = SecretBytes(secret_key_bytes(secret_key))
        finally:
            del client_secret, secret_key
        self.client_id = require_text("client_id", client_id, None, header=True)
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
        # Which tenants' records list a profile: auth() refuses another tenant's at once.
        self._owners = ProfileOwners(self.store, self.client_id)
        self._on_event = check_on_event(on_event)

    def __repr__(self) -> str:
        # getattr: an error tracker may show a flow whose __init__ raised half-way.
        region = getattr(getattr(self, "region", None), "value", None)
        return (
            f"ConsentFlow(client_id={getattr(self, 'client_id', None)!r}, "
            f"redirect_uri={getattr(self, 'redirect_uri', None)!r}, region={region!r})"
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
        scope_text = self.scope if scope is None else normalize_scope(scope)
        state = secrets.token_urlsafe(24)
        url = build_authorization_request(  # the verifier made inside: no frame keeps it
            self._authorization_url or chosen.authorization_url,
            self.client_id,
            self.redirect_uri,
            scope_text,
            state=state,
            code_verifier=derive_verifier(self._key, state).value,
        ).url
        consent = ConsentState(
            state=state,
            tenant=tenant,
            region=chosen.value,
            scope=scope_text,
            return_to=safe_return_to(return_to),
            expires_at=self._clock() + self.cookie_max_age,
            client_id=self.client_id,
        )
        return ConsentStart(
            url=url,
            cookie_name=self.cookie_name,
            cookie_value=seal(consent, self._key),
            cookie_max_age=self.cookie_max_age,
            secure=self.secure_cookie,
            tenant=tenant,
            region=chosen.value,
        )

    def complete(
        self, callback_url: str, cookie_value: str | None, *, tenant: str | int | AnyTenant
    ) -> ConsentResult:
        """Check the callback against the cookie, exchange the code, fetch the profiles and
        save the grant with its login record under the tenant's store key. `tenant` (no
        default) is the tenant signed in now: a consent started by another is refused.
        `tenant=ANY_TENANT` skips that check, for an app with no sign-in at all (see
        `ANY_TENANT` for the risk). Nothing is saved unless every check passed and the
        exchange succeeded.

        Raises: ConfigurationError (an unusable tenant id; a URL with no code),
        ConsentError (no, forged or expired cookie; another tenant), StateMismatchError,
        AuthorizationDeniedError, InvalidGrantError (the code expired or was used),
        TokenRequestError, TokenEndpointError, StoreError."""
        signed_in = None if tenant is ANY_TENANT else tenant_id(tenant)
        consent = unseal(cookie_value, self._key, now=self._clock(), client_id=self.client_id)
        code = check_callback(callback_url, consent, signed_in)
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
            "client_secret": self._client_secret,  # a Secret: unwrapped inside connect()
            "region": region,
            "token_url": self._token_url,
            "authorization_url": self._authorization_url,
            "api_hosts": [api_url] if self._api_url else None,
            "clock": self._clock,
            "on_event": self._on_event,  # the exchange's TokenExchanged
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
            "connected tenant %r: %s", consent.tenant, plural(len(login.profiles), "profile")
        )
        self._owners.remember(consent.tenant, login.key, [p.profile_id for p in login.profiles])
        event = GrantConnected(login.key, region.value, "web", len(login.profiles))
        deliver(event, self._on_event)
        return ConsentResult(
            login=login, tenant=consent.tenant, return_to=consent.return_to, state=consent.state
        )

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
            deliver(GrantDisconnected(str(key), "web"), self._on_event)
        return existed

    def expiring(self, within: datetime.timedelta = EXPIRING_WITHIN) -> list[ExpiringTenant]:
        """The tenants whose consent ends within `within` (or has ended), soonest first,
        with the days left: ask them to reconnect (`begin(tenant)` again re-consents).

        Raises: ConfigurationError when the store cannot list its grants; StoreError."""
        return expiring_tenants(self.store, self.client_id, within, self._clock())

    def auth(self, tenant: str | int, *, profile_id: int | str | None = None) -> AdsAuth:
        """The AdsAuth of a connected tenant (a view for `profile_id` if given).

        Raises: NoTokenError when the tenant is not connected; ConfigurationError when the
        tenant's grant has no such profile (the message names no other tenant, and a
        profile known to be another tenant's costs no Ads API call)."""
        self._owners.refuse_foreign(tenant_id(tenant), profile_id)
        from .._auth.adsauth import AdsAuth
        from .._logins.resolve import resolve

        key = GrantKey.tenant(self.client_id, tenant_id(tenant))
        self.migrate_tenant(tenant)
        # The tenant's record and this flow's own settings only: no AMAZON_ADS_* variable
        # of the server process applies to a tenant (its region is the one it consented in).
        arguments = {
            "store_key": key.store_key,
            "profile_id": profile_text(profile_id),
            "client_id": self.client_id,
            "client_secret": self._client_secret.value,
            "clock": self._clock,
        }
        found = resolve(
            arguments, store=self.store, make_auth=AdsAuth._from_resolved, environment=False
        )
        return AdsAuth._from_resolved(found)

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
        from .._auth.directory import LoginDirectory

        return LoginDirectory(
            TenantView(self.store, self.client_id),
            client_id=self.client_id,
            client_secret=self._client_secret.value,
        )

    def clear_cookie_header(self) -> str:
        """A Set-Cookie value that removes the consent cookie (send it from the callback)."""
        return cookie_header(self.cookie_name, "", 0, self.secure_cookie)

    @property
    def done_cookie_name(self) -> str:
        """The name of the "done" marker cookie: `cookie_name` + "_done"."""
        return self.cookie_name + "_done"

    def done_cookie_header(self, result: ConsentResult) -> str:
        """A Set-Cookie value for the "done" marker of a completed consent (send it from
        the callback with `clear_cookie_header()`; see `_done`). `completed()` reads it."""
        expires_at = self._clock() + self.cookie_max_age
        value = done_marker(result, self.store, self._key, expires_at, self.client_id)
        return cookie_header(self.done_cookie_name, value, self.cookie_max_age, self.secure_cookie)

    def completed(
        self, done_cookie: str | None, tenant: str | int, callback_url: str | None = None
    ) -> DoneState | None:
        """The consent this browser completed, if its "done" marker is genuine and recent,
        names `tenant` (signed in now) and `callback_url`'s `state` (if given), and the
        tenant's grant is still the one it saved; else None (the page is "start again")."""
        now, client_id = self._clock(), self.client_id
        return completed_consent(
            done_cookie, tenant_id(tenant), callback_url, self.store, self._key, now, client_id
        )
