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
from typing import Any
from urllib.parse import parse_qsl

from . import _reroute, _transports
from ._accounts import Accounts
from ._ads_model import AdsModel, ApiRequest, demo_profile
from ._faults import GateControls, TokenGate, answer_with_fault, replace_fields
from ._lwa_model import LwaModel
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


class Emulator(GateControls):
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
        if request.path == "/ap/oa" and request.method == "GET":
            return self._lwa.consent(dict(parse_qsl(request.query)))
        if request.path == "/auth/o2/token":
            if request.method != "POST":
                return page(405, "Use POST")
            return self._token(request)
        return self._ads.answer(request)

    def _token(self, request: Request) -> Answer:
        form = dict(parse_qsl(request.body.decode("utf-8", "replace")))
        fault = self._gate.admit(form.get("grant_type", ""))
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
        serving; otherwise over loopback HTTP."""
        if in_process is None:
            in_process = self._server is None or self._transport is not None
        kwargs: dict[str, Any] = {
            "token_url": self.token_url,
            "authorization_url": self.authorization_url,
            "api_hosts": [self.api_host],
        }
        if in_process:
            kwargs["token_transport"] = self.httpx_transport()
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
        consented_at: float | None = None,
    ) -> str:
        """Create a grant directly (as if the user consented) and return its refresh token;
        `value` makes that the refresh token (one that code or docs have written in).
        `consented_at` (default: now, by the emulator's clock) starts its
        `refresh_token_lifetime`: a consent 360 days ago expires in 5 days."""
        return self._lwa.issue_refresh_token(
            client_id or self.client_id, scope, value, consented_at=consented_at
        )

    def refresh_token_expires_at(self, refresh_token: str) -> float | None:
        """When the emulator will refuse `refresh_token` (None: never, or unknown token)."""
        return self._lwa.refresh_token_expires_at(refresh_token)

    def add_account(self, name: str, profiles: list[dict[str, Any]]) -> None:
        """An Amazon account that can sign in on the consent page, and the profiles its
        grants see. Once one exists, consent waits for a person to pick an account."""
        self.accounts.add(name, profiles)

    def new_account_per_consent(self, profiles_for: Callable[[int], list[dict[str, Any]]]) -> None:
        """Every consent from now on is given at once by a new Amazon account (the n-th),
        whose grants see `profiles_for(n)`: a demo where each tenant has profiles of its own
        and nobody has to pick an account."""
        self.accounts.new_per_consent(profiles_for)

    def accept_access_token(
        self, access_token: str, expires_at: float, refresh_token: str | None = None
    ) -> None:
        """Treat `access_token` as issued for a grant until `expires_at` (to seed a store
        with a token the API accepts, e.g. one that is already inside its refresh margin)."""
        self._lwa.accept_access_token(access_token, expires_at, refresh_token)

    def revoke_refresh_token(self, refresh_token: str) -> None:
        """The user removed the app: the refresh token gives invalid_grant from now on."""
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
