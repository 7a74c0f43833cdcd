"""McpAuth: AdsAuth's tokens for Amazon's Ads MCP server, as an httpx / httpx2 auth.

It is a thin adapter over the AdsAuth it is built from: the same token manager (one
refresh for every thread, task and process sharing the store, refreshed in the background
before expiry), other headers. It adds `Authorization`, `Amazon-Ads-ClientId` and the
account-selection headers to requests for the MCP endpoint's origin and nothing else;
after a 401, or a JSON-RPC error that says the token expired, it refreshes once and
replays once.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncGenerator, Generator
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from .._auth.adsauth import AdsAuth
from .._auth.compat import httpx2_class
from .._auth.httpx_replay import HttpxRequest, prepare_replay
from .._errors import ConfigurationError
from .._refresh.manager import TokenManager
from .._stores.base import TokenStore
from .._token import Token
from .accounts import Fixed, account_headers
from .endpoints import AMAZON_MCP, MCP_URL_VARIABLE, McpEndpoints, mcp_url

_R = TypeVar("_R", bound=HttpxRequest)
_DEFAULT_PORTS = {"http": 80, "https": 443}
# A JSON answer larger than this is a tool result, not a token error: never parsed here.
_ERROR_BODY_LIMIT = 64 * 1024


class McpAuth(httpx.Auth):
    """Authentication for Amazon's Ads MCP server (httpx and httpx2, sync and async).

        auth = McpAuth.from_login(profile_id=...)        # or from_env(), or McpAuth(ads_auth)
        async with httpx2.AsyncClient(auth=auth) as http:
            async with streamable_http_client(auth.url, http_client=http) as (read, write):
                ...

    `account` is `Fixed(profile_id=...)`, `Fixed(account_id=...)`,
    `Fixed(manager_account_id=...)` or None (Amazon's default: the assistant picks accounts
    through tools). `url` defaults to the region's Amazon MCP URL (`lite=True`: the lite
    one); `endpoints` holds the hosts and header names, which are second-hand facts.
    Only requests to the URL's origin (scheme, host, port) get the token and headers.

    Raises: ConfigurationError for an unusable URL or account.
    """

    requires_request_body = False
    requires_response_body = False

    def __init__(
        self,
        auth: AdsAuth,
        *,
        account: Fixed | None = None,
        url: str | None = None,
        lite: bool = False,
        endpoints: McpEndpoints = AMAZON_MCP,
    ) -> None:
        if not isinstance(auth, AdsAuth):
            raise ConfigurationError(
                f"McpAuth is built from an AdsAuth, got {type(auth).__name__}: use "
                "McpAuth.from_login(), McpAuth.from_env() or McpAuth(AdsAuth(...))"
            )
        # An httpx2.Auth too when httpx2 is installed: see _auth/compat.py.
        self.__class__ = httpx2_class(type(self))
        self.ads_auth = auth
        self.endpoints = endpoints
        self.account = account
        self.url = mcp_url(url, auth.region, lite=lite, endpoints=endpoints)
        parts = urlsplit(self.url)
        self._origin = _origin(parts.scheme, parts.hostname or "", parts.port)
        # The AdsAuth's own token manager: no second refresh machinery, and one token
        # request serves REST calls and MCP sessions alike.
        self._manager: TokenManager = auth._manager
        self._scope = account.label if account is not None else None
        self._static = [(endpoints.client_id_header, auth.client_id)]
        self._static.extend(account_headers(account, endpoints).items())

    # ----- building one ---------------------------------------------------------------------

    @classmethod
    def from_login(
        cls,
        store_key: str | None = None,
        *,
        store: TokenStore | None = None,
        profile_id: int | str | None = None,
        account: Fixed | None = None,
        url: str | None = None,
        lite: bool = False,
        endpoints: McpEndpoints = AMAZON_MCP,
        **overrides: Any,
    ) -> McpAuth:
        """The McpAuth of a login stored by `amazon-ads-auth login` (chosen as
        `AdsAuth.from_login` does). `profile_id` picks the login that owns it and, unless
        `account` says otherwise, fixes the session on that profile. `url` defaults to
        AMAZON_ADS_MCP_URL, else the login region's Amazon MCP URL.

        Raises: NoTokenError when there is no login; ConfigurationError when the choice is
        ambiguous, no login owns the profile, no client secret is known, or the URL or
        account is unusable."""
        auth = AdsAuth.from_login(store_key, store=store, profile_id=profile_id, **overrides)
        if account is None and profile_id is not None:
            account = Fixed(profile_id=profile_id)
        return cls(auth, account=account, url=_url_or_env(url), lite=lite, endpoints=endpoints)

    @classmethod
    def from_env(
        cls,
        *,
        account: Fixed | None = None,
        url: str | None = None,
        lite: bool = False,
        endpoints: McpEndpoints = AMAZON_MCP,
        **overrides: Any,
    ) -> McpAuth:
        """An McpAuth from the AMAZON_ADS_* variables (as `AdsAuth.from_env`), with
        AMAZON_ADS_MCP_URL as the URL when set. AMAZON_ADS_PROFILE_ID, when set and
        `account` is not given, fixes the session on that profile.

        Raises: ConfigurationError for a missing or bad setting; NoTokenError when no login
        is stored."""
        auth = AdsAuth.from_env(**overrides)
        if account is None and auth.profile_id is not None:
            account = Fixed(profile_id=auth.profile_id)
        return cls(auth, account=account, url=_url_or_env(url), lite=lite, endpoints=endpoints)

    @classmethod
    def from_auth(
        cls,
        auth: AdsAuth,
        *,
        account: Fixed | None = None,
        url: str | None = None,
        lite: bool = False,
        endpoints: McpEndpoints = AMAZON_MCP,
    ) -> McpAuth:
        """The same as `McpAuth(auth, ...)`: MCP headers with an existing AdsAuth's tokens
        (shared: no extra token request).

        Raises: ConfigurationError for an unusable URL or account."""
        return cls(auth, account=account, url=url, lite=lite, endpoints=endpoints)

    # ----- what it sends where ----------------------------------------------------------------

    @property
    def client_id(self) -> str:
        return self.ads_auth.client_id

    def sends_token_to(self, url: str) -> bool:
        """Whether a request for `url` gets the token and MCP headers (the MCP URL's
        origin only)."""
        try:
            parts = urlsplit(url)
            return _origin(parts.scheme, parts.hostname or "", parts.port) == self._origin
        except ValueError:
            return False

    def headers(self) -> dict[str, str]:
        """The MCP headers for a request now, for clients that build their own requests.

        Raises: as `AdsAuth.headers()` (NoTokenError, InvalidGrantError: log in again)."""
        header = self._manager.fresh_header() or _bearer(self._manager.ensure())
        return {"Authorization": header, **dict(self._static)}

    async def async_headers(self) -> dict[str, str]:
        """`headers()` without blocking the event loop.

        Raises: as `headers()`."""
        header = self._manager.fresh_header() or _bearer(await self._manager.async_ensure())
        return {"Authorization": header, **dict(self._static)}

    def __repr__(self) -> str:
        return f"McpAuth(url={self.url!r}, client_id={self.client_id!r}, account={self.account!r})"

    # ----- httpx and httpx2 --------------------------------------------------------------------

    def sync_auth_flow(self, request: _R) -> Generator[_R, Any, None]:
        if not self._is_mcp_request(request):
            yield request
            return
        header = self._manager.fresh_header() or _bearer(self._manager.ensure())
        self._apply(request, header)
        response = yield request
        if self._ours(response, header) and _read_and_judge(response, self.endpoints):
            token = self._manager.ensure(self._manager.need_after_401(header[7:], self._scope))
            if prepare_replay(request, header, token):
                again = yield request
                if _read_and_judge(again, self.endpoints):
                    self._manager.note_refresh_did_not_help(token.access_token, self._scope)

    async def async_auth_flow(self, request: _R) -> AsyncGenerator[_R, Any]:
        if not self._is_mcp_request(request):
            yield request
            return
        header = self._manager.fresh_header() or _bearer(await self._manager.async_ensure())
        self._apply(request, header)
        response = yield request
        if self._ours(response, header) and await _aread_and_judge(response, self.endpoints):
            need = self._manager.need_after_401(header[7:], self._scope)
            token = await self._manager.async_ensure(need)
            if prepare_replay(request, header, token):
                again = yield request
                if await _aread_and_judge(again, self.endpoints):
                    self._manager.note_refresh_did_not_help(token.access_token, self._scope)

    def _is_mcp_request(self, request: HttpxRequest) -> bool:
        url = request.url
        return _origin(url.scheme, url.host, url.port) == self._origin

    def _apply(self, request: HttpxRequest, header: str) -> None:
        headers = request.headers
        headers["Authorization"] = header
        for name, value in self._static:
            headers[name] = value

    @staticmethod
    def _ours(response: Any, header: str) -> bool:
        return bool(response.request.headers.get("Authorization") == header)


def _origin(scheme: str, host: str, port: int | None) -> tuple[str, str, int | None]:
    port = None if port == _DEFAULT_PORTS.get(scheme) else port
    return (scheme.lower(), host.strip("[]").lower(), port)


def _bearer(token: Token) -> str:
    return "Bearer " + token.access_token


def _url_or_env(url: str | None) -> str | None:
    return url if url is not None else (os.environ.get(MCP_URL_VARIABLE, "").strip() or None)


def _may_be_token_error(response: Any) -> bool | None:
    """True: a 401; None: a JSON answer whose body must be read to know; False: neither."""
    if response.status_code == 401:
        return True
    if response.request.method != "POST":
        return False
    content_type = response.headers.get("content-type", "").lower()
    if not content_type.startswith("application/json"):
        return False  # an event stream is the session's: never read here
    length = response.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > _ERROR_BODY_LIMIT:
        return False
    return None


def _judge_body(body: bytes, endpoints: McpEndpoints) -> bool:
    """Whether a JSON-RPC answer is an error the server uses for an expired token."""
    if len(body) > _ERROR_BODY_LIMIT:
        return False
    try:
        message = json.loads(body)
    except ValueError:
        return False
    return isinstance(message, dict) and endpoints.is_token_error(message.get("error"))


def _read_and_judge(response: Any, endpoints: McpEndpoints) -> bool:
    verdict = _may_be_token_error(response)
    if verdict is not None:
        return verdict
    return _judge_body(response.read(), endpoints)


async def _aread_and_judge(response: Any, endpoints: McpEndpoints) -> bool:
    verdict = _may_be_token_error(response)
    if verdict is not None:
        return verdict
    return _judge_body(await response.aread(), endpoints)
