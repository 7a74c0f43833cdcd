"""AdsAuth: the public auth object, a thin adapter for requests and httpx (sync and async).

It only translates: set headers on Ads API hosts, look at the response, replay once on 401.
Every decision about tokens is the TokenManager's (`_manager`).
"""

from __future__ import annotations

import copy
import time
from collections.abc import AsyncGenerator, Callable, Generator, Iterable, Mapping
from typing import Any, Protocol, TypeVar
from urllib.parse import urljoin, urlsplit

import httpx
import requests
from requests.cookies import extract_cookies_to_jar

from ._compat import Httpx2Auth
from ._errors import ConfigurationError
from ._grant import AuthorizationCodeGrant
from ._limits import DEFAULT_REFRESH_DEADLINE, DEFAULT_REFRESH_MARGIN
from ._manager import TokenManager
from ._regions import ADS_API_HOSTS, Region
from ._settings import (
    account_text,
    deadline_within_lock,
    env_kwargs,
    profile_text,
    require_count,
    require_margin,
    require_number,
    require_text,
)
from ._store import MemoryTokenStore, TokenStore
from ._token import Token
from ._transport import RetryPolicy, TokenTransport
from ._urls import HostScope, require_secure_url

CLIENT_ID_HEADER = "Amazon-Advertising-API-ClientId"
SCOPE_HEADER = "Amazon-Advertising-API-Scope"
ACCOUNT_HEADER = "Amazon-Ads-AccountId"

# Ads API v1 (/adsApi/...) names the client id header Amazon-Ads-ClientId in its OpenAPI
# specification; it is added there, besides the classic one.
ADS_CLIENT_ID_HEADER = "Amazon-Ads-ClientId"
_ADS_CLIENT_ID_RAW = ADS_CLIENT_ID_HEADER.lower().encode()
_V1_PATH = "/adsApi/"
_V1_RAW_PATH = _V1_PATH.encode()

_REPLAYED = "_amazon_ads_auth_replayed"


class _Request(Protocol):
    """What the flow needs of an httpx-style request (httpx and httpx2 alike)."""

    @property
    def url(self) -> Any: ...
    @property
    def headers(self) -> Any: ...
    @property
    def content(self) -> bytes: ...


_R = TypeVar("_R", bound=_Request)


