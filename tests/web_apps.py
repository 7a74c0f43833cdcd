"""What the web-flow tests share: a ConsentFlow on the emulator, servers on loopback ports
(uvicorn for ASGI, werkzeug for WSGI), and a person with a browser (a requests session
that follows Amazon's consent page and picks an account)."""

from __future__ import annotations

import contextlib
import dataclasses
import email.message
import html
import http.cookiejar
import re
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

from amazon_ads_auth import MemoryTokenStore
from amazon_ads_auth.testing import Emulator, account_profile
from amazon_ads_auth.web import ConsentFlow
from tests.conftest import SENTINEL_SECRET_KEY, eventually

# Two Amazon accounts, each with profiles of its own.
ACCOUNTS = {
    "alice": [account_profile(111, "Alice Store")],
    "bob": [
        account_profile(222, "Bob US"),
        account_profile(223, "Bob DE", country="DE", currency="EUR"),
    ],
}


def add_accounts(emulator: Emulator) -> None:
    for name, profiles in ACCOUNTS.items():
        emulator.add_account(name, profiles)


def free_socket() -> socket.socket:
    """A listening-ready socket bound to a free loopback port (so the redirect URI is known
    before the app that serves it is made)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def make_flow(emulator: Emulator, port: int, store: Any = None, **overrides: Any) -> ConsentFlow:
    kwargs: dict[str, Any] = {
        "store": store if store is not None else MemoryTokenStore(),
        "redirect_uri": f"http://127.0.0.1:{port}/amazon-ads/callback",
        "secret_key": SENTINEL_SECRET_KEY,
        "clock": emulator.clock,
        **emulator.consent_flow_kwargs(),
    }
    kwargs.update(overrides)
    return ConsentFlow(emulator.client_id, emulator.client_secret, **kwargs)


@contextlib.contextmanager
def serve_asgi(app: Any, sock: socket.socket) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on `sock`; yields its base URL."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        eventually(lambda: server.started, timeout=20)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


@contextlib.contextmanager
def serve_wsgi(app: Any, sock: socket.socket) -> Iterator[str]:
    """Serve a WSGI app with werkzeug on `sock`; yields its base URL."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass  # an access log line holds the callback's URL, code and all

    port = sock.getsockname()[1]
    sock.listen(64)
    server = make_server(
        "127.0.0.1", port, app, threaded=True, request_handler=Quiet, fd=sock.fileno()
    )
    # socketserver notices shutdown() only between polls: werkzeug's default of 0.5 s made
    # every teardown wait that long; 10 ms costs nothing while a test runs.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=20)
        server.server_close()


@dataclasses.dataclass
class Page:
    """One answer as the person's browser got it."""

    status_code: int
    headers: email.message.Message
    text: str

    @property
    def set_cookies(self) -> list[str]:
        return self.headers.get_all("Set-Cookie") or []


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the person follows each redirect by hand, to look at it


class Person:
    """Someone at a browser: signed in to the app as `tenant` (a cookie), and able to
    sign in to Amazon (the emulator) as an account. The browser is urllib with a cookie
    jar: it writes no log records (a browser's URLs, which carry the code, are not in the
    app's logs). Every page seen is kept, so tests can scan them for secrets."""

    def __init__(self, app_url: str, tenant: str | None) -> None:
        self.app_url = app_url
        self.jar = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirects()
        )
        self.pages: list[str] = []
        if tenant is not None:
            self.sign_in(tenant)

    def sign_in(self, tenant: str) -> None:
        self.set_cookie("tenant", tenant)

    def set_cookie(self, name: str, value: str) -> None:
        self.jar.set_cookie(
            http.cookiejar.Cookie(
                0, name, value, None, False, "127.0.0.1", True, False, "/", True, False,
                None, False, None, None, {},
            )
        )  # fmt: skip

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)

    def drop_cookie(self, name: str) -> None:
        for cookie in list(self.jar):
            if cookie.name == name:
                self.jar.clear(cookie.domain, cookie.path, cookie.name)

    def get(self, url: str) -> Page:
        try:
            answer = self._opener.open(urljoin(self.app_url, url), timeout=30)
        except urllib.error.HTTPError as error:
            answer = error
        with answer:
            page = Page(answer.status, answer.headers, answer.read().decode("utf-8", "replace"))
        self.pages.append(page.text)
        return page

    def consent_at_amazon(self, consent_url: str, account: str | None = "alice") -> str:
        """Open Amazon's consent page, pick `account` (None: Cancel); the callback URL
        Amazon redirects to."""
        page = self.get(consent_url)
        if page.status_code == 200:
            wanted = "cancel" if account is None else f"account-{account}"
            link = re.search(rf'id="{re.escape(wanted)}" href="([^"]+)"', page.text)
            assert link is not None, page.text
            page = self.get(urljoin(consent_url, html.unescape(link[1])))
        assert page.status_code == 302, page.text
        return str(page.headers["location"])

    def connect(self, query: str = "", account: str | None = "alice") -> Page:
        """Click Connect, consent at Amazon, and come back: the callback's answer."""
        started = self.get("/amazon-ads/connect" + query)
        assert started.status_code == 302, started.text
        return self.get(self.consent_at_amazon(started.headers["location"], account))
