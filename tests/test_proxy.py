"""Token requests through an HTTP proxy that wants a password: a real CONNECT proxy on
loopback that requires Basic auth and tunnels to a local TLS endpoint (a certificate for
`lwa.test` from a test CA given in SSL_CERT_FILE), which forwards to the emulator."""

from __future__ import annotations

import base64
import socket
import socketserver
import ssl
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from amazon_ads_auth import AdsAuth, ProxyAuthenticationError
from amazon_ads_auth.testing import Emulator

trustme = pytest.importorskip("trustme", reason="pip install trustme (the test extras)")

USER, PASSWORD = "proxy-user", "proxy-pa:ss@word"
HOST = "lwa.test"


def read_head(sock: Any) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


class ConnectProxy(socketserver.ThreadingTCPServer):
    """CONNECT host:443 with the right Proxy-Authorization: TLS for `lwa.test` (the test
    CA's certificate) in front of the emulator's plain HTTP port, one request a tunnel."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, emulator: Emulator, tls: ssl.SSLContext) -> None:
        self.emulator = emulator
        self.tls = tls
        self.seen_auth: list[str | None] = []
        self.connects: list[str] = []
        super().__init__(("127.0.0.1", 0), ProxyHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class ProxyHandler(socketserver.BaseRequestHandler):
    server: ConnectProxy

    def handle(self) -> None:
        head = read_head(self.request).decode("latin-1")
        lines = head.split("\r\n")
        self.server.connects.append(lines[0])
        auth = next(
            (
                line.split(":", 1)[1].strip()
                for line in lines[1:]
                if line.lower().startswith("proxy-authorization:")
            ),
            None,
        )
        self.server.seen_auth.append(auth)
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if not lines[0].startswith(f"CONNECT {HOST}:443 ") or auth != expected:
            self.request.sendall(
                b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                b'Proxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n'
            )
            return
        self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        with self.server.tls.wrap_socket(self.request, server_side=True) as tunnel:
            request = read_head(tunnel)
            head, _, body = request.partition(b"\r\n\r\n")
            length = next(
                (
                    int(h.split(b":")[1])
                    for h in head.split(b"\r\n")
                    if h.lower().startswith(b"content-length:")
                ),
                0,
            )
            while len(body) < length:
                body += tunnel.recv(4096)
            head = head.replace(b"Connection: keep-alive", b"Connection: close")
            upstream = socket.create_connection(("127.0.0.1", self.server.emulator.port))
            with upstream:
                upstream.sendall(head + b"\r\nConnection: close\r\n\r\n" + body)
                answer = b""
                while chunk := upstream.recv(65536):
                    answer += chunk
            tunnel.sendall(answer)


@pytest.fixture
def proxied(
    emulator: Emulator, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ConnectProxy]:
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST).configure_cert(server_context)
    proxy = ConnectProxy(emulator, server_context)
    thread = threading.Thread(target=proxy.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    for name in ("NO_PROXY", "no_proxy", "http_proxy", "https_proxy", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    try:
        yield proxy
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join()


def auth_via(emulator: Emulator) -> AdsAuth:
    return AdsAuth(
        emulator.client_id,
        emulator.client_secret,
        emulator.issue_refresh_token(),
        token_url=f"https://{HOST}/auth/o2/token",
        api_hosts=[emulator.api_host],
        max_retries=2,
        sleep=lambda seconds: None,
    )


def with_userinfo(url: str, user: str, password: str) -> str:
    from urllib.parse import quote

    return url.replace("http://", f"http://{quote(user, safe='')}:{quote(password, safe='')}@")


def test_proxy_credentials_become_proxy_authorization(
    proxied: ConnectProxy, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", with_userinfo(proxied.url, USER, PASSWORD))
    token = auth_via(emulator).ensure_token()
    assert emulator.is_valid_access_token(token.access_token)
    assert proxied.connects == [f"CONNECT {HOST}:443 HTTP/1.1"]
    assert emulator.token_requests == {"refresh_token": 1}


def test_a_407_is_a_clear_error_not_a_retry_and_hides_the_password(
    proxied: ConnectProxy,
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = "wrong-" + PASSWORD
    monkeypatch.setenv("HTTPS_PROXY", with_userinfo(proxied.url, USER, wrong))
    with pytest.raises(ProxyAuthenticationError) as caught:
        auth_via(emulator).ensure_token()
    assert "proxy refused the credentials" in str(caught.value)
    assert len(proxied.connects) == 1  # never retried as if transient
    assert emulator.token_requests == {}
    shown = [str(caught.value), repr(caught.value), *(r.getMessage() for r in caplog.records)]
    assert not any(wrong in text or "wrong-proxy" in text for text in shown)
    monkeypatch.setenv("HTTPS_PROXY", proxied.url)  # no credentials at all: the same
    with pytest.raises(ProxyAuthenticationError):
        auth_via(emulator).ensure_token()


def test_a_script_behind_the_proxy_in_its_own_process(
    proxied: ConnectProxy, emulator: Emulator, tmp_path: Any
) -> None:
    import os
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from amazon_ads_auth import AdsAuth\n"
        f"auth = AdsAuth({emulator.client_id!r}, {emulator.client_secret!r}, "
        f"{emulator.issue_refresh_token()!r}, token_url='https://{HOST}/auth/o2/token', "
        f"api_hosts=[{emulator.api_host!r}], max_retries=0)\n"
        "print(auth.ensure_token().access_token)\n"
    )
    env = {**os.environ, "HTTPS_PROXY": with_userinfo(proxied.url, USER, PASSWORD)}
    ok = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert ok.returncode == 0, ok.stderr
    assert emulator.is_valid_access_token(ok.stdout.strip())
    env["HTTPS_PROXY"] = with_userinfo(proxied.url, USER, "not-" + PASSWORD)
    refused = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 1
    assert "ProxyAuthenticationError" in refused.stderr and "not-" + PASSWORD not in refused.stderr
