"""The loopback listener for `login`: receives one consent redirect on the loopback address.

It binds before the browser opens (so a taken port fails at once), listens on 127.0.0.1
(or ::1 for an `http://[::1]:PORT/` redirect URI) only, and waits for the one request on
the redirect URI's path that carries this login's `state`. Connections are served
concurrently, each with a short timeout, so an idle connection cannot block the real
redirect. A request with another state (a stale tab, or a local page probing the port)
gets a 400 and the listener keeps waiting; only the matching redirect ends it, with the
code or with the error Amazon sent. After that nothing is listening.
"""

from __future__ import annotations

import errno
import html
import http.server
import socket
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from .._errors import AdsAuthError, ConfigurationError, StateMismatchError
from .._lwa.consent import parse_redirect
from .._lwa.messages import CODE_LIFETIME_SECONDS
from .._urls import is_loopback

CODE_LIFETIME = float(CODE_LIFETIME_SECONDS)  # wait no longer than a code lives
_CONNECTION_TIMEOUT = 10.0


class LoginTimeoutError(AdsAuthError):
    """No consent redirect arrived in time (codes live 5 minutes, so we wait no longer)."""


def loopback_port(redirect_uri: str) -> int | None:
    """The port to listen on if `redirect_uri` is http://localhost:PORT/... or
    http://127.0.0.1:PORT/..., else None. Port 0 means any free port."""
    try:
        parts = urlsplit(redirect_uri)
        host = parts.hostname
        port = parts.port
    except ValueError:
        raise ConfigurationError(
            f"the redirect URI {redirect_uri!r} is not a valid URL (check its brackets and port)"
        ) from None
    if parts.scheme != "http" or not host or not is_loopback(host):
        return None
    return 80 if port is None else port


def _bind_address(redirect_uri: str) -> tuple[str, int, socket.AddressFamily]:
    port = loopback_port(redirect_uri)
    if port is None:
        raise ConfigurationError(f"{redirect_uri!r} is not a loopback redirect URI")
    host = urlsplit(redirect_uri).hostname or ""
    if ":" in host:  # an IPv6 loopback such as ::1
        return host, port, socket.AF_INET6
    return "127.0.0.1", port, socket.AF_INET


class RedirectListener:
    """Receive one redirect for `redirect_uri` and return its authorization code.

    With port 0 in `redirect_uri` it listens on a free port, and `redirect_uri` then names
    that port (bound before anyone is sent there, so no other process can take it).
    `expected_state` may be set later, before `start()`."""

    def __init__(self, redirect_uri: str, expected_state: str = "") -> None:
        host, port, family = _bind_address(redirect_uri)
        self.path = urlsplit(redirect_uri).path or "/"
        self.redirect_uri = redirect_uri
        self.expected_state = expected_state
        self._done = threading.Event()
        self._guard = threading.Lock()
        self._code: str | None = None
        self._error: AdsAuthError | None = None
        server_class = _OneShotServer6 if family == socket.AF_INET6 else _OneShotServer
        try:
            self.server = server_class((host, port), _Handler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigurationError(
                    f"port {port} on {host} is already in use: stop what uses it, or pick "
                    "another port in --redirect-uri (and register that URL with your client)"
                ) from None
            raise ConfigurationError(f"cannot listen on {host}:{port}: {exc}") from None
        self.server.listener = self
        host, bound_port = self.server.socket.getsockname()[:2]
        self.address: tuple[str, int] = (str(host), int(bound_port))
        if port == 0:
            self.redirect_uri = _with_port(redirect_uri, int(bound_port))
        self._thread = threading.Thread(target=self._serve, name="login-listener", daemon=True)

    def start(self) -> RedirectListener:
        self._thread.start()
        return self

    def wait(
        self,
        timeout: float = CODE_LIFETIME,
        on_tick: Callable[[float], None] | None = None,
        every: float = 30.0,
    ) -> str:
        """The authorization code; raises LoginTimeoutError, StateMismatchError or
        AuthorizationDeniedError. `on_tick(seconds_left)` is called every `every` seconds
        while it waits. The listener is closed afterwards either way."""
        try:
            deadline = time.monotonic() + timeout
            while not self._done.wait(max(0.0, min(every, deadline - time.monotonic()))):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                if on_tick is not None:
                    on_tick(left)
            if not self._done.is_set():
                raise LoginTimeoutError(
                    f"no consent redirect reached {self.redirect_uri} within {timeout:.0f}s; "
                    "run login again (and finish the consent page within 5 minutes)"
                )
        finally:
            self._done.set()
            if self._thread.is_alive():
                self._thread.join(timeout=5)  # let the browser's page finish sending
            self.close()
        if self._error is not None:
            raise self._error
        assert self._code is not None
        return self._code

    def close(self) -> None:
        self._done.set()
        self.server.server_close()

    def _serve(self) -> None:
        self.server.timeout = 0.2
        while not self._done.is_set():
            try:
                self.server.handle_request()
            except (OSError, ValueError):  # closed under us by close()
                return

    def _receive(self, path: str) -> tuple[int, str]:
        """Handle a request for the redirect path: decide, remember, and build the page."""
        url = f"http://127.0.0.1{path}"
        try:
            code = parse_redirect(url, self.expected_state)
        except StateMismatchError:
            # Not this login's redirect: say so, and keep waiting for the real one.
            return 400, "This is not the redirect of the login in progress; it was ignored."
        except AdsAuthError as exc:
            with self._guard:
                if self._done.is_set():
                    return 404, "Not the login redirect."
                self._error = exc
                self._done.set()
            return 400, f"Login failed: {exc}"
        with self._guard:
            if self._done.is_set():
                return 404, "Not the login redirect."
            self._code = code
            self._done.set()
        return 200, "Amazon Ads access granted. You can close this window."


def _with_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2].rpartition(":")[0]  # keeps [::1]'s brackets
    return parts._replace(netloc=f"{host}:{port}").geturl()


class _OneShotServer(http.server.ThreadingHTTPServer):
    listener: RedirectListener
    daemon_threads = True


class _OneShotServer6(_OneShotServer):
    address_family = socket.AF_INET6


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _OneShotServer
    timeout = _CONNECTION_TIMEOUT  # an idle connection is dropped, never waited on

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the request line carries the code."""

    def do_GET(self) -> None:
        listener = self.server.listener
        if urlsplit(self.path).path != listener.path or listener._done.is_set():
            self._page(404, "Not the login redirect.")
            return
        status, message = listener._receive(self.path)
        self._page(status, message)

    def _page(self, status: int, message: str) -> None:
        body = (
            "<!doctype html><html><head><title>amazon-ads-auth</title></head><body>"
            f"<h1>amazon-ads-auth</h1><p>{html.escape(message)}</p></body></html>"
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
