"""The loopback listener for `login`: receives one consent redirect on 127.0.0.1.

It binds before the browser opens (so a taken port fails at once), listens on 127.0.0.1
only, answers exactly one request on the redirect URI's path, checks `state`, tells the
browser what happened, and closes: a second request finds nothing listening.
"""

from __future__ import annotations

import errno
import html
import http.server
import threading
from typing import Any
from urllib.parse import urlsplit

from ._errors import AdsAuthError, ConfigurationError
from ._lwa import CODE_LIFETIME_SECONDS, parse_redirect
from ._urls import is_loopback

CODE_LIFETIME = float(CODE_LIFETIME_SECONDS)  # wait no longer than a code lives


class LoginTimeoutError(AdsAuthError):
    """No consent redirect arrived in time (codes live 5 minutes, so we wait no longer)."""


def loopback_port(redirect_uri: str) -> int | None:
    """The port to listen on if `redirect_uri` is http://localhost:PORT/... or
    http://127.0.0.1:PORT/..., else None."""
    parts = urlsplit(redirect_uri)
    if parts.scheme != "http" or not parts.hostname or not is_loopback(parts.hostname):
        return None
    try:
        return parts.port or 80
    except ValueError:
        raise ConfigurationError(f"the redirect URI {redirect_uri!r} has an invalid port") from None


class RedirectListener:
    """Receive one redirect for `redirect_uri` and return its authorization code."""

    def __init__(self, redirect_uri: str, expected_state: str) -> None:
        port = loopback_port(redirect_uri)
        if port is None:
            raise ConfigurationError(f"{redirect_uri!r} is not a loopback redirect URI")
        self.path = urlsplit(redirect_uri).path or "/"
        self.redirect_uri = redirect_uri
        self.expected_state = expected_state
        self._done = threading.Event()
        self._code: str | None = None
        self._error: AdsAuthError | None = None
        try:
            self.server = _OneShotServer(("127.0.0.1", port), _Handler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigurationError(
                    f"port {port} on 127.0.0.1 is already in use: stop what uses it, or pick "
                    "another port in --redirect-uri (and register that URL with your client)"
                ) from None
            raise ConfigurationError(f"cannot listen on 127.0.0.1:{port}: {exc}") from None
        self.server.listener = self
        host, bound_port = self.server.socket.getsockname()[:2]
        self.address: tuple[str, int] = (str(host), int(bound_port))
        self._thread = threading.Thread(target=self._serve, name="login-listener", daemon=True)

    def start(self) -> RedirectListener:
        self._thread.start()
        return self

    def wait(self, timeout: float = CODE_LIFETIME) -> str:
        """The authorization code; raises LoginTimeoutError, StateMismatchError or
        AuthorizationDeniedError. The listener is closed afterwards either way."""
        try:
            if not self._done.wait(timeout):
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
            self._code = parse_redirect(url, self.expected_state)
            status, page = 200, "Amazon Ads access granted. You can close this window."
        except AdsAuthError as exc:
            self._error = exc
            status, page = 400, f"Login failed: {exc}"
        self._done.set()
        return status, page


class _OneShotServer(http.server.HTTPServer):
    listener: RedirectListener


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _OneShotServer

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
