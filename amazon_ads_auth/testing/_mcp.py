"""The emulated Amazon Ads MCP endpoint: `/mcp` and `/mcp/lite` on the emulator's API host.

MCP streamable HTTP, answered from the emulator's own models (no `mcp` package needed):
`initialize` opens a session (`Mcp-Session-Id`), `tools/list` and `tools/call` serve a few
tools backed by the Ads model (`list_profiles`, `list_campaigns`, `get_report_url`), a tool
call answers as a server-sent event stream, everything else as JSON. The header rules are
Amazon's as documented second-hand: 401 for a missing, expired or revoked token; a clear
error for a missing `Amazon-Ads-ClientId` (the legacy client id header is not read) or a
bad account-selection mode. Tests reach the knobs through `mcp_endpoint(emulator)`.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import threading
from collections.abc import Mapping
from typing import Any, Protocol

from ._accounts import Accounts
from ._ads_model import demo_campaign
from ._wire import Answer, Request


class Emulator(Protocol):
    """What the endpoint reads of its emulator (the emulator imports this module)."""

    _lwa: Any
    accounts: Accounts
    profiles: list[dict[str, Any]]
    report_location: str | None
    __dict__: dict[str, Any]


PATHS = frozenset({"/mcp", "/mcp/lite"})
SESSION_HEADER = "mcp-session-id"
TOKEN_ERROR_CODE = -32001  # what the emulator answers for a bad token in JSON-RPC
_FULL_TOOLS: dict[str, dict[str, Any]] = {
    "list_profiles": {
        "description": "The advertising profiles this login can use.",
        "inputSchema": {"type": "object", "properties": {}},
    },
    "list_campaigns": {
        "description": "Sponsored Products campaigns of a profile (the fixed one by default).",
        "inputSchema": {"type": "object", "properties": {"profileId": {"type": "string"}}},
    },
    "get_report_url": {
        "description": "Where to download a report: a pre-signed URL on another host.",
        "inputSchema": {"type": "object", "properties": {"reportId": {"type": "string"}}},
    },
}
_LITE_TOOLS: dict[str, dict[str, Any]] = {
    "list_available_tools": {
        "description": "The tools call_tool can run.",
        "inputSchema": {"type": "object", "properties": {}},
    },
    "call_tool": {
        "description": "Run one of the Ads tools by name.",
        "inputSchema": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "arguments": {"type": "object"}},
            "required": ["name"],
        },
    },
}


@dataclasses.dataclass(frozen=True)
class McpCall:
    """One MCP request as the endpoint saw it (headers with lower-case names)."""

    http_method: str
    path: str
    rpc_method: str | None
    headers: Mapping[str, str]
    status: int


class McpEndpoint:
    """The MCP endpoint's state: sessions, what it saw, and the knobs tests turn."""

    def __init__(self, emulator: Emulator) -> None:
        self._emulator = emulator
        self._guard = threading.Lock()
        self.sessions: set[str] = set()
        self.log: list[McpCall] = []
        # "http": a bad token gets 401 (Amazon's documented answer); "jsonrpc": HTTP 200
        # with a JSON-RPC error (code TOKEN_ERROR_CODE), as some servers answer.
        self.token_errors = "http"
        # Every MCP POST is answered with a 307 to this URL (to test that nobody follows).
        self.redirect_to: str | None = None
        self.stream_tool_results = True

    @property
    def calls(self) -> list[McpCall]:
        with self._guard:
            return list(self.log)

    def answer(self, request: Request) -> Answer:
        answer, rpc_method = self._answer(request)
        with self._guard:
            call = McpCall(
                request.method, request.path, rpc_method, dict(request.headers), answer.status
            )
            self.log.append(call)
        return answer

    # ----- the HTTP side ---------------------------------------------------------------------

    def _answer(self, request: Request) -> tuple[Answer, str | None]:
        message = _parse(request.body) if request.method == "POST" else None
        rpc_method = message.get("method") if isinstance(message, dict) else None
        rpc_id = message.get("id") if isinstance(message, dict) else None
        refused = self._check_headers(request.headers, rpc_id)
        if refused is not None:
            return refused, rpc_method
        if self.redirect_to is not None:
            return Answer(307, {"Location": self.redirect_to}), rpc_method
        if request.method == "DELETE":
            return self._end_session(request.headers), None
        if request.method == "GET":
            return _rpc_error(405, None, -32600, "this server opens no GET stream"), None
        if request.method != "POST":
            return _rpc_error(405, None, -32600, "use POST"), None
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            return _rpc_error(400, None, -32700, "the body is not one JSON-RPC message"), None
        if rpc_method == "initialize":
            return self._initialize(message), rpc_method
        session = request.headers.get(SESSION_HEADER)
        if session is None:
            return _rpc_error(400, rpc_id, -32600, "Mcp-Session-Id header is missing"), rpc_method
        with self._guard:
            known = session in self.sessions
        if not known:
            return _rpc_error(404, rpc_id, -32001, "session not found"), rpc_method
        if rpc_method is None or "id" not in message:
            return Answer(202), rpc_method  # a notification or a response: accepted
        lite = request.path == "/mcp/lite"
        return self._request(message, request.headers, lite), rpc_method

    def _check_headers(self, headers: Mapping[str, str], rpc_id: Any) -> Answer | None:
        authorization = headers.get("authorization", "")
        access = None
        if authorization.startswith("Bearer "):
            access = self._emulator._lwa.valid_access(authorization[7:])
        if access is None:
            text = "Unauthorized: the access token is missing, expired or revoked"
            if self.token_errors == "jsonrpc" and authorization:
                return _rpc_error(200, rpc_id, TOKEN_ERROR_CODE, text)
            answer = _rpc_error(401, rpc_id, TOKEN_ERROR_CODE, text)
            return dataclasses.replace(
                answer, headers={**answer.headers, "WWW-Authenticate": "Bearer"}
            )
        client_id = headers.get("amazon-ads-clientid")
        if client_id is None:
            text = "Amazon-Ads-ClientId header is missing"
            if "amazon-advertising-api-clientid" in headers:
                text += " (Amazon-Advertising-API-ClientId is the Ads API's name, not read here)"
            return _rpc_error(400, rpc_id, -32600, text)
        if client_id != access.client_id:
            return _rpc_error(403, rpc_id, -32600, "Amazon-Ads-ClientId does not match the token")
        return self._check_account(headers, rpc_id, access)

    def _check_account(self, headers: Mapping[str, str], rpc_id: Any, access: Any) -> Answer | None:
        mode = headers.get("amazon-ads-ai-account-selection-mode")
        if mode is None:
            return None
        if mode != "FIXED":
            text = f"Amazon-Ads-AI-Account-Selection-Mode must be FIXED, got {mode[:20]!r}"
            return _rpc_error(400, rpc_id, -32600, text)
        chosen = [
            headers.get(name)
            for name in (
                "amazon-advertising-api-scope",
                "amazon-ads-accountid",
                "amazon-ads-manager-accountid",
            )
        ]
        if not any(chosen):
            text = (
                "FIXED account mode needs Amazon-Advertising-API-Scope, Amazon-Ads-AccountID "
                "or Amazon-Ads-Manager-AccountID"
            )
            return _rpc_error(400, rpc_id, -32600, text)
        scope = chosen[0]
        profiles = self._profiles(access)
        if scope is not None and all(str(p.get("profileId")) != scope for p in profiles):
            return _rpc_error(403, rpc_id, -32600, f"Not authorized to access scope {scope}")
        return None

    def _end_session(self, headers: Mapping[str, str]) -> Answer:
        session = headers.get(SESSION_HEADER)
        with self._guard:
            if session not in self.sessions:
                return Answer(404)
            self.sessions.discard(session)
        return Answer(200)

    # ----- JSON-RPC ------------------------------------------------------------------------

    def _initialize(self, message: dict[str, Any]) -> Answer:
        params = message.get("params") if isinstance(message.get("params"), dict) else {}
        version = params.get("protocolVersion") if isinstance(params, dict) else None
        session = secrets.token_hex(16)
        with self._guard:
            self.sessions.add(session)
        result = {
            "protocolVersion": version if isinstance(version, str) else "2025-06-18",
            "capabilities": {"tools": {"listChanged": False}},
            "serverInfo": {"name": "amazon-ads-emulator", "version": "1.0"},
        }
        answer = _rpc_result(message.get("id"), result)
        return dataclasses.replace(answer, headers={**answer.headers, "Mcp-Session-Id": session})

    def _request(self, message: dict[str, Any], headers: Mapping[str, str], lite: bool) -> Answer:
        rpc_id, method = message.get("id"), message.get("method")
        params: dict[str, Any] = _object(message.get("params"))
        tools = _LITE_TOOLS if lite else _FULL_TOOLS
        if method == "ping":
            return _rpc_result(rpc_id, {})
        if method == "tools/list":
            listed = [{"name": name, **tool} for name, tool in tools.items()]
            return _rpc_result(rpc_id, {"tools": listed})
        if method != "tools/call":
            return _rpc_error(200, rpc_id, -32601, f"method not found: {str(method)[:40]}")
        name = params.get("name")
        arguments = _object(params.get("arguments"))
        if lite and name == "list_available_tools":
            content: Any = sorted(_FULL_TOOLS)
        elif lite and name == "call_tool":
            inner = _object(arguments.get("arguments"))
            content = self._tool(arguments.get("name"), inner, headers)
        elif name in tools and not lite:
            content = self._tool(name, arguments, headers)
        else:
            return _rpc_error(200, rpc_id, -32602, f"unknown tool: {str(name)[:40]}")
        if content is None:
            return _rpc_error(200, rpc_id, -32602, f"unknown tool: {str(name)[:40]}")
        result = {"content": [{"type": "text", "text": json.dumps(content)}], "isError": False}
        if self.stream_tool_results and "text/event-stream" in headers.get("accept", ""):
            return _event_stream(rpc_id, result)
        return _rpc_result(rpc_id, result)

    def _tool(self, name: Any, arguments: Mapping[str, Any], headers: Mapping[str, str]) -> Any:
        access = self._emulator._lwa.valid_access(headers["authorization"][7:])
        profiles = self._profiles(access)
        if name == "list_profiles":
            return profiles
        if name == "list_campaigns":
            wanted = arguments.get("profileId") or headers.get("amazon-advertising-api-scope")
            campaigns = [demo_campaign("SPONSORED_PRODUCTS", v3=True)]
            return {"profileId": wanted, "campaigns": campaigns}
        if name == "get_report_url":
            where = self._emulator.report_location or "https://example-bucket.s3.amazonaws.com"
            report = str(arguments.get("reportId") or "r1")[:40]
            return {"url": f"{where}/{report}?X-Amz-Signature=emulated"}
        return None

    def _profiles(self, access: Any) -> list[dict[str, Any]]:
        account = access.grant.account if access is not None else None
        return self._emulator.accounts.profiles_of(account, self._emulator.profiles)


