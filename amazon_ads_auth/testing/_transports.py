"""In-process transports: httpx (sync and async), httpx2 and requests send their requests
straight to the emulator's models, with no socket, no thread and no global patch.

    client = httpx.Client(transport=emu.httpx_transport(), auth=AdsAuth(..., **emu.auth_kwargs()))

Every request a transport gets is answered, whatever its host: mount it only where the
emulator is meant to answer. A fault that hangs up raises what the library raises for a
closed or reset connection; a delay longer than the request's read timeout raises its
timeout error after that long.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Mapping
from typing import Any

from ._wire import DROP, TIMEOUT, Answer, Request

Handler = Callable[[Request], Answer]


def _read_timeout(timeouts: object) -> float | None:
    if isinstance(timeouts, Mapping):
        value = timeouts.get("read")
        return float(value) if isinstance(value, (int, float)) else None
    return None


class HttpxTransport:
    """An httpx (or httpx2) transport, sync and async, answered by the emulator."""

    def __init__(self, handler: Handler, lib: Any = None) -> None:
        if lib is None:
            import httpx as lib
        self._handler = handler
        self._lib = lib

    def _request(self, request: Any, body: bytes) -> Request:
        headers = {name.lower(): value for name, value in request.headers.items()}
        target = request.url.raw_path.decode("ascii")
        timeout = _read_timeout(request.extensions.get("timeout"))
        return Request(request.method, target, headers, body, timeout)

    def _response(self, request: Any, answer: Answer) -> Any:
        lib = self._lib
        if answer.hang_up == TIMEOUT:
            raise lib.ReadTimeout("timed out (emulator)", request=request)
        if answer.hang_up == DROP:
            raise lib.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        if answer.hang_up is not None:
            raise lib.ReadError("[Errno 104] Connection reset by peer", request=request)
        return lib.Response(
            answer.status, headers=dict(answer.headers), content=answer.body, request=request
        )

    def handle_request(self, request: Any) -> Any:
        body = request.read()
        return self._response(request, self._handler(self._request(request, body)))

    async def handle_async_request(self, request: Any) -> Any:
        body = await request.aread()
        return self._response(request, self._handler(self._request(request, body)))

    def close(self) -> None:
        """Nothing to close."""

    async def aclose(self) -> None:
        """Nothing to close."""

    def __enter__(self) -> HttpxTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> HttpxTransport:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def httpx_transport(handler: Handler, lib: Any = None) -> Any:
    """An `HttpxTransport` that is also an instance of the library's transport bases (so
    `isinstance(t, httpx.BaseTransport)` holds for code that checks)."""
    if lib is None:
        import httpx as lib
    return _transport_class(lib)(handler, lib)


@functools.cache
def _transport_class(lib: Any) -> Any:
    """One transport class per library (httpx, httpx2), made the first time it is asked for."""
    kind = type(
        "EmulatorTransport", (HttpxTransport, lib.BaseTransport, lib.AsyncBaseTransport), {}
    )
    kind.__module__ = __name__
    return kind


def requests_adapter(handler: Handler) -> Any:
    """A requests transport adapter answered by the emulator: `session.mount("https://", a)`."""
    return _adapter_class()(handler)


@functools.cache
def _adapter_class() -> Any:
    """The adapter class, made on first use (requests loads only then)."""
    import requests
    import requests.adapters
    from requests.structures import CaseInsensitiveDict
    from requests.utils import get_encoding_from_headers

    class EmulatorAdapter(requests.adapters.BaseAdapter):
        def __init__(self, handler: Handler) -> None:
            super().__init__()
            self._handler = handler

        def send(
            self,
            request: requests.PreparedRequest,
            stream: bool = False,
            timeout: Any = None,
            verify: Any = True,
            cert: Any = None,
            proxies: Any = None,
        ) -> requests.Response:
            split = request.url.split("/", 3) if request.url else []
            target = "/" + split[3] if len(split) > 3 else "/"
            headers = {name.lower(): value for name, value in request.headers.items()}
            if len(split) > 2:
                headers.setdefault("host", split[2])  # as urllib3 would send it
            wait = timeout[1] if isinstance(timeout, tuple) else timeout
            answer = self._handler(
                Request(request.method or "GET", target, headers, _body(request.body), wait)
            )
            if answer.hang_up == TIMEOUT:
                raise requests.exceptions.ReadTimeout("timed out (emulator)", request=request)
            if answer.hang_up is not None:
                raise requests.exceptions.ConnectionError(
                    "Connection aborted (emulator: the server hung up)", request=request
                )
            response = requests.Response()
            response.status_code = answer.status
            response.headers = CaseInsensitiveDict(answer.headers)
            response.encoding = get_encoding_from_headers(response.headers)
            response.raw = io.BytesIO(answer.body)
            response._content = answer.body
            response.url = request.url or ""
            response.request = request
            response.reason = "OK" if answer.status < 400 else "Error"
            response.connection = self  # type: ignore[assignment]
            return response

        def close(self) -> None:
            """Nothing to close."""

    EmulatorAdapter.__module__ = __name__
    return EmulatorAdapter


def _body(body: object) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    if hasattr(body, "read"):
        data = body.read()
        return data.encode() if isinstance(data, str) else bytes(data)
    return b"".join(c.encode() if isinstance(c, str) else bytes(c) for c in body)  # type: ignore[attr-defined]
