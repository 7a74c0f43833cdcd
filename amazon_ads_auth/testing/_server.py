"""The emulator's socket side: a threaded HTTP/1.1 server on 127.0.0.1 that turns each
request into a `_wire.Request`, asks a handler function for the `Answer`, and writes it
(or drops or resets the connection, for faults). Also `RecordingServer`, an S3 stand-in.
"""

from __future__ import annotations

import http.server
import socket
import socketserver
import struct
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any

from ._wire import RESET, Answer, Request

Handler = Callable[[Request], Answer]


class LoopbackServer:
    """Serves `handler` on 127.0.0.1:`port` (0: a free one) in a background thread."""

    def __init__(self, handler: Handler, port: int = 0) -> None:
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.answer = handler
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(0.02,), name="ads-emulator", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()


class RecordingServer:
    """A plain loopback HTTP server that records request headers: a stand-in for S3.

    Like S3 with a pre-signed URL, it refuses a request that also carries Authorization.
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self._server = LoopbackServer(self._answer)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}"

    def __enter__(self) -> RecordingServer:
        self._server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.stop()

    def _answer(self, request: Request) -> Answer:
        self.requests.append(dict(request.headers))
        if "authorization" in request.headers:
            return Answer(
                400,
                {"Content-Type": "application/xml"},
                b"<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism "
                b"allowed</Message></Error>",
            )
        return Answer(200, {"Content-Type": "application/octet-stream"}, b"report-bytes")


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    answer: Handler

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a timeout test) is normal here, not worth a traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms stalls
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines can carry codes and states."""

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def _dispatch(self) -> None:
        headers = {name.lower(): value for name, value in self.headers.items()}
        answer = self.server.answer(Request(self.command, self.path, headers, self._body()))
        if answer.hang_up is not None:
            self.close_connection = True
            if answer.hang_up == RESET:  # linger 0: close() sends RST, not FIN
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
            self.connection.close()
            return
        self._write(answer.status, answer.headers, answer.body)

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

    def _write(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
