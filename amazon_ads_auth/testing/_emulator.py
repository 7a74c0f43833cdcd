"""The emulator of Login with Amazon and the Amazon Ads API, for tests and offline work.

    with Emulator() as emu:                          # over loopback HTTP
        refresh_token = emu.issue_refresh_token()
        auth = AdsAuth(emu.client_id, emu.client_secret, refresh_token, **emu.auth_kwargs())
        httpx.get(emu.api_url + "/v2/profiles", auth=auth)

    emu = Emulator()                                 # in process: no socket, no thread
    client = httpx.Client(transport=emu.httpx_transport(), auth=AdsAuth(..., **emu.auth_kwargs()))

This module composes the parts: the LwA model (`_lwa_model`), the Ads API model
(`_ads_model`), the faults and hold gate before the token endpoint (`_faults`), the socket
server (`_server`), the in-process transports (`_transports`) and `amazon_hosts()`
(`_reroute`). One `answer(request)` serves every way in.
"""

from __future__ import annotations

import collections
import contextlib
import datetime
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, overload
from urllib.parse import parse_qsl

from . import _mcp, _reroute, _transports
from ._accounts import Accounts
from ._ads_model import AdsModel, demo_profile
from ._clock import FakeClock
from ._faults import GateControls, TokenGate, answer_with_fault, replace_fields
from ._grant_faults import GrantFaultControls, GrantFaults
from ._lwa_model import LwaModel
from ._routes import ApiRequest, RouteHandler, check_route
from ._server import LoopbackServer
from ._wire import Answer, Request, oauth_json, page

__all__ = ["DEMO_CLIENT_ID", "DEMO_CLIENT_SECRET", "DEMO_SIGNING_KEY", "ApiRequest", "Emulator"]

DEMO_CLIENT_ID = "amzn1.application-oa2-client.emulatordemo0000000000000000"
DEMO_CLIENT_SECRET = "amzn1.oa2-cs.v1.emulator-demo-secret-0000000000000000000000"
# The sandbox's emulators sign their tokens with this key, so any of them accepts the tokens
# another issued. It is public on purpose: demo tokens grant nothing.
DEMO_SIGNING_KEY = b"amazon-ads-auth demo tokens (a public key: demo tokens are not secrets)"
# Where an emulator that is not serving says it is: Amazon's own names, answered in process.
_IN_PROCESS_API = "https://advertising-api.amazon.com"
_IN_PROCESS_TOKEN = "https://api.amazon.com/auth/o2/token"
_IN_PROCESS_CONSENT = "https://www.amazon.com/ap/oa"


def _seconds(lifetime: float | datetime.timedelta | None) -> float | None:
    if isinstance(lifetime, datetime.timedelta):
        return lifetime.total_seconds()
    return None if lifetime is None else float(lifetime)