def mcp_endpoint(emulator: Emulator) -> McpEndpoint:
    """The emulator's MCP endpoint (made on first use)."""
    endpoint = emulator.__dict__.get("_mcp_endpoint")
    if endpoint is None:
        endpoint = emulator.__dict__.setdefault("_mcp_endpoint", McpEndpoint(emulator))
    return endpoint  # type: ignore[no-any-return]


def answer(emulator: Emulator, request: Request) -> Answer:
    """The emulator's routing hook for PATHS."""
    return mcp_endpoint(emulator).answer(request)


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _parse(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _json(status: int, payload: Any) -> Answer:
    return Answer(status, {"Content-Type": "application/json"}, json.dumps(payload).encode())


def _rpc_result(rpc_id: Any, result: Any) -> Answer:
    return _json(200, {"jsonrpc": "2.0", "id": rpc_id, "result": result})


def _rpc_error(status: int, rpc_id: Any, code: int, message: str) -> Answer:
    error = {"jsonrpc": "2.0", "id": rpc_id, "error": {"code": code, "message": message}}
    return _json(status, error)


def _event_stream(rpc_id: Any, result: Any) -> Answer:
    """The result as a server-sent event stream: a log notification first, then the result."""
    note = {
        "jsonrpc": "2.0",
        "method": "notifications/message",
        "params": {"level": "info", "data": "emulated tool ran"},
    }
    events = [note, {"jsonrpc": "2.0", "id": rpc_id, "result": result}]
    body = "".join(f"event: message\ndata: {json.dumps(e)}\n\n" for e in events).encode()
    return Answer(200, {"Content-Type": "text/event-stream", "Cache-Control": "no-store"}, body)
