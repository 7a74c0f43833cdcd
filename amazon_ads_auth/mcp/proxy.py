"""`amazon-ads-auth mcp proxy`: a loopback HTTP proxy for MCP clients that only take a URL.

It listens on 127.0.0.1 or ::1 only, on one unguessable path (a capability: whoever knows
the URL may use the login, so it is printed once and never logged); it refuses requests
whose `Host` is not the loopback address it listens on, or whose `Origin` is a web page
(DNS rebinding: a page in the browser must not reach it). Each request is sent to the MCP
endpoint with fresh headers (`McpAuth`) and the answer is streamed back as it arrives, an
event stream included, never buffered. The client's own Authorization and Amazon headers
are dropped: the login decides them.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import secrets
import socket
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx2

from .._errors import AdsAuthError, ConfigurationError
from .auth import McpAuth
from .bridge import LOGIN_ERROR_CODE, RELAY_ERROR_CODE, login_error_text, mcp_client

logger = logging.getLogger("amazon_ads_auth.mcp")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

# Request headers passed on to the endpoint; everything else (cookies, the client's own
# Authorization or Amazon-* headers, hop-by-hop headers) stays here.
FORWARDED_REQUEST_HEADERS = frozenset(
    {"accept", "content-type", "mcp-session-id", "mcp-protocol-version", "last-event-id"}
)
# Response headers passed back; Content-Length is left out because the body is streamed.
FORWARDED_RESPONSE_HEADERS = frozenset(
    {"content-type", "mcp-session-id", "mcp-protocol-version", "cache-control", "retry-after"}
)
MAX_BODY = 4 * 1024 * 1024  # one MCP message; larger requests are refused (413)


def loopback_address(listen: str) -> str:
    """`listen` if it is 127.0.0.1 or ::1 (or localhost, taken as 127.0.0.1).

    Raises: ConfigurationError for any other address."""
    text = listen.strip().strip("[]")
    if text == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        address = None
    if address is None or str(address) not in ("127.0.0.1", "::1"):
        raise ConfigurationError(
            f"--listen {listen!r} is not a loopback address: the proxy serves this computer "
            "only (127.0.0.1 or ::1); anyone who could reach it could use your login"
        )
    return str(address)


class LoopbackProxy:
    """The proxy as an ASGI application (served by uvicorn in `serve_proxy`)."""

    def __init__(
        self,
        auth: McpAuth,
        *,
        port: int,
        capability: str | None = None,
        http: httpx2.AsyncClient | None = None,
    ) -> None:
        self.auth = auth
        self.capability = capability or secrets.token_urlsafe(32)
        self.path = f"/{self.capability}/mcp"
        self.port = port
        self._http = http
        self._hosts = {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}
        self._origins = {f"http://{host}" for host in self._hosts}

    def url(self, address: str) -> str:
        """The URL to give the MCP client (it holds the capability: show it once)."""
        host = f"[{address}]" if ":" in address else address
        return f"http://{host}:{self.port}{self.path}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            status, text = refusal
            logger.warning("refused %s (%d): %s", scope["method"], status, text)
            await _reply(send, status, {"error": text})
            return
        body = await _read_body(receive)
        if body is None:
            await _reply(send, 413, {"error": "request body too large"})
            return
        await self._forward(scope["method"], headers, body, send)

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str] | None:
        if headers.get("host", "").lower() not in self._hosts:
            return 421, "wrong Host: this proxy answers only to its loopback address"
        origin = headers.get("origin")
        if origin is not None and origin.lower() not in self._origins:
            return 403, "a web page's Origin: refused (DNS rebinding protection)"
        path = scope.get("path", "")
        if not hmac.compare_digest(path.encode(), self.path.encode()):
            return 404, "not found"
        if scope["method"] not in ("GET", "POST", "DELETE"):
            return 405, "use POST, GET or DELETE"
        return None

    async def _forward(self, method: str, headers: dict[str, str], body: bytes, send: Send) -> None:
        http = self._client()
        outgoing = {k: v for k, v in headers.items() if k in FORWARDED_REQUEST_HEADERS}
        request = http.build_request(method, self.auth.url, content=body or None, headers=outgoing)
        try:
            response = await http.send(request, stream=True)
        except AdsAuthError as exc:
            logger.warning("%s", login_error_text(exc))
            await _reply(send, 502, _rpc_error(body, LOGIN_ERROR_CODE, login_error_text(exc)))
            return
        except httpx2.HTTPError as exc:
            text = f"the Amazon Ads MCP endpoint could not be reached ({type(exc).__name__})"
            logger.warning("%s", text)
            await _reply(send, 502, _rpc_error(body, RELAY_ERROR_CODE, text))
            return
        try:
            logger.info("%s -> %d", method, response.status_code)
            answer = [
                (k.encode("latin-1"), v.encode("latin-1"))
                for k, v in response.headers.multi_items()
                if k.lower() in FORWARDED_RESPONSE_HEADERS
            ]
            await send(
                {"type": "http.response.start", "status": response.status_code, "headers": answer}
            )
            async for chunk in response.aiter_bytes():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except httpx2.HTTPError as exc:
            logger.info("the MCP endpoint's answer broke off (%s)", type(exc).__name__)
        finally:
            await response.aclose()

    def _client(self) -> httpx2.AsyncClient:
        if self._http is None:
            self._http = mcp_client(self.auth)
        return self._http

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._http is not None:
                    await self._http.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _rpc_error(body: bytes, code: int, text: str) -> dict[str, Any]:
    try:
        request_id = json.loads(body).get("id") if body else None
    except (ValueError, AttributeError):
        request_id = None
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": text}}


async def _reply(send: Send, status: int, payload: Any) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def bind(address: str, port: int = 0) -> socket.socket:
    """A listening socket on a loopback `address` (checked), port 0: a free one."""
    address = loopback_address(address)
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on sockets that say so (else Nagle
    # and delayed ACKs add 40 ms to every streamed answer)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def serve_proxy(auth: McpAuth, sock: socket.socket, on_ready: Callable[[str], None]) -> None:
    """Serve until SIGINT or SIGTERM; `on_ready` gets the URL (with the capability) once."""
    import uvicorn  # the [mcp] extra brings it (the mcp SDK depends on it)

    address, port = sock.getsockname()[:2]
    app = LoopbackProxy(auth, port=port)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,  # an access log would write the capability path
        lifespan="on",
        timeout_graceful_shutdown=2,
    )

    class StopsCleanly(uvicorn.Server):
        """uvicorn re-raises the signal it stopped on after shutting down, so the default
        handler would end the process "killed by SIGTERM"; a stop was asked for: exit 0."""

        def handle_exit(self, sig: int, frame: Any) -> None:
            super().handle_exit(sig, frame)
            self._captured_signals.clear()

    server = StopsCleanly(config)
    on_ready(app.url(address))
    server.run(sockets=[sock])