class Emulator(GateControls, GrantFaultControls):
    """Login with Amazon and the Ads API: on a loopback port while started (a context
    manager), and in process through its transports at any time."""

    def __init__(
        self,
        *,
        client_id: str = DEMO_CLIENT_ID,
        client_secret: str = DEMO_CLIENT_SECRET,
        redirect_uris: Iterable[str] | None = None,
        access_token_lifetime: int = 3600,
        clock: Callable[[], float] = time.time,
        port: int = 0,
        profiles: list[dict[str, Any]] | None = None,
        signing_key: bytes | None = None,
        refresh_token_lifetime: float | datetime.timedelta | None = None,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris = None if redirect_uris is None else set(redirect_uris)
        self.access_token_lifetime = access_token_lifetime
        self.expires_in_as_string = False
        self.omit_refresh_token_on_refresh = False
        self.deny_consent = False
        # Seconds a refresh token lives after its consent (by `clock`); None: forever.
        self.refresh_token_lifetime = _seconds(refresh_token_lifetime)
        self.send_refresh_token_expires_in = False
        self.clock = clock
        self.profiles = profiles if profiles is not None else [demo_profile()]
        self.report_location: str | None = None
        self.accounts = Accounts()
        self._lwa = LwaModel(self, signing_key)
        self._ads = AdsModel(self, self._lwa.valid_access)
        self._gate = TokenGate()
        self._grant_faults = GrantFaults()
        self._wanted_port = port
        self._server: LoopbackServer | None = None
        self._transport: Any = None  # the in-process httpx transport, once handed out

    # ----- lifecycle ------------------------------------------------------------------------

    def start(self) -> Emulator:
        """Serve on 127.0.0.1 in a background thread; returns self."""
        if self._server is None:
            self._server = LoopbackServer(self.answer, self._wanted_port)
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (held token requests are let go)."""
        self._gate.release()
        if self._server is not None:
            self._server.stop()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @contextlib.contextmanager
    def amazon_hosts(self) -> Iterator[Emulator]:
        """While active, requests to Amazon's real Ads API and LwA hosts (from requests,
        httpx, httpx2 and AdsAuth's token requests) are answered by this emulator, path
        and query kept, so production code runs unchanged. Process-wide (all threads);
        blocks nest and may end in any order; an Amazon host it cannot route raises
        `UnroutableHostError`. Parallel tests: use the in-process transports instead."""
        with _reroute.amazon_hosts(self.answer):
            yield self

    # ----- the one way in -------------------------------------------------------------------

    def answer(self, request: Request) -> Answer:
        """Answer one request: consent, the token endpoint, or the Ads API."""
        if request.path in _mcp.PATHS:  # MCP hook: the emulated Ads MCP endpoint (_mcp.py)
            return _mcp.answer(self, request)
        if request.path == "/ap/oa" and request.method == "GET":
            return self._lwa.consent(dict(parse_qsl(request.query)))
        if request.path == "/auth/o2/token":
            if request.method != "POST":
                return page(405, "Use POST")
            return self._token(request)
        return self._ads.answer(request)

    def _token(self, request: Request) -> Answer:
        form = dict(parse_qsl(request.body.decode("utf-8", "replace")))
        fault = self._gate.admit(form.get("grant_type", "")) or self._grant_faults.fault_for(form)
        if fault is not None:
            instead = answer_with_fault(fault, request.timeout)
            if instead is not None:
                return instead
        status, payload = self._lwa.token(form, request.headers.get("authorization"))
        return oauth_json(status, replace_fields(fault, payload) if status == 200 else payload)

    # ----- in-process transports --------------------------------------------------------------

    def httpx_transport(self) -> Any:
        """An httpx transport (sync and async) answered in process: no socket."""
        if self._transport is None:
            self._transport = _transports.httpx_transport(self.answer)
        return self._transport

    def async_httpx_transport(self) -> Any:
        """The same transport, for `httpx.AsyncClient(transport=...)`."""
        return self.httpx_transport()

    def httpx2_transport(self) -> Any:
        """An httpx2 transport (sync and async) answered in process (httpx2 must be installed)."""
        import httpx2

        self.httpx_transport()
        return _transports.httpx_transport(self.answer, httpx2)

    def requests_adapter(self) -> Any:
        """A requests adapter answered in process: `session.mount("https://", adapter)`."""
        self.httpx_transport()
        return _transports.requests_adapter(self.answer)

    # ----- addresses ------------------------------------------------------------------------

    @property
    def serving(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        return self._server.port if self._server is not None else self._wanted_port

    @property
    def url(self) -> str:
        """Base URL, also the Ads API URL: http://127.0.0.1:PORT once started, else
        Amazon's Ads API URL (answered only by the in-process transports)."""
        if self._server is None:
            return _IN_PROCESS_API
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return self.url

    @property
    def api_host(self) -> str:
        return self.url.partition("://")[2]

    @property
    def token_url(self) -> str:
        return _IN_PROCESS_TOKEN if self._server is None else f"{self.url}/auth/o2/token"

    @property
    def authorization_url(self) -> str:
        return _IN_PROCESS_CONSENT if self._server is None else f"{self.url}/ap/oa"

    def auth_kwargs(self, *, in_process: bool | None = None) -> dict[str, Any]:
        """Keyword arguments that point AdsAuth at this emulator. Its token requests go in
        process (`token_transport=`) when `in_process` is true, which by default it is
        once one of the in-process transports was taken or while the emulator is not
        serving; otherwise over loopback HTTP. On a `FakeClock`, `sleep=` is the clock's:
        the retries' backoff and Retry-After waits move the fake clock instead of taking
        real time (pass `clock=` to AdsAuth yourself, as the emulator's clock may be
        shared)."""
        if in_process is None:
            in_process = self._server is None or self._transport is not None
        kwargs: dict[str, Any] = {
            "token_url": self.token_url,
            "authorization_url": self.authorization_url,
            "api_hosts": [self.api_host],
        }
        if in_process:
            kwargs["token_transport"] = self.httpx_transport()
        if isinstance(self.clock, FakeClock):
            kwargs["sleep"] = self.clock.sleep  # retry backoff moves the fake clock
        return kwargs

    def consent_flow_kwargs(self) -> dict[str, Any]:
        """Keyword arguments that point a `ConsentFlow` (amazon_ads_auth.web) at this
        emulator: its consent page, token endpoint and Ads API (it must be serving: the
        browser goes there)."""
        return {
            "token_url": self.token_url,
            "authorization_url": self.authorization_url,
            "api_url": self.api_url,
        }

    # ----- control --------------------------------------------------------------------------

    def issue_refresh_token(
        self,
        client_id: str | None = None,
        scope: str = "",
        *,
        value: str | None = None,
        account: str | None = None,
        consented_at: float | None = None,
    ) -> str:
        """Create a grant directly (as if the user consented) and return its refresh token;
        `account` makes it a grant of an account from `add_account()` (its tokens see that
        account's profiles), `value` makes that the refresh token (one that code or docs
        have written in). `consented_at` (default: now, by the emulator's clock) starts its
        `refresh_token_lifetime`: a consent 360 days ago expires in 5 days.

        Raises: TypeError or ValueError for an argument that is not usable (an account
        that was never added, a value that is not text)."""
        for name, given in (("client_id", client_id), ("value", value), ("account", account)):
            _text_or_none(name, given)
        if not isinstance(scope, str):
            raise TypeError(f"scope must be a string, got {type(scope).__name__}")
        if account is not None and account not in self.accounts:
            raise ValueError(
                f"no account named {account!r}: add_account({account!r}, profiles) first"
            )
        return self._lwa.issue_refresh_token(
            client_id or self.client_id, scope, value, account, consented_at=consented_at
        )

    def refresh_token_expires_at(self, refresh_token: str) -> float | None:
        """When the emulator will refuse `refresh_token` (None: never, or unknown token)."""
        return self._lwa.refresh_token_expires_at(refresh_token)

    @overload
    def route(
        self, method: str, path: str, handler: RouteHandler, *, needs_scope: bool = True
    ) -> RouteHandler: ...

    @overload
    def route(
        self, method: str, path: str, *, needs_scope: bool = True
    ) -> Callable[[RouteHandler], RouteHandler]: ...

    def route(
        self,
        method: str,
        path: str,
        handler: RouteHandler | None = None,
        *,
        needs_scope: bool = True,
    ) -> RouteHandler | Callable[[RouteHandler], RouteHandler]:
        """Answer `method path` on the Ads API with `handler` (a route the emulator does
        not model, or your own answer for one it does; the newest route wins). `{name}` in
        the path matches one segment, given to the handler in `request.path_params`.

            emu.route("POST", "/sp/campaigns/list", lambda request: (200, {"campaigns": []}))

            @emu.route("GET", "/sp/campaigns/{campaignId}")
            def campaign(request: ApiRequest) -> ApiResponse:
                return ApiResponse(200, {"campaignId": request.path_params["campaignId"]})

        The handler gets an `ApiRequest` and returns an `ApiResponse` or a `(status,
        json_body)` pair; it runs only after the checks Amazon makes (bearer token, client
        id, and with `needs_scope` a Scope or Amazon-Ads-AccountId header naming a profile
        of the account). A handler that raises answers 500 with the exception in `details`.

        Raises: TypeError or ValueError for a method, path or handler that is not usable."""
        checked_method, checked_path = check_route(method, path, handler or (lambda r: r))
        scoped = bool(needs_scope)

        def add(function: RouteHandler) -> RouteHandler:
            check_route(checked_method, checked_path, function)
            self._ads.add_route(checked_method, checked_path, function, needs_scope=scoped)
            return function

        return add if handler is None else add(handler)

    def add_account(self, name: str, profiles: list[dict[str, Any]]) -> None:
        """An Amazon account that can sign in on the consent page, and the profiles its
        grants see. Once one exists, consent waits for a person to pick an account.

        Raises: TypeError for a name that is not text or profiles that are not a list of
        profiles (dicts with a profileId, as `account_profile()` makes)."""
        if _text_or_none("name", name) is None:
            raise TypeError("name must be a non-empty string, got None")
        if isinstance(profiles, (str, bytes, dict)) or not all(
            isinstance(p, dict) and "profileId" in p for p in profiles
        ):
            raise TypeError(
                "profiles must be a list of profiles (dicts with a profileId: "
                "account_profile(id, name) makes one)"
            )
        self.accounts.add(name, profiles)

    def new_account_per_consent(self, profiles_for: Callable[[int], list[dict[str, Any]]]) -> None:
        """Every consent from now on is given at once by a new Amazon account (the n-th),
        whose grants see `profiles_for(n)`: a demo where each tenant has profiles of its own
        and nobody has to pick an account."""
        self.accounts.new_per_consent(profiles_for)

    def accept_access_token(
        self, access_token: str, expires_at: float, refresh_token: str | None = None
    ) -> None:
        """Treat `access_token` as issued for a grant (the refresh token's; the first one
        issued when None) until `expires_at` (to seed a store with a token the API accepts,
        e.g. one that is already inside its refresh margin).

        Raises: TypeError or ValueError for an unusable argument or an unknown refresh token."""
        if not isinstance(access_token, str) or not access_token:
            raise TypeError(f"access_token must be a non-empty string, got {access_token!r}")
        if isinstance(expires_at, bool) or not isinstance(expires_at, (int, float)):
            raise TypeError(f"expires_at must be a time in seconds, got {expires_at!r}")
        if refresh_token is not None and not isinstance(refresh_token, str):
            raise TypeError(f"refresh_token must be a string or None, got {refresh_token!r}")
        self._lwa.accept_access_token(access_token, float(expires_at), refresh_token)

    def revoke_refresh_token(self, refresh_token: str) -> None:
        """The user removed the app: the refresh token gives invalid_grant from now on.

        Raises: TypeError for anything but a string; ValueError for a refresh token this
        emulator never issued (revoking it would prove nothing)."""
        if not isinstance(refresh_token, str):
            raise TypeError(
                f"revoke_refresh_token() takes the refresh token (a string), got "
                f"{type(refresh_token).__name__}"
            )
        self._lwa.revoke_refresh_token(refresh_token)

    def revoke_access_tokens(self) -> None:
        """Every access token issued so far is rejected with 401 from now on."""
        self._lwa.revoke_access_tokens()

    @property
    def token_requests(self) -> collections.Counter[str]:
        """Token requests by grant type."""
        return self._gate.requests

    @property
    def token_request_times(self) -> list[float]:
        """time.monotonic() of each token request."""
        return self._gate.times

    @property
    def token_request_count(self) -> int:
        return sum(self._gate.requests.values())

    @property
    def api_requests(self) -> collections.Counter[int]:
        """Ads API requests by the status they got."""
        return self._ads.requests

    @property
    def api_log(self) -> list[ApiRequest]:
        return self._ads.log

    def reset_counters(self) -> None:
        self._gate.reset()
        self._ads.reset()

    def issued_secrets(self) -> list[str]:
        """Every secret this emulator knows: the client secret and all codes and tokens it
        issued. Tests scan logs, messages and output for these."""
        return self._lwa.secrets()

    def is_valid_access_token(self, access_token: str) -> bool:
        return self._lwa.valid_access(access_token) is not None


def _text_or_none(name: str, value: object) -> str | None:
    """`value` when it is None or text that is not blank.

    Raises: TypeError for anything but a string or None; ValueError for blank text."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string or None, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name} must not be blank")
    return value
