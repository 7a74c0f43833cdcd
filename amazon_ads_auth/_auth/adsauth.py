"""AdsAuth: the public auth object, a thin adapter for requests and httpx (sync and async).

It only translates: set headers on Ads API hosts, look at the response, replay once on 401.
Every decision about tokens is the TokenManager's (`_manager`).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator, Iterable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import requests

from .._limits import DEFAULT_REFRESH_DEADLINE, DEFAULT_REFRESH_MARGIN
from .._logins.migrate import settings_from_oauth2_session
from .._logins.resolve import ResolvedLogin, resolve, resolve_env
from .._lwa.consent import DEFAULT_SCOPE, AuthorizationRequest, build_authorization_request
from .._lwa.messages import code_exchange_request
from .._refresh.events import OnEvent
from .._regions import Region
from .._stores.base import TokenStore
from .._token import Token
from .compat import httpx2_class
from .httpx_replay import HttpxRequest, after_replay, prepare_replay, rejected
from .requests_hooks import ResponseHook
from .settings import AuthSettings, profile_text

CLIENT_ID_HEADER = "Amazon-Advertising-API-ClientId"
SCOPE_HEADER = "Amazon-Advertising-API-Scope"
ACCOUNT_HEADER = "Amazon-Ads-AccountId"

# Ads API v1 (/adsApi/...) names the client id header Amazon-Ads-ClientId in its OpenAPI
# specification; it is added there, besides the classic one.
ADS_CLIENT_ID_HEADER = "Amazon-Ads-ClientId"
_ADS_CLIENT_ID_RAW = ADS_CLIENT_ID_HEADER.lower().encode()
_V1_PATH = "/adsApi/"
_V1_RAW_PATH = _V1_PATH.encode()


_R = TypeVar("_R", bound=HttpxRequest)


class AdsAuth(requests.auth.AuthBase, httpx.Auth):
    """Authentication for the Amazon Ads API, for requests and httpx (sync and async).

    `requests.get(url, auth=auth)`, `httpx.Client(auth=auth)`, `httpx.AsyncClient(auth=auth)`,
    and the same with httpx2 when it is installed (one flow serves both).
    Adds `Authorization: Bearer ...`, the ClientId header and, when configured, the profile
    Scope / AccountId headers, but only for the hosts in `api_hosts`. Refreshes before expiry
    and once after a 401, with one token request however many threads and tasks share it.

    Token requests go straight to `token_url` on a connection of their own, never through
    your session; `token_transport=` (an httpx transport) sends them another way, such as
    the emulator's in-process one in unit tests.
    """

    requires_request_body = False
    requires_response_body = False

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        refresh_token: str | None = None,
        *,
        region: Region | str = "na",
        profile_id: int | str | None = None,
        account_id: str | None = None,
        store: TokenStore | None = None,
        store_key: str = "default",
        api_hosts: Iterable[str] | None = None,
        token_url: str | None = None,
        authorization_url: str | None = None,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        timeout: float = 10.0,
        max_retries: int = 3,
        retry_backoff: float = 0.5,
        refresh_deadline: float = DEFAULT_REFRESH_DEADLINE,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        on_new_token: Callable[[Token], None] | None = None,
        token_transport: httpx.BaseTransport | None = None,
        on_event: OnEvent | None = None,
    ) -> None:
        """`on_event` receives this grant's lifecycle events (TokenRefreshed,
        RefreshFailed, GrantExpiring, ...) after the locks are released.

        Raises: ConfigurationError naming the first argument that is not usable."""
        # An httpx2.Auth too when httpx2 is installed: see _auth/compat.py.
        self.__class__ = httpx2_class(type(self))
        settings = AuthSettings.check(
            client_id,
            client_secret,
            refresh_token,
            region=region,
            profile_id=profile_id,
            account_id=account_id,
            store=store,
            store_key=store_key,
            api_hosts=api_hosts,
            token_url=token_url,
            authorization_url=authorization_url,
            refresh_margin=refresh_margin,
            timeout=timeout,
            max_retries=max_retries,
            retry_backoff=retry_backoff,
            refresh_deadline=refresh_deadline,
            clock=clock,
            sleep=sleep,
            on_new_token=on_new_token,
            token_transport=token_transport,
            on_event=on_event,
        )
        self._settings = settings
        self.region = settings.region
        self.client_id = settings.client_id
        self._hosts = settings.hosts
        self._prefixes = self._hosts.prefixes
        self._manager = settings.token_manager()
        self._set_headers(settings.profile_id, settings.account_id)

    def _set_headers(self, profile_id: str | None, account_id: str | None) -> None:
        self.profile_id = profile_id
        self.account_id = account_id
        static = [(CLIENT_ID_HEADER, self.client_id)]
        if profile_id is not None:
            static.append((SCOPE_HEADER, profile_id))
        if account_id is not None:
            static.append((ACCOUNT_HEADER, account_id))
        self._static_headers = tuple(static)
        self._static_headers_lower = tuple((n, n.lower(), v) for n, v in static)
        self._static_headers_raw = tuple((n, n.lower().encode(), v) for n, v in static)
        # Which view a 401 came from: "a refresh did not cure it" is remembered per view.
        self._scope = None if len(static) == 1 else "|".join(v for _, v in static[1:])
        names = (*(n for n, _ in static), ADS_CLIENT_ID_HEADER)
        self._hook = ResponseHook(self._manager, self._hosts, self._scope, names)

    def __repr__(self) -> str:
        return (
            f"AdsAuth(client_id={self.client_id!r}, region={self.region.value!r}, "
            f"profile_id={self.profile_id!r}, account_id={self.account_id!r}, "
            f"store={self._manager.store!r}, key={self._manager.key!r})"
        )

    # ----- construction helpers ---------------------------------------------------------

    @classmethod
    def from_env(cls, **overrides: Any) -> AdsAuth:
        """An AdsAuth from AMAZON_ADS_CLIENT_ID, _CLIENT_SECRET, _REFRESH_TOKEN, _REGION,
        _PROFILE_ID, _STORE_KEY and _TOKEN_STORE (a URL for `open_store`); keyword arguments
        override (and add to) what the environment says. Without a refresh token it uses
        the stored login (of that client id, when one is set), exactly as the CLI does.

        Raises: ConfigurationError for a missing or bad setting; NoTokenError when no login
        is stored."""
        return cls._from_resolved(resolve_env(overrides, cls._from_resolved))

    @classmethod
    def from_login(
        cls,
        store_key: str | None = None,
        *,
        store: TokenStore | None = None,
        profile_id: int | str | None = None,
        **overrides: Any,
    ) -> AdsAuth:
        """The AdsAuth of a login stored by `amazon-ads-auth login`: the one named
        `store_key`, else the one that owns `profile_id`, else the one named "default", else
        the only one. `store` defaults to AMAZON_ADS_TOKEN_STORE, else the CLI's store.
        Keyword arguments (as in the constructor) and AMAZON_ADS_* variables override what
        is stored; a secret is only used with the client id it was given with. Demo
        logins (`--emulator`) are skipped unless `demo=True` (`Sandbox.login_kwargs()`).

        Raises: NoTokenError when there is no login; ConfigurationError when the choice is
        ambiguous, no login owns the profile, or no client secret is known."""
        arguments = {**overrides, "store_key": store_key, "profile_id": profile_id}
        demo = bool(arguments.pop("demo", False))
        found = resolve(arguments, store=store, make_auth=cls._from_resolved, demo=demo)
        return cls._from_resolved(found)

    @classmethod
    def _from_resolved(cls, resolved: ResolvedLogin) -> AdsAuth:
        """The AdsAuth of a resolved login (`_logins.resolve`): the one place a chosen
        login becomes an auth, for `from_login`, `from_env`, `LoginDirectory`, the CLI and
        the web flow.

        Raises: ConfigurationError naming the first setting that is not usable."""
        return cls(**resolved.auth_kwargs())

    @classmethod
    def from_oauth2_session(cls, session: Any, **overrides: Any) -> AdsAuth:
        """An AdsAuth from a requests-oauthlib `OAuth2Session` (client id, token,
        `auto_refresh_url`, the secret in `auto_refresh_kwargs`); its `token_updater` is
        handed every new token too. No new login, no token request while the token is
        valid.

        Raises: ConfigurationError when the session has no token or no client secret."""
        settings, token = settings_from_oauth2_session(session, **overrides)
        auth = cls(**settings)
        auth.import_token(token)
        return auth

    def sends_token_to(self, url: str) -> bool:
        """Whether a request for `url` gets this auth's token and Ads headers (an Ads API
        host it is meant for), as opposed to being left alone (S3, any other host)."""
        try:
            parts = urlsplit(url)
            host, port = parts.hostname, parts.port
        except ValueError:
            return False
        return host is not None and self._hosts.matches(parts.scheme, host, port)

    def with_profile(self, profile_id: int | str | None) -> AdsAuth:
        """A view of this auth with another Scope header; it shares the token, locks and
        store, so switching profiles never costs a token request."""
        view = object.__new__(type(self))  # copy.copy without its __reduce_ex__ detour
        view.__dict__.update(self.__dict__)
        view._set_headers(profile_text(profile_id), self.account_id)
        return view

    # ----- token access ------------------------------------------------------------------

    @property
    def token(self) -> Token | None:
        """The token held in memory (fresh or not), without any I/O."""
        return self._manager.token

    def ensure_token(self) -> Token:
        """A valid token. Inside the refresh margin this is the current one, returned at
        once while a background refresh replaces it; once expired, it waits for a refresh.

        Raises: NoTokenError (no grant, or it was removed: log in), TokenRequestError and its
        subclasses (LwA refused: InvalidGrantError means log in again), TokenEndpointError
        (LwA unreachable), StoreError."""
        return self._manager.ensure()

    async def async_ensure_token(self) -> Token:
        """`ensure_token` without blocking the event loop.

        Raises: as `ensure_token`."""
        return await self._manager.async_ensure()

    def import_token(self, token: Token | Mapping[str, Any]) -> Token:
        """Start from a token you already have (a `Token`, or a requests-oauthlib / Authlib
        token dict): it is stored under this object's key and used while it is valid.

        Raises: TokenFormatError for a dict that is not a bearer token; StoreError."""
        if not isinstance(token, Token):
            token = Token.from_oauth2_dict(token)
        return self._manager.seed(token)

    def headers(self) -> dict[str, str]:
        """The Ads API headers for a request now (Authorization, ClientId, and Scope /
        AccountId when set), for clients that build their own requests. Refreshes first
        when the token has expired.

        Raises: NoTokenError (no grant, or it was removed: log in), TokenRequestError and its
        subclasses (LwA refused: InvalidGrantError means log in again), TokenEndpointError
        (LwA unreachable), StoreError."""
        header = self._manager.fresh_header() or _bearer(self._manager.ensure())
        return {"Authorization": header, **dict(self._static_headers)}

    async def async_headers(self) -> dict[str, str]:
        """`headers()` without blocking the event loop.

        Raises: as `headers()`."""
        header = self._manager.fresh_header() or _bearer(await self._manager.async_ensure())
        return {"Authorization": header, **dict(self._static_headers)}

    def refresh(self) -> Token:
        """Refresh now, even if the token is fresh. Concurrent callers share one refresh: a
        caller that waited while another refreshed gets that new token.

        Raises: NoTokenError, TokenRequestError, TokenEndpointError, StoreError."""
        return self._manager.refresh()

    # ----- the authorization-code grant ---------------------------------------------------

    def authorization_request(
        self,
        redirect_uri: str,
        *,
        scope: str | Iterable[str] = DEFAULT_SCOPE,
        pkce: bool = True,
    ) -> AuthorizationRequest:
        """A consent URL for the user to open, with fresh `state` and (default) PKCE S256.

        Raises: ConfigurationError for a bad redirect URI or scope."""
        scopes = scope if isinstance(scope, str) else list(scope)
        return build_authorization_request(
            self._settings.authorization_url, self.client_id, redirect_uri, scopes, pkce=pkce
        )

    def fetch_token(
        self,
        *,
        authorization_response: str | None = None,
        request: AuthorizationRequest | None = None,
        code: str | None = None,
        redirect_uri: str | None = None,
        code_verifier: str | None = None,
    ) -> Token:
        """Exchange an authorization code for tokens and store them under this store key.

        Either `authorization_response` (the URL the browser was redirected to) with the
        `request` that made the consent URL, or a bare `code` with its `redirect_uri`.
        Codes live 5 minutes and work once.

        Raises: StateMismatchError, AuthorizationDeniedError, InvalidGrantError (the code
        expired or was used), TokenRequestError, TokenEndpointError, StoreError."""
        return self._manager.save_new_grant(
            code_exchange_request(
                self._settings.token_url,
                self.client_id,
                self._settings.client_secret.value,
                authorization_response=authorization_response,
                request=request,
                code=code,
                redirect_uri=redirect_uri,
                code_verifier=code_verifier,
            )
        )

    def logout(self) -> None:
        """Forget this grant: drop it from memory and delete it from the store.

        Raises: StoreError when the store cannot delete it."""
        self._manager.forget()

    def close(self) -> None:
        """Close the private HTTP client used for token requests."""
        self._manager.close()

    def __enter__(self) -> AdsAuth:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ----- requests ------------------------------------------------------------------------

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        url = r.url
        if url is None or not url.startswith(self._prefixes):
            return r
        header = self._manager.fresh_header() or _bearer(self._manager.ensure())
        headers = r.headers
        headers["Authorization"] = header
        # Membership through the lower-cased store: `name in headers` on requests'
        # CaseInsensitiveDict raises and catches KeyError when absent, the common case.
        present = getattr(headers, "_store", None)
        for name, lowered, value in self._static_headers_lower:
            if (lowered not in present) if present is not None else (name not in headers):
                headers[name] = value
        if _V1_PATH in url and ADS_CLIENT_ID_HEADER not in headers:
            headers[ADS_CLIENT_ID_HEADER] = self.client_id
        # Appended directly: register_hook's isinstance(hook, Callable) is an ABC check.
        r.hooks["response"].append(self._hook)
        return r

    # ----- httpx and httpx2 ------------------------------------------------------------------
    # The two flows differ only in blocking versus awaiting the manager; every decision is
    # in the helpers below. (A single generator driven by both was one frame slower per
    # request, measurably so against the 3 us budget.)

    def sync_auth_flow(self, request: _R) -> Generator[_R, Any, None]:
        if not self._is_api_request(request):
            yield request
            return
        header = self._manager.fresh_header() or _bearer(self._manager.ensure())
        self._apply(request, header)
        response = yield request
        if rejected(response, header):
            token = self._manager.ensure(self._manager.need_after_401(header[7:], self._scope))
            if prepare_replay(request, header, token):
                after_replay((yield request), self._manager, token, self._scope)

    async def async_auth_flow(self, request: _R) -> AsyncGenerator[_R, Any]:
        if not self._is_api_request(request):
            yield request
            return
        header = self._manager.fresh_header() or _bearer(await self._manager.async_ensure())
        self._apply(request, header)
        response = yield request
        if rejected(response, header):
            need = self._manager.need_after_401(header[7:], self._scope)
            token = await self._manager.async_ensure(need)
            if prepare_replay(request, header, token):
                after_replay((yield request), self._manager, token, self._scope)

    def _is_api_request(self, request: HttpxRequest) -> bool:
        url = request.url
        return self._hosts.matches(url.scheme, url.host, url.port)

    def _apply(self, request: HttpxRequest, header: str) -> None:
        headers = request.headers
        # Membership through `raw` (bytes pairs): `name in headers` would first decode every
        # header to learn the encoding, which costs more than everything else we do here.
        present = {key.lower() for key, _ in headers.raw}
        headers["Authorization"] = header
        for name, lowered, value in self._static_headers_raw:
            if lowered not in present:
                headers[name] = value
        if request.url.raw_path.startswith(_V1_RAW_PATH) and _ADS_CLIENT_ID_RAW not in present:
            headers[ADS_CLIENT_ID_HEADER] = self.client_id


def _bearer(token: Token) -> str:
    return "Bearer " + token.access_token
