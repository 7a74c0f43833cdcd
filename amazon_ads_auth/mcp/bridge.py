"""`amazon-ads-auth mcp stdio`: a local MCP server over stdio that relays every message to
the MCP endpoint over streamable HTTP, with fresh headers on every request.

The assistant starts this process and writes JSON-RPC messages to its stdin, one per line;
each is POSTed as it is to the endpoint, and what comes back (a JSON answer, or the events
of a server-sent event stream) is written to stdout, one message per line. The bridge keeps
the `Mcp-Session-Id` and `MCP-Protocol-Version` of the session, opens the server's GET
stream after `notifications/initialized` (when the server has one), and ends the session
with a DELETE when stdin closes. Messages are not interpreted beyond that, so tools,
prompts and resources the server adds pass through unchanged.

Authentication is `McpAuth` (one refresh and one replay after a 401 or a token error), so a
session outlives any number of token expiries. When there is no usable login the request
gets one JSON-RPC error naming `amazon-ads-auth login`; the bridge keeps running. Nothing
secret is logged: stderr carries one line per problem, never a header or a token.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import threading
from collections.abc import Callable
from typing import Any, cast

import httpx2

from .._errors import AdsAuthError, InvalidGrantError, NoTokenError
from .._lwa.messages import REVOKED_HINT
from .auth import McpAuth

logger = logging.getLogger("amazon_ads_auth.mcp")

SESSION_HEADER = "Mcp-Session-Id"
VERSION_HEADER = "MCP-Protocol-Version"
LOGIN_ERROR_CODE = -32001  # JSON-RPC "server error" range: the bridge has no usable login
RELAY_ERROR_CODE = -32603  # internal error: the endpoint could not be reached or answered badly
TIMEOUT = httpx2.Timeout(30.0, read=300.0)  # an event stream may stay quiet for minutes


def mcp_client(auth: McpAuth) -> httpx2.AsyncClient:
    """An httpx2 client for the endpoint: McpAuth, MCP's timeouts, no redirects followed."""
    # McpAuth derives from httpx2.Auth once httpx2 is imported (see _auth/compat.py).
    return httpx2.AsyncClient(auth=cast(httpx2.Auth, auth), timeout=TIMEOUT)


def login_error_text(exc: AdsAuthError) -> str:
    """One line for the assistant (and its user) about a login that cannot give a token."""
    if isinstance(exc, InvalidGrantError):
        return f"Amazon Ads login needed: {REVOKED_HINT}"
    if isinstance(exc, NoTokenError):
        return "Amazon Ads login needed: no login is stored; run `amazon-ads-auth login`"
    return f"Amazon Ads login problem: {exc} (check it with `amazon-ads-auth status`)"


