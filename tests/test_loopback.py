"""The login listener: 127.0.0.1 only, one request, state checked, bounded wait."""

from __future__ import annotations

import socket

import pytest
import requests

from amazon_ads_auth import AuthorizationDeniedError, ConfigurationError
from amazon_ads_auth.cli.loopback import LoginTimeoutError, RedirectListener, loopback_port


@pytest.fixture
def redirect_uri() -> str:
    return "http://localhost:0/callback"  # port 0: the listener binds a free port


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


def test_wrong_state_is_ignored_and_the_real_redirect_still_wins(redirect_uri: str) -> None:
    listener = RedirectListener(redirect_uri, "expected").start()
    port = listener.address[1]
    base = f"http://127.0.0.1:{port}/callback"
    # A stale tab or a local page probing the port: refused, and the login keeps waiting.
    assert requests.get(f"{base}?code=abc&state=forged", timeout=10).status_code == 400
    assert requests.get(f"{base}?error=access_denied&state=forged", timeout=10).status_code == 400
    assert requests.get(f"{base}?code=abc", timeout=10).status_code == 400
    assert requests.get(f"{base}?code=real&state=expected", timeout=10).status_code == 200
    assert listener.wait(10) == "real"


def test_wrong_state_alone_times_out_without_aborting(redirect_uri: str) -> None:
    listener = RedirectListener(redirect_uri, "expected").start()
    port = listener.address[1]
    page = requests.get(f"http://127.0.0.1:{port}/callback?code=abc&state=forged", timeout=10)
    assert page.status_code == 400
    with pytest.raises(LoginTimeoutError):
        listener.wait(0.3)


def test_an_idle_connection_does_not_block_the_redirect(redirect_uri: str) -> None:
    listener = RedirectListener(redirect_uri, "s").start()
    port = listener.address[1]
    with socket.create_connection(("127.0.0.1", port)) as idle:  # says nothing, stays open
        idle.sendall(b"GET /callback?code=")
        page = requests.get(f"http://127.0.0.1:{port}/callback?code=c&state=s", timeout=10)
        assert page.status_code == 200
        assert listener.wait(10) == "c"


def test_ipv6_loopback_redirect_is_received_on_ipv6() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
            port = probe.getsockname()[1]
    except OSError:
        pytest.skip("::1 is not configured on this machine")
    listener = RedirectListener(f"http://[::1]:{port}/cb", "s").start()
    page = requests.get(f"http://[::1]:{port}/cb?code=v6&state=s", timeout=10)
    assert page.status_code == 200
    assert listener.wait(10) == "v6"


def test_malformed_redirect_uri_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="not a valid URL"):
        RedirectListener("http://[::1/cb", "s")


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


def test_port_zero_listens_on_a_free_port_and_names_it(redirect_uri: str) -> None:
    listener = RedirectListener(redirect_uri, "s").start()
    port = listener.address[1]
    assert port != 0
    assert listener.redirect_uri == f"http://localhost:{port}/callback"
    page = requests.get(f"{listener.redirect_uri}?code=c&state=s", timeout=10)
    assert page.status_code == 200
    assert listener.wait(10) == "c"


def test_which_redirect_uris_are_received_here() -> None:
    assert loopback_port("http://localhost:0/callback") == 0
    assert loopback_port("http://localhost:8765/callback") == 8765
    assert loopback_port("http://127.0.0.1/cb") == 80
    assert loopback_port("https://amazon.com") is None
    assert loopback_port("https://localhost:8765/cb") is None
    assert loopback_port("http://example.com:8765/cb") is None
