"""A local emulator of Login with Amazon and the Amazon Ads API, for tests and offline work.

    with Emulator() as emu:
        refresh_token = emu.issue_refresh_token()
        auth = AdsAuth(emu.client_id, emu.client_secret, refresh_token, **emu.auth_kwargs())
        httpx.get(emu.api_url + "/v2/profiles", auth=auth)

It is a real HTTP server on 127.0.0.1 (a free port, a background thread) that answers like
Amazon does: the consent redirect, both token grants with single-use codes that expire after
5 minutes of the emulator's clock, PKCE, client authentication, bearer-token checks, and the
error bodies Amazon sends. Counters, revocation, fault injection and a gate that holds token
requests let tests assert how many token requests a client made and what it did under stress.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import dataclasses
import hashlib
import hmac
import http.server
import json
import secrets
import socket
import socketserver
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

__all__ = ["DEMO_SIGNING_KEY", "Emulator", "FakeClock", "Fault", "RecordingServer", "Sandbox"]

DEMO_CLIENT_ID = "amzn1.application-oa2-client.emulatordemo0000000000000000"
DEMO_CLIENT_SECRET = "amzn1.oa2-cs.v1.emulator-demo-secret-0000000000000000000000"
KNOWN_SCOPES = frozenset(
    {
        "advertising::campaign_management",
        "advertising::audiences",
        "advertising::test:create_account",
        "cpc_advertising:campaign_management",
        "profile",
    }
)
# The sandbox's emulators sign their tokens with this key, so any of them accepts the tokens
# another issued. It is public on purpose: demo tokens grant nothing.
DEMO_SIGNING_KEY = b"amazon-ads-auth demo tokens (a public key: demo tokens are not secrets)"
_CODE_LIFETIME = 300.0
_HOLD_LIMIT = 30.0


class FakeClock:
    """A clock you move by hand: pass it as `clock=` to AdsAuth and Emulator."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._guard = threading.Lock()

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        with self._guard:
            self._now += seconds