class StdioBridge:
    """Relays MCP messages between a writer of lines (stdout) and the MCP endpoint."""

    def __init__(
        self,
        auth: McpAuth,
        write_line: Callable[[bytes], None],
        *,
        http: httpx2.AsyncClient | None = None,
    ) -> None:
        self.auth = auth
        self.url = auth.url
        self._write_line = write_line
        self._http = http or mcp_client(auth)
        self._owns_http = http is None
        self.session_id: str | None = None
        self.protocol_version: str | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._get_stream: asyncio.Task[None] | None = None
        self._login_failed = False  # the last request found no usable login

    # ----- the assistant's side --------------------------------------------------------------

    async def handle_line(self, line: bytes) -> None:
        """One line from the assistant: requests run concurrently; `initialize` (the
        session starts with its answer), notifications and responses are sent in order
        before the next line is read."""
        if not line.strip():
            return
        try:
            message = json.loads(line)
        except ValueError:
            self._send({"jsonrpc": "2.0", "id": None, "error": _error(-32700, "parse error")})
            return
        if _request_ids(message) and not _is_initialize(message):
            task = asyncio.create_task(self._relay(message, line))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            await self._relay(message, line)
            if isinstance(message, dict) and message.get("method") == "notifications/initialized":
                self._open_get_stream()

    async def close(self) -> None:
        """stdin closed: let requests in flight finish, end the session, close the client."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._get_stream is not None:
            self._get_stream.cancel()
            await asyncio.gather(self._get_stream, return_exceptions=True)
        if self.session_id is not None and not self._login_failed:
            try:
                await self._http.delete(self.url, headers=self._headers())
            except (httpx2.HTTPError, AdsAuthError) as exc:
                logger.info("could not end the MCP session (%s)", type(exc).__name__)
        if self._owns_http:
            await self._http.aclose()

    # ----- the endpoint's side ----------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json, text/event-stream"}
        if self.session_id is not None:
            headers[SESSION_HEADER] = self.session_id
        if self.protocol_version is not None:
            headers[VERSION_HEADER] = self.protocol_version
        return headers

    async def _relay(self, message: Any, body: bytes) -> None:
        ids = _request_ids(message)
        if isinstance(message, dict) and message.get("method") == "initialize":
            self.session_id = self.protocol_version = None  # a new session
        headers = {**self._headers(), "Content-Type": "application/json"}
        try:
            async with self._http.stream("POST", self.url, content=body, headers=headers) as r:
                self._login_failed = False
                await self._answer(r, ids, initialize=_is_initialize(message))
        except AdsAuthError as exc:
            self._login_failed = True
            logger.warning("%s", login_error_text(exc))
            self._fail(ids, LOGIN_ERROR_CODE, login_error_text(exc))
        except httpx2.HTTPError as exc:
            logger.warning("the MCP endpoint could not be reached (%s)", type(exc).__name__)
            text = f"the Amazon Ads MCP endpoint could not be reached ({type(exc).__name__})"
            self._fail(ids, RELAY_ERROR_CODE, text)

    async def _answer(self, response: httpx2.Response, ids: list[Any], *, initialize: bool) -> None:
        session = response.headers.get(SESSION_HEADER)
        if session and (initialize or self.session_id is None):
            self.session_id = session
        if not ids:  # a notification or a response: nothing may be answered to it
            if response.status_code >= 400:
                logger.warning("the MCP endpoint refused a notification (%d)", response.status_code)
            return
        if response.status_code == 202:
            return
        if 300 <= response.status_code < 400:
            location = response.headers.get("location", "").partition("?")[0][:200]
            logger.warning("the MCP endpoint redirected to %s: not followed", location)
            self._fail(
                ids, RELAY_ERROR_CODE, f"the MCP endpoint redirected to {location}: not followed"
            )
            return
        if response.status_code == 401:  # McpAuth refreshed and replayed: still refused
            logger.warning("the MCP endpoint refused a fresh token (401)")
            self._fail(ids, LOGIN_ERROR_CODE, _status_text(401))
            return
        kind = response.headers.get("content-type", "").partition(";")[0].strip().lower()
        answered: set[Any] = set()
        if kind == "text/event-stream" and response.status_code < 300:
            async for event in httpx2.EventSource(response):
                if event.data:
                    self._relay_text(event.data, answered, initialize, ids)
        elif kind == "application/json":
            text = (await response.aread()).decode("utf-8", "replace")
            self._relay_text(text, answered, initialize, ids)
        missing = [i for i in ids if i not in answered]
        if missing:
            self._fail(missing, RELAY_ERROR_CODE, _status_text(response.status_code))

    def _relay_text(
        self, text: str, answered: set[Any], initialize: bool, ids: list[Any] | None = None
    ) -> None:
        try:
            parsed = json.loads(text)
        except ValueError:
            logger.warning("the MCP endpoint sent a message that is not JSON: dropped")
            return
        for message in parsed if isinstance(parsed, list) else [parsed]:
            if not isinstance(message, dict):
                continue
            if "id" in message and ("result" in message or "error" in message):
                if message["id"] is None and ids is not None and len(ids) == 1:
                    message["id"] = ids[0]  # refused before its id was read: it is this one
                answered.add(message["id"])
                if initialize and isinstance(message.get("result"), dict):
                    version = message["result"].get("protocolVersion")
                    self.protocol_version = version if isinstance(version, str) else None
            self._send(message)

    def _open_get_stream(self) -> None:
        if self._get_stream is None and self.session_id is not None:
            self._get_stream = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        """The server's own messages on the GET stream, when it offers one (405: none)."""
        headers = {**self._headers(), "Accept": "text/event-stream"}
        try:
            async with self._http.stream("GET", self.url, headers=headers) as response:
                kind = response.headers.get("content-type", "").partition(";")[0].strip()
                if response.status_code != 200 or kind != "text/event-stream":
                    return
                async for event in httpx2.EventSource(response):
                    if event.data:
                        self._relay_text(event.data, set(), False)
        except (httpx2.HTTPError, AdsAuthError) as exc:
            logger.info("the MCP GET stream ended (%s)", type(exc).__name__)

    # ----- writing ---------------------------------------------------------------------------

    def _send(self, message: Any) -> None:
        self._write_line(json.dumps(message, separators=(",", ":")).encode() + b"\n")

    def _fail(self, ids: list[Any], code: int, text: str) -> None:
        for request_id in ids:
            self._send({"jsonrpc": "2.0", "id": request_id, "error": _error(code, text)})