class AdsAuth(AuthorizationCodeGrant, requests.auth.AuthBase, httpx.Auth, Httpx2Auth):
    """Authentication for the Amazon Ads API, for requests and httpx (sync and async).

    `requests.get(url, auth=auth)`, `httpx.Client(auth=auth)`, `httpx.AsyncClient(auth=auth)`,
    and the same with httpx2 when it is installed (one flow serves both).
    Adds `Authorization: Bearer ...`, the ClientId header and, when configured, the profile
    Scope / AccountId headers, but only for the hosts in `api_hosts`. Refreshes before expiry
    and once after a 401, with one token request however many threads and tasks share it.
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
    ) -> None:
        require_text("client_id", client_id, "AMAZON_ADS_CLIENT_ID", header=True)
        require_text("client_secret", client_secret, "AMAZON_ADS_CLIENT_SECRET")
        if refresh_token is not None:
            require_text("refresh_token", refresh_token, "AMAZON_ADS_REFRESH_TOKEN")
        require_text("store_key", store_key, None)
        if isinstance(api_hosts, str):
            raise ConfigurationError("api_hosts must be a list of hosts, not one string")
        margin = require_margin(refresh_margin)
        if store is not None and not isinstance(store, TokenStore):
            raise ConfigurationError(
                f"store must implement load/save/delete/lock, got {type(store).__name__}"
            )
        deadline = require_number("refresh_deadline", refresh_deadline, minimum=0.001)
        policy = RetryPolicy(
            max_retries=require_count(max_retries),
            backoff=require_number("retry_backoff", retry_backoff, minimum=0.0),
            deadline=deadline_within_lock(store, deadline),
        )
        self.region = Region.parse(region)
        self.client_id = client_id
        self._client_secret = client_secret
        self._token_url = require_secure_url(token_url or self.region.token_url, "token_url")
        self._authorization_url = require_secure_url(
            authorization_url or self.region.authorization_url, "authorization_url"
        )
        self._hosts = HostScope(ADS_API_HOSTS if api_hosts is None else api_hosts)
        self._prefixes = self._hosts.prefixes
        clock = clock or time.time
        transport = TokenTransport(
            timeout=require_number("timeout", timeout, minimum=0.001),
            policy=policy,
            clock=clock,
            sleep=sleep or time.sleep,
        )
        self._manager = TokenManager(
            client_id=client_id,
            client_secret=client_secret,
            refresh_token=refresh_token,
            store=store if store is not None else MemoryTokenStore(),
            store_key=store_key,
            token_url=self._token_url,
            refresh_margin=margin,
            transport=transport,
            clock=clock,
        )
        self._set_headers(profile_text(profile_id), account_text(account_id))

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
        override (and add to) what the environment says. Without a client id it falls back
        to `from_login()` (the environment first, then the stored login)."""
        kwargs = env_kwargs(overrides)
        if not kwargs.get("client_id"):
            # No client id in the environment: the login `amazon-ads-auth login` stored.
            kwargs.pop("refresh_token", None)
            return cls.from_login(kwargs.pop("store_key", None), **kwargs)
        return cls(**kwargs)

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
        the only one. `store` defaults to AMAZON_ADS_TOKEN_STORE, else the CLI's store;
        keyword arguments as in the constructor override what is stored."""
        from ._logins import LoginDirectory

        directory = LoginDirectory(store)
        return directory.auth(store_key, profile_id=profile_id, **overrides)

    @classmethod
    def from_oauth2_session(cls, session: Any, **overrides: Any) -> AdsAuth:
        """An AdsAuth from a requests-oauthlib `OAuth2Session` (client id, token,
        `auto_refresh_url`, the secret in `auto_refresh_kwargs`); its `token_updater` is
        handed every new token too. No new login, no token request while the token is
        valid."""
        from ._migrate import auth_from_oauth2_session

        return auth_from_oauth2_session(session, **overrides)

    def with_profile(self, profile_id: int | str | None) -> AdsAuth:
        """A view of this auth with another Scope header; it shares the token, locks and
        store, so switching profiles never costs a token request."""
        view = copy.copy(self)
        view._set_headers(profile_text(profile_id), self.account_id)
        return view

    # ----- token access ------------------------------------------------------------------

    @property
    def token(self) -> Token | None:
        """The token held in memory (fresh or not), without any I/O."""
        return self._manager.token

    def ensure_token(self) -> Token:
        """A valid token. Inside the refresh margin this is the current one, returned at
        once while a background refresh replaces it; once expired, it waits for a refresh."""
        return self._manager.ensure()

    async def async_ensure_token(self) -> Token:
        """`ensure_token` without blocking the event loop."""
        return await self._manager.async_ensure()

    def import_token(self, token: Token | Mapping[str, Any]) -> Token:
        """Start from a token you already have (a `Token`, or a requests-oauthlib / Authlib
        token dict): it is stored under this object's key and used while it is valid."""
        if not isinstance(token, Token):
            token = Token.from_oauth2_dict(token)
        return self._manager.seed(token)

    def headers(self) -> dict[str, str]:
        """The Ads API headers for a request now (Authorization, ClientId, and Scope /
        AccountId when set), for clients that build their own requests. Refreshes first
        when the token has expired."""
        header = self._manager.fresh_header() or _bearer(self._manager.ensure())
        return {"Authorization": header, **dict(self._static_headers)}

    async def async_headers(self) -> dict[str, str]:
        """`headers()` without blocking the event loop."""
        header = self._manager.fresh_header() or _bearer(await self._manager.async_ensure())
        return {"Authorization": header, **dict(self._static_headers)}

    def refresh(self) -> Token:
        """Refresh now, even if the token is fresh. Concurrent callers share one refresh."""
        current = self._manager.token
        if current is None:
            return self._manager.ensure(force=True)
        return self._manager.ensure(failed=current.access_token)

    def logout(self) -> None:
        """Forget this grant: drop it from memory and delete it from the store."""
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
        r.hooks["response"].append(self._on_response)
        return r

    def _on_response(self, r: requests.Response, **kwargs: Any) -> requests.Response:
        """Response hook: replay once after a 401; strip our headers before a redirect."""
        status = r.status_code
        if status == 401:
            return self._handle_401(r, **kwargs)
        if 300 <= status < 400 and "location" in r.headers:
            self._strip_before_redirect(r)
        return r

    def _strip_before_redirect(self, r: requests.Response) -> None:
        """requests builds the redirected request as a copy of `r.request` after the hooks
        run: drop the Ads headers (and our Authorization) from it when the target is not an
        Ads API origin, so a report's S3 URL never sees the client id or profile."""
        target = urlsplit(urljoin(r.url, r.headers["location"]))
        try:
            port = target.port
        except ValueError:
            port = None
        if target.hostname and self._hosts.matches(target.scheme, target.hostname, port):
            return
        headers = r.request.headers
        for name, _, _ in self._static_headers_lower:
            headers.pop(name, None)
        headers.pop(ADS_CLIENT_ID_HEADER, None)
        sent = headers.get("Authorization")
        if sent is not None and sent.startswith("Bearer "):
            headers.pop("Authorization", None)

    def _handle_401(self, r: requests.Response, **kwargs: Any) -> requests.Response:
        """On a 401 to a request we authorized, refresh and replay once."""
        request = r.request
        sent = request.headers.get("Authorization")
        if (
            not sent
            or not sent.startswith("Bearer ")
            or getattr(request, _REPLAYED, False)
            or request.url is None
            or not request.url.startswith(self._prefixes)
        ):
            return r
        token = self._manager.ensure(failed=sent[7:])
        if token.access_token == sent[7:]:
            return r  # no new token to try (a refresh just proved these 401s are not its fault)
        if request.body is not None and not isinstance(request.body, (bytes, str)):
            return r  # a stream or file body cannot be sent twice: the caller gets the 401
        r.content  # noqa: B018 - drain, so the connection can be reused
        r.close()
        replay = request.copy()
        setattr(replay, _REPLAYED, True)
        jar = replay._cookies  # type: ignore[attr-defined]
        extract_cookies_to_jar(jar, request, r.raw)  # type: ignore[no-untyped-call]
        replay.prepare_cookies(jar)
        replay.headers["Authorization"] = _bearer(token)
        retried: requests.Response = r.connection.send(replay, **kwargs)
        retried.history.append(r)
        retried.request = replay
        if retried.status_code == 401:
            self._manager.note_refresh_did_not_help(token.access_token)
        return retried

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
        if self._rejected(response, header):
            token = self._manager.ensure(header[7:])
            if self._prepare_replay(request, header, token):
                self._after_replay((yield request), token)

    async def async_auth_flow(self, request: _R) -> AsyncGenerator[_R, Any]:
        if not self._is_api_request(request):
            yield request
            return
        header = self._manager.fresh_header() or _bearer(await self._manager.async_ensure())
        self._apply(request, header)
        response = yield request
        if self._rejected(response, header):
            token = await self._manager.async_ensure(header[7:])
            if self._prepare_replay(request, header, token):
                self._after_replay((yield request), token)

    def _is_api_request(self, request: _Request) -> bool:
        url = request.url
        return self._hosts.matches(url.scheme, url.host, url.port)

    def _apply(self, request: _Request, header: str) -> None:
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

    @staticmethod
    def _rejected(response: Any, header: str) -> bool:
        """A 401 to the request we authorized (not, say, to a redirect target)."""
        return bool(
            response.status_code == 401 and response.request.headers.get("Authorization") == header
        )

    @staticmethod
    def _prepare_replay(request: _Request, header: str, token: Token) -> bool:
        """Point the request at the new token; False when there is nothing to replay."""
        if token.access_token == header[7:]:
            return False  # no new token (a refresh just proved these 401s are not its fault)
        if not _replayable(request):
            return False  # a streamed body cannot be sent twice: the caller gets the 401
        request.headers["Authorization"] = _bearer(token)
        return True

    def _after_replay(self, response: Any, token: Token) -> None:
        if response.status_code == 401:
            self._manager.note_refresh_did_not_help(token.access_token)


def _bearer(token: Token) -> str:
    return "Bearer " + token.access_token


def _replayable(request: _Request) -> bool:
    """True when the request body is in memory (httpx raises RequestNotRead for streams)."""
    try:
        request.content  # noqa: B018
    except Exception:  # httpx.RequestNotRead, or httpx2's own class of it
        return False
    return True
