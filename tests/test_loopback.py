"""The login listener: 127.0.0.1 only, one request, state checked, bounded wait."""

from __future__ import annotations

import socket

import pytest
import requests

from amazon_ads_auth import AuthorizationDeniedError, ConfigurationError, StateMismatchError
from amazon_ads_auth._loopback import LoginTimeoutError, RedirectListener, loopback_port


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def redirect_uri() -> str:
    return f"http://localhost:{free_port()}/callback"


def test_binds_to_loopback_only(redirect_uri: str) -> None:
    listener = RedirectListener(redirect_uri, "s")
    try:
        assert listener.address[0] == "127.0.0.1"
        assert listener.server.socket.family == socket.AF_INET
    finally:
        listener.close()


def test_receives_the_code_then_refuses_a_second_request(redirect_uri: str) -> None:
    listener = RedirectListener(redirect_uri, "the-state").start()
    port = listener.address[1]
    base = f"http://127.0.0.1:{port}"
    assert requests.get(f"{base}/favicon.ico", timeout=10).status_code == 404
    page = requests.get(f"{base}/callback?code=abc&state=the-state", timeout=10)
    assert page.status_code == 200
    assert "close this window" in page.text
    assert listener.wait(10) == "abc"
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/callback?code=again&state=the-state", timeout=10)


def test_wrong_state_is_rejected(redirect_uri: str) -> None:
    listener = RedirectListener(redirect_uri, "expected").start()
    port = listener.address[1]
    page = requests.get(f"http://127.0.0.1:{port}/callback?code=abc&state=forged", timeout=10)
    assert page.status_code == 400
    with pytest.raises(StateMismatchError):
        listener.wait(10)


def test_denial_is_reported(redirect_uri: str) -> None:
    listener = RedirectListener(redirect_uri, "s").start()
    port = listener.address[1]
    url = f"http://127.0.0.1:{port}/callback?error=access_denied&error_description=no&state=s"
    assert requests.get(url, timeout=10).status_code == 400
    with pytest.raises(AuthorizationDeniedError) as caught:
        listener.wait(10)
    assert caught.value.error == "access_denied"


def test_times_out(redirect_uri: str) -> None:
    listener = RedirectListener(redirect_uri, "s").start()
    with pytest.raises(LoginTimeoutError, match="5 minutes"):
        listener.wait(0.2)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{listener.address[1]}/callback", timeout=10)


def test_taken_port_fails_at_once() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ConfigurationError, match=f"port {port} .* already in use"):
            RedirectListener(f"http://127.0.0.1:{port}/cb", "s")


def test_which_redirect_uris_are_received_here() -> None:
    assert loopback_port("http://localhost:8765/callback") == 8765
    assert loopback_port("http://127.0.0.1/cb") == 80
    assert loopback_port("https://amazon.com") is None
    assert loopback_port("https://localhost:8765/cb") is None
    assert loopback_port("http://example.com:8765/cb") is None