@dataclasses.dataclass(frozen=True)
class Fault:
    """One injected failure for the next token request. Build with the class methods."""

    kind: str
    status: int = 0
    retry_after: str | None = None
    seconds: float = 0.0
    body: bytes = b""
    content_type: str = "application/json;charset=UTF-8"

    @classmethod
    def status_code(cls, status: int, *, retry_after: float | str | None = None) -> Fault:
        """Answer with this HTTP status and an Amazon-style error body."""
        body = json.dumps(
            {
                "error": "server_error" if status >= 500 else "rate_limited",
                "error_description": f"HTTP {status} from the emulator",
            }
        ).encode()
        after = None if retry_after is None else str(retry_after)
        return cls("status", status=status, retry_after=after, body=body)

    @classmethod
    def rate_limited(cls, retry_after: float | str = 1) -> Fault:
        """429 Too Many Requests with a Retry-After header."""
        return cls.status_code(429, retry_after=retry_after)

    @classmethod
    def drop_connection(cls) -> Fault:
        """Close the connection without answering."""
        return cls("drop")

    @classmethod
    def reset_connection(cls) -> Fault:
        """Abort the connection with a TCP reset (RST) instead of an answer."""
        return cls("reset")

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Wait this long, then answer normally (longer than the client timeout = a timeout)."""
        return cls("delay", seconds=seconds)

    @classmethod
    def non_json(cls, status: int = 200) -> Fault:
        """A plain-text body that is not JSON."""
        return cls("status", status=status, body=b"not json at all", content_type="text/plain")

    @classmethod
    def html(cls, status: int = 200) -> Fault:
        """An HTML error page, as a proxy or load balancer sends."""
        body = b"<html><head><title>Service Unavailable</title></head><body>Oops</body></html>"
        return cls("status", status=status, body=body, content_type="text/html")

    @classmethod
    def json_body(cls, payload: Mapping[str, Any], status: int = 200) -> Fault:
        """Any JSON payload, e.g. a token without access_token or with a wrong token_type."""
        return cls("status", status=status, body=json.dumps(payload).encode())

    @classmethod
    def token_fields(cls, **fields: Any) -> Fault:
        """A successful token answer with fields replaced (None removes a field)."""
        return cls("fields", body=json.dumps(fields).encode())

    @classmethod
    def oauth_error(cls, error: str, description: str = "", status: int = 400) -> Fault:
        """An OAuth error answer such as invalid_request."""
        payload = {"error": error, "error_description": description or error}
        return cls("status", status=status, body=json.dumps(payload).encode())


@dataclasses.dataclass
class _Grant:
    client_id: str
    refresh_token: str
    scope: str
    revoked: bool = False


@dataclasses.dataclass
class _Code:
    client_id: str
    redirect_uri: str
    scope: str
    issued_at: float
    challenge: str | None
    method: str
    used: bool = False


@dataclasses.dataclass
class _Access:
    client_id: str
    expires_at: float
    grant: _Grant
    revoked: bool = False


@dataclasses.dataclass(frozen=True)
class ApiRequest:
    """An Ads API request as the emulator saw it."""

    method: str
    path: str
    headers: Mapping[str, str]
    status: int


class Emulator:
    """Login with Amazon and the Ads API on a loopback port. Use as a context manager."""

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
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        # With a signing key, tokens carry an HMAC and any emulator with the same key
        # accepts them: the CLI's sandbox starts a new emulator per command.
        self._signing_key = signing_key
        self.redirect_uris = None if redirect_uris is None else set(redirect_uris)
        self.access_token_lifetime = access_token_lifetime
        self.expires_in_as_string = False
        self.omit_refresh_token_on_refresh = False
        self.deny_consent = False
        self.token_latency = 0.0
        # While set, every token request answers with this status (an outage of LwA).
        self.token_outage: int | None = None
        self.clock = clock
        self.profiles = profiles if profiles is not None else [_demo_profile()]
        self.report_location: str | None = None
        self.token_requests: collections.Counter[str] = collections.Counter()
        self.token_request_times: list[float] = []  # time.monotonic() of each token request
        self.api_requests: collections.Counter[int] = collections.Counter()
        self.api_log: list[ApiRequest] = []
        self._grants: dict[str, _Grant] = {}
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, _Access] = {}
        self._faults: collections.deque[Fault] = collections.deque()
        self._guard = threading.Lock()
        self._hold = threading.Event()
        self._hold.set()
        self._hold_limit = _HOLD_LIMIT
        self.hold_timeouts = 0
        self._held = threading.Semaphore(0)
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.emulator = self
        self._thread: threading.Thread | None = None

    # ----- lifecycle -----------------------------------------------------------------------

    def start(self) -> Emulator:
        """Serve in a background thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(0.02,), name="ads-emulator", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._hold.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @contextlib.contextmanager
    def amazon_hosts(self) -> Iterator[Emulator]:
        """While active, requests to Amazon's real Ads API and LwA hosts (from requests,
        httpx, and AdsAuth's own token requests) reach this emulator instead, path and query
        kept:
        code written for production runs unchanged in a test. (Outside a test there is
        no way to reach those names offline, so this one patch is the honest stand-in.)"""
        import httpx
        import requests.adapters

        from .. import _token_http
        from .._regions import Region

        origins = {f"https://{host}" for host in _amazon_hosts()}
        origins |= {f"https://{urlsplit(r.token_url).netloc}" for r in Region}

        def reroute(url: str) -> str:
            for origin in origins:
                if url.startswith(origin + "/") or url == origin:
                    return self.url + url[len(origin) :]
            return url

        original_send = requests.adapters.HTTPAdapter.send
        original_post = _token_http.post

        def send(adapter: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            target = reroute(request.url)
            if target == request.url:
                return original_send(adapter, request, *args, **kwargs)
            routed = request.copy()
            routed.url = target
            response = original_send(adapter, routed, *args, **kwargs)
            # The caller (and its auth's hooks) see the request they made.
            response.request, response.url = request, request.url
            return response

        def post(url: str, *args: Any, **kwargs: Any) -> Any:
            return original_post(reroute(url), *args, **kwargs)

        original_sync = httpx.HTTPTransport.handle_request
        original_async = httpx.AsyncHTTPTransport.handle_async_request

        def rerouted(request: httpx.Request) -> httpx.Request:
            target = reroute(str(request.url))
            if target != str(request.url):
                request.url = httpx.URL(target)
                request.headers["Host"] = request.url.netloc.decode("ascii")
            return request

        def handle(transport: Any, request: httpx.Request) -> httpx.Response:
            return original_sync(transport, rerouted(request))

        async def handle_async(transport: Any, request: httpx.Request) -> httpx.Response:
            return await original_async(transport, rerouted(request))

        requests.adapters.HTTPAdapter.send = send  # type: ignore[method-assign, assignment]
        httpx.HTTPTransport.handle_request = handle  # type: ignore[method-assign, assignment]
        httpx.AsyncHTTPTransport.handle_async_request = handle_async  # type: ignore[method-assign, assignment]
        _token_http.post = post
        try:
            yield self
        finally:
            requests.adapters.HTTPAdapter.send = original_send  # type: ignore[method-assign]
            httpx.HTTPTransport.handle_request = original_sync  # type: ignore[method-assign]
            httpx.AsyncHTTPTransport.handle_async_request = original_async  # type: ignore[method-assign]
            _token_http.post = original_post

    # ----- addresses ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, also the Ads API URL: http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return self.url

    @property
    def api_host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def token_url(self) -> str:
        return f"{self.url}/auth/o2/token"

    @property
    def authorization_url(self) -> str:
        return f"{self.url}/ap/oa"

    def auth_kwargs(self) -> dict[str, Any]:
        """Keyword arguments that point AdsAuth at this emulator."""
        return {
            "token_url": self.token_url,
            "authorization_url": self.authorization_url,
            "api_hosts": [self.api_host],
        }

    # ----- control --------------------------------------------------------------------------

    def issue_refresh_token(self, client_id: str | None = None, scope: str = "") -> str:
        """Create a grant directly (as if the user consented) and return its refresh token."""
        grant = _Grant(
            client_id=client_id or self.client_id,
            refresh_token=self._new_refresh_token(),
            scope=scope or "advertising::campaign_management",
        )
        with self._guard:
            self._grants[grant.refresh_token] = grant
        return grant.refresh_token

    def accept_access_token(
        self, access_token: str, expires_at: float, refresh_token: str | None = None
    ) -> None:
        """Treat `access_token` as issued for a grant until `expires_at` (to seed a store
        with a token the API accepts, e.g. one that is already inside its refresh margin)."""
        with self._guard:
            grant = self._grants.get(refresh_token or "") or next(iter(self._grants.values()))
            self._access[access_token] = _Access(
                client_id=grant.client_id, expires_at=expires_at, grant=grant
            )

    def revoke_refresh_token(self, refresh_token: str) -> None:
        """The user removed the app: the refresh token gives invalid_grant from now on."""
        with self._guard:
            grant = self._grants.get(refresh_token)
            if grant is not None:
                grant.revoked = True

    def revoke_access_tokens(self) -> None:
        """Every access token issued so far is rejected with 401 from now on."""
        with self._guard:
            for access in self._access.values():
                access.revoked = True

    def queue_token_faults(self, *faults: Fault) -> None:
        """The next token requests fail like this, one fault each, in order."""
        with self._guard:
            self._faults.extend(faults)

    def hold_token_requests(self, limit: float = _HOLD_LIMIT) -> None:
        """Token requests wait until `release_token_requests()`, or `limit` seconds at most
        (then `hold_timeouts` counts it, so a test can tell it was never released)."""
        self._hold_limit = limit
        self._hold.clear()

    def release_token_requests(self) -> None:
        self._hold.set()

    def wait_for_held_token_request(self, timeout: float = 10.0) -> bool:
        """True once a token request is waiting at the gate (False after `timeout`)."""
        return self._held.acquire(timeout=timeout)

    @property
    def token_request_count(self) -> int:
        return sum(self.token_requests.values())

    def reset_counters(self) -> None:
        with self._guard:
            self.token_requests.clear()
            self.token_request_times.clear()
            self.api_requests.clear()
            self.api_log.clear()

    def issued_secrets(self) -> list[str]:
        """Every secret this emulator knows: the client secret and all codes and tokens it
        issued. Tests scan logs, messages and output for these."""
        with self._guard:
            return [
                self.client_secret,
                *self._grants,
                *self._codes,
                *self._access,
            ]

    def is_valid_access_token(self, access_token: str) -> bool:
        with self._guard:
            access = self._access.get(access_token)
            return access is not None and self._access_ok(access)

    # ----- the endpoints (called from handler threads) ---------------------------------------

    def _consent(self, query: Mapping[str, str]) -> tuple[int, dict[str, str], bytes]:
        if query.get("client_id") != self.client_id:
            return _page(400, "Unknown client_id: check the client id of your LwA app.")
        redirect_uri = query.get("redirect_uri", "")
        if not redirect_uri or (
            self.redirect_uris is not None and redirect_uri not in self.redirect_uris
        ):
            return _page(400, "redirect_uri is not an Allowed Return URL of this client.")
        if query.get("response_type") != "code":
            return _redirect(redirect_uri, error="unsupported_response_type", query=query)
        scope = query.get("scope", "")
        if not scope or not set(scope.split()) <= KNOWN_SCOPES:
            return _redirect(redirect_uri, error="invalid_scope", query=query)
        if self.deny_consent:
            return _redirect(redirect_uri, error="access_denied", query=query)
        method = query.get("code_challenge_method", "plain")
        challenge = query.get("code_challenge")
        if challenge is not None and method not in ("plain", "S256"):
            return _redirect(redirect_uri, error="invalid_request", query=query)
        code = _random_token(20, alphabet="ANabcdefghijklmnopqrstuvwxyz")
        with self._guard:
            self._codes[code] = _Code(
                client_id=self.client_id,
                redirect_uri=redirect_uri,
                scope=scope,
                issued_at=self.clock(),
                challenge=challenge,
                method=method,
            )
        params = {"code": code, "scope": scope}
        if "state" in query:
            params["state"] = query["state"]
        return 302, {"Location": _join(redirect_uri, params)}, b""

    def _token(
        self, form: Mapping[str, str], authorization: str | None
    ) -> tuple[int, dict[str, str], bytes] | str:
        """Returns the answer, or "drop" / "reset" to end the connection without one."""
        with self._guard:
            self.token_requests[form.get("grant_type", "")] += 1
            self.token_request_times.append(time.monotonic())
            fault = self._faults.popleft() if self._faults else None
            if fault is None and self.token_outage is not None:
                fault = Fault.status_code(self.token_outage)
        if not self._hold.is_set():
            self._held.release()
            if not self._hold.wait(self._hold_limit):
                with self._guard:
                    self.hold_timeouts += 1
        if self.token_latency:
            time.sleep(self.token_latency)
        if fault is not None:
            if fault.kind in ("drop", "reset"):
                return fault.kind
            if fault.kind == "delay":
                time.sleep(fault.seconds)
            elif fault.kind == "status":
                headers = {"Content-Type": fault.content_type}
                if fault.retry_after is not None:
                    headers["Retry-After"] = fault.retry_after
                return fault.status, headers, fault.body
        status, payload = self._token_answer(form, authorization)
        if fault is not None and fault.kind == "fields" and status == 200:
            for name, value in json.loads(fault.body).items():
                if value is None:
                    payload.pop(name, None)
                else:
                    payload[name] = value
        return (
            status,
            {"Content-Type": "application/json;charset=UTF-8"},
            json.dumps(payload).encode(),
        )

    def _token_answer(
        self, form: Mapping[str, str], authorization: str | None
    ) -> tuple[int, dict[str, Any]]:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:]).decode()
                client_id, _, client_secret = decoded.partition(":")
            except ValueError:
                return _oauth(401, "invalid_client", "Client authentication failed")
        if client_id != self.client_id or not hmac.compare_digest(
            (client_secret or "").encode(), self.client_secret.encode()
        ):
            return _oauth(401, "invalid_client", "Client authentication failed")
        grant_type = form.get("grant_type")
        with self._guard:
            if grant_type == "authorization_code":
                return self._exchange_code(form, client_secret)
            if grant_type == "refresh_token":
                return self._refresh(form)
        if not grant_type:
            return _oauth(400, "invalid_request", "The request is missing grant_type")
        return _oauth(400, "unsupported_grant_type", "The grant type is not supported")

    def _exchange_code(
        self, form: Mapping[str, str], client_secret: str | None
    ) -> tuple[int, dict[str, Any]]:
        code = self._codes.get(form.get("code", ""))
        invalid = _oauth(400, "invalid_grant", "The request has an invalid grant parameter : code")
        if code is None or code.used or code.client_id != self.client_id:
            return invalid
        if self.clock() - code.issued_at > _CODE_LIFETIME:
            return invalid
        if form.get("redirect_uri") != code.redirect_uri:
            return invalid
        if code.challenge is not None:
            verifier = form.get("code_verifier", "")
            if code.method == "S256":
                digest = hashlib.sha256(verifier.encode()).digest()
                expected = base64.urlsafe_b64encode(digest).decode().rstrip("=")
            else:
                expected = verifier
            if not verifier or not hmac.compare_digest(expected, code.challenge):
                return _oauth(
                    400,
                    "invalid_grant",
                    "The request has an invalid grant parameter : code_verifier",
                )
        code.used = True
        grant = _Grant(self.client_id, self._new_refresh_token(), code.scope)
        self._grants[grant.refresh_token] = grant
        answer = self._new_access(grant)
        if client_secret:
            answer["refresh_token"] = grant.refresh_token
        return 200, answer

    def _refresh(self, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        grant = self._grants.get(form.get("refresh_token", "")) or self._signed_grant(
            form.get("refresh_token", "")
        )
        if grant is None or grant.revoked or grant.client_id != self.client_id:
            return _oauth(
                400,
                "invalid_grant",
                "The request has an invalid grant parameter : refresh_token. User may have "
                "revoked or didn't grant the permission.",
            )
        answer = self._new_access(grant)
        if not self.omit_refresh_token_on_refresh:
            answer["refresh_token"] = grant.refresh_token
        return 200, answer

    def _new_access(self, grant: _Grant) -> dict[str, Any]:
        expires_at = self.clock() + self.access_token_lifetime
        token = "Atza|" + _random_token(400)
        if self._signing_key is not None:
            body = f"{_random_token(360)}.{expires_at:.0f}"
            token = f"Atza|{body}.{self._sign('a', body)}"
        self._access[token] = _Access(
            client_id=grant.client_id,
            expires_at=expires_at,
            grant=grant,
        )
        lifetime: int | str = self.access_token_lifetime
        if self.expires_in_as_string:
            lifetime = str(lifetime)
        return {"access_token": token, "token_type": "bearer", "expires_in": lifetime}

    # ----- signed (stateless) tokens -----------------------------------------------------------

    def _sign(self, kind: str, body: str) -> str:
        assert self._signing_key is not None
        message = f"{self.client_id}|{kind}|{body}".encode()
        return hmac.new(self._signing_key, message, hashlib.sha256).hexdigest()[:32]

    def _new_refresh_token(self) -> str:
        if self._signing_key is None:
            return "Atzr|" + _random_token(400)
        body = _random_token(360)
        return f"Atzr|{body}.{self._sign('r', body)}"

    def _verified(self, token: str, prefix: str, kind: str) -> str | None:
        """The signed body of a token this emulator's key made, else None."""
        if self._signing_key is None or not token.startswith(prefix):
            return None
        body, _, signature = token[len(prefix) :].rpartition(".")
        if not body or not hmac.compare_digest(signature, self._sign(kind, body)):
            return None
        return body

    def _signed_grant(self, refresh_token: str) -> _Grant | None:
        if self._verified(refresh_token, "Atzr|", "r") is None:
            return None
        grant = _Grant(self.client_id, refresh_token, "advertising::campaign_management")
        return self._grants.setdefault(refresh_token, grant)  # the caller holds the guard

    def _signed_access(self, access_token: str) -> _Access | None:
        """(The caller holds the guard.)"""
        body = self._verified(access_token, "Atza|", "a")
        if body is None:
            return None
        try:
            expires_at = float(body.rpartition(".")[2])
        except ValueError:
            return None
        grant = _Grant(self.client_id, "(signed)", "advertising::campaign_management")
        access = _Access(client_id=self.client_id, expires_at=expires_at, grant=grant)
        self._access[access_token] = access
        return access

    def _access_ok(self, access: _Access) -> bool:
        return not access.revoked and not access.grant.revoked and self.clock() < access.expires_at

    def _api(
        self, method: str, path: str, headers: Mapping[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        status, extra, payload = self._api_answer(method, path, headers)
        with self._guard:
            self.api_requests[status] += 1
            self.api_log.append(ApiRequest(method, path, dict(headers), status))
        body = json.dumps(payload).encode() if payload is not None else b""
        return status, {"Content-Type": "application/json", **extra}, body

    def _api_answer(
        self, method: str, path: str, headers: Mapping[str, str]
    ) -> tuple[int, dict[str, str], Any]:
        authorization = headers.get("authorization", "")
        if not authorization.startswith("Bearer "):
            return 401, {}, {"code": "UNAUTHORIZED", "details": "Authentication failed"}
        with self._guard:
            access = self._access.get(authorization[7:]) or self._signed_access(authorization[7:])
            ok = access is not None and self._access_ok(access)
        if not ok or access is None:
            return 401, {}, {"code": "UNAUTHORIZED", "details": "Unauthorized"}
        if headers.get("amazon-advertising-api-clientid") != access.client_id:
            return 401, {}, {"code": "UNAUTHORIZED", "details": "Invalid client id"}
        route = urlsplit(path).path
        if method == "GET" and route == "/v2/profiles":
            return 200, {}, self.profiles
        if route.startswith("/v2/reports/") and route.endswith("/download"):
            if self.report_location is None:
                return 404, {}, {"code": "NOT_FOUND", "details": "Report not found"}
            report_id = route.split("/")[3]
            location = f"{self.report_location}/{report_id}?X-Amz-Signature={_random_token(16)}"
            return 307, {"Location": location}, None
        if method == "GET" and route.startswith("/v2/profiles/"):
            wanted = route.rsplit("/", 1)[1]
            found = [p for p in self.profiles if str(p.get("profileId")) == wanted]
            if not found:
                return 404, {}, {"code": "NOT_FOUND", "details": "Profile not found"}
            return 200, {}, found[0]
        if "amazon-advertising-api-scope" not in headers and "amazon-ads-accountid" not in headers:
            return 400, {}, {"code": "400", "details": "Scope header is missing"}
        if method == "POST" and route == "/sp/campaigns/list":
            campaigns = [_demo_campaign("SPONSORED_PRODUCTS", v3=True)]
            return 200, {}, {"campaigns": campaigns, "totalResults": len(campaigns)}
        if method == "POST" and route == "/adsApi/v1/query/campaigns":
            return 200, {}, {"campaigns": [_demo_campaign("SPONSORED_PRODUCTS", v3=False)]}
        return (
            200,
            {},
            {
                "ok": True,
                "method": method,
                "path": path,
                "scope": headers.get("amazon-advertising-api-scope"),
                "accountId": headers.get("amazon-ads-accountid"),
            },
        )


class RecordingServer:
    """A plain loopback HTTP server that records request headers: a stand-in for S3.

    Like S3 with a pre-signed URL, it refuses a request that also carries Authorization.
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self._server = _Server(("127.0.0.1", 0), _RecordingHandler)
        self._server.recorder = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> RecordingServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join()
        self._server.server_close()


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    emulator: Emulator
    recorder: RecordingServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a timeout test) is normal here, not worth a traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _BaseHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms stalls
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines can carry codes and states."""

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _answer(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _lower_headers(self) -> dict[str, str]:
        return {name.lower(): value for name, value in self.headers.items()}


class _Handler(_BaseHandler):
    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        emulator = self.server.emulator
        parts = urlsplit(self.path)
        body = self._body()
        if parts.path == "/ap/oa" and self.command == "GET":
            self._answer(*emulator._consent(dict(parse_qsl(parts.query))))
        elif parts.path == "/auth/o2/token":
            if self.command != "POST":
                self._answer(*_page(405, "Use POST"))
                return
            form = dict(parse_qsl(body.decode("utf-8", "replace")))
            answer = emulator._token(form, self.headers.get("Authorization"))
            if isinstance(answer, str):
                self.close_connection = True
                if answer == "reset":  # linger 0: close() sends RST, not FIN
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                self.connection.close()
                return
            self._answer(*answer)
        else:
            self._answer(*emulator._api(self.command, self.path, self._lower_headers()))


class _RecordingHandler(_BaseHandler):
    def do_GET(self) -> None:
        headers = self._lower_headers()
        self.server.recorder.requests.append(headers)
        if "authorization" in headers:
            self._answer(
                400,
                {"Content-Type": "application/xml"},
                b"<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism "
                b"allowed</Message></Error>",
            )
        else:
            self._answer(200, {"Content-Type": "application/octet-stream"}, b"report-bytes")


def _oauth(status: int, error: str, description: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": error, "error_description": description}


def _page(status: int, message: str) -> tuple[int, dict[str, str], bytes]:
    body = f"<html><body><h1>Login with Amazon</h1><p>{message}</p></body></html>".encode()
    return status, {"Content-Type": "text/html;charset=UTF-8"}, body


def _redirect(
    redirect_uri: str, *, error: str, query: Mapping[str, str]
) -> tuple[int, dict[str, str], bytes]:
    params = {"error": error, "error_description": _ERROR_TEXT.get(error, error)}
    if "state" in query:
        params["state"] = query["state"]
    return 302, {"Location": _join(redirect_uri, params)}, b""


_ERROR_TEXT = {
    "access_denied": "The user denied the request.",
    "invalid_scope": "An unknown scope was requested",
    "invalid_request": "The request is malformed",
    "unsupported_response_type": "The response_type is not supported",
}


def _join(url: str, params: Mapping[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


def _amazon_hosts() -> tuple[str, ...]:
    from .._regions import ADS_API_HOSTS

    return ADS_API_HOSTS


def _random_token(length: int, alphabet: str = "") -> str:
    alphabet = alphabet or "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _demo_campaign(ad_product: str, *, v3: bool) -> dict[str, Any]:
    """One campaign as the SP v3 list (v3) or the Ads API v1 query returns it."""
    if v3:
        return {
            "campaignId": "271828182845",
            "name": "Emulator Campaign",
            "state": "ENABLED",
            "targetingType": "AUTO",
            "budget": {"budget": 10.0, "budgetType": "DAILY"},
            "startDate": "2026-01-01",
            "dynamicBidding": {"strategy": "LEGACY_FOR_SALES"},
        }
    return {
        "campaignId": "271828182845",
        "adProduct": ad_product,
        "name": "Emulator Campaign",
        "state": "ENABLED",
        "budgets": [{"budgetType": "MONETARY", "recurrenceTimePeriod": "DAILY"}],
    }


def _demo_profile() -> dict[str, Any]:
    return {
        "profileId": 3141592653589793,
        "countryCode": "US",
        "currencyCode": "USD",
        "dailyBudget": 999999999.0,
        "timezone": "America/Los_Angeles",
        "accountInfo": {
            "marketplaceStringId": "ATVPDKIKX0DER",
            "id": "A2EMULATOR0DEMO",
            "type": "seller",
            "name": "Emulator Demo Store",
        },
    }


class Sandbox(Emulator):
    """The emulator `amazon-ads-auth ... --emulator` runs, on the demo logins.

        with Sandbox() as sandbox:
            auth = AdsAuth.from_login(**sandbox.login_kwargs())

    Its tokens are signed with DEMO_SIGNING_KEY, so the grant a `login --emulator` stored
    keeps working in every later sandbox, and in your own code.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("signing_key", DEMO_SIGNING_KEY)
        super().__init__(**kwargs)

    def login_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `AdsAuth.from_login` that use the demo logins' store and
        point at this sandbox."""
        from .._file_store import demo_store_url
        from .._open_store import open_store

        return {"store": open_store(demo_store_url()), **self.auth_kwargs()}
