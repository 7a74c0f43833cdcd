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
from typing import TYPE_CHECKING, Any, cast

from .._auth.settings import require_number, require_text
from .._errors import AdsAuthError, ConfigurationError
from .._logins.records import Login, save_login
from .._lwa.consent import DEFAULT_SCOPE, build_authorization_request, normalize_scope
from .._redact import Secret, SecretBytes
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
from ._values import ANY_TENANT, AnyTenant, ConsentResult, ConsentStart, cookie_header

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
            on_event=self._on_event,
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
            "connected tenant %r: %s", consent.tenant, plural(len(login.profiles), "profile")
        )
        self._owners.remember(consent.tenant, login.key, [p.profile_id for p in login.profiles])
        event = GrantConnected(login.key, region.value, "web", len(login.profiles))
        deliver(event, self._on_event)
        return ConsentResult(
            login=login, tenant=consent.tenant, return_to=consent.return_to, state=consent.state
        )

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
            deliver(GrantDisconnected(key, "web"), self._on_event)
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

        return AdsAuth.from_login(
            tenant_id(tenant),
            store=self.store,
            profile_id=profile_id,
            client_id=self.client_id,
            client_secret=self._client_secret.value,
        )

    def directory(self) -> LoginDirectory:
        """Every connected tenant: a LoginDirectory over the store, with this client's id
        and secret (`for login in flow.directory()`, `.auth_for(profile_id)`). Close it
        when done: it holds an AdsAuth per tenant it was asked for."""
        from .._logins.directory import LoginDirectory

        return LoginDirectory(
            self.store, client_id=self.client_id, client_secret=self._client_secret.value
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