def _error(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message}


def _request_ids(message: Any) -> list[Any]:
    """The ids of the requests in a message (or batch) that expect an answer."""
    items = message if isinstance(message, list) else [message]
    return [
        m["id"] for m in items if isinstance(m, dict) and "method" in m and m.get("id") is not None
    ]


def _is_initialize(message: Any) -> bool:
    return isinstance(message, dict) and message.get("method") == "initialize"


def _status_text(status: int) -> str:
    if status == 401:
        return (
            "the Amazon Ads MCP endpoint refused the access token even after a refresh (401): "
            "check that this login's client may use it, or run `amazon-ads-auth login` again"
        )
    if status == 404:
        return "the MCP session ended (404): reconnect the server in your assistant"
    return f"the Amazon Ads MCP endpoint answered HTTP {status} without a JSON-RPC answer"


def run_stdio(auth: McpAuth) -> None:
    """Serve the bridge on this process's stdin and stdout until stdin closes."""
    out = sys.stdout.buffer
    guard = threading.Lock()

    def write_line(data: bytes) -> None:
        with guard:
            out.write(data)
            out.flush()

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C in a terminal: a stop, not a crash
        asyncio.run(_serve(auth, write_line, sys.stdin.buffer))


def run_stdio_refusing(text: str) -> None:
    """No usable login at start: serve stdio anyway, answering every request with `text`
    (the assistant shows it), until stdin closes."""
    out = sys.stdout.buffer
    for line in iter(sys.stdin.buffer.readline, b""):
        try:
            ids = _request_ids(json.loads(line))
        except ValueError:
            continue
        for request_id in ids:
            error = _error(LOGIN_ERROR_CODE, text)
            out.write(json.dumps({"jsonrpc": "2.0", "id": request_id, "error": error}).encode())
            out.write(b"\n")
            out.flush()


async def _serve(auth: McpAuth, write_line: Callable[[bytes], None], stdin: Any) -> None:
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[bytes | None] = asyncio.Queue()

    def read() -> None:  # a thread: portable, and stdin may be a pipe, a file or a tty
        try:
            for line in iter(stdin.readline, b""):
                loop.call_soon_threadsafe(lines.put_nowait, line)
        finally:
            loop.call_soon_threadsafe(lines.put_nowait, None)

    threading.Thread(target=read, name="mcp-stdin", daemon=True).start()
    bridge = StdioBridge(auth, write_line)
    try:
        while (line := await lines.get()) is not None:
            await bridge.handle_line(line)
    finally:
        await bridge.close()
