"""The emulator in process: httpx (sync, async), httpx2 and requests transports and
AdsAuth's own token requests answered by the same models as the socket server, with
sockets made impossible; and `amazon_hosts()`, which stacks, routes every client and
refuses to let an Amazon host reach the network."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

import httpx
import pytest
import requests
import requests.adapters

from amazon_ads_auth import AdsAuth, TokenEndpointError
from amazon_ads_auth._lwa import post as _token_http
from amazon_ads_auth.testing import Emulator, Fault, UnroutableHostError
from tests.accounts import DEMO_PROFILE_ID

httpx2 = pytest.importorskip("httpx2")


class _NoNetworkSocket(socket.socket):
    """socket.socket that refuses to make a network socket (asyncio's own AF_UNIX
    socketpair still works)."""

    def __init__(self, family: Any = -1, type: Any = -1, proto: int = -1, fileno: Any = None):
        if fileno is None and family in (-1, socket.AF_INET, socket.AF_INET6):
            raise AssertionError("a network socket was opened")
        super().__init__(family, type, proto, fileno)


@pytest.fixture
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a network connection was made")

    monkeypatch.setattr(socket, "socket", _NoNetworkSocket)
    monkeypatch.setattr(socket, "create_connection", refuse)


def make_auth(emu: Emulator, **extra: Any) -> AdsAuth:
    return AdsAuth(
        emu.client_id, emu.client_secret, emu.issue_refresh_token(), **emu.auth_kwargs(), **extra
    )


def test_httpx_sync_end_to_end_with_no_socket(no_sockets: None) -> None:
    emu = Emulator()
    with httpx.Client(transport=emu.httpx_transport(), auth=make_auth(emu)) as client:
        profiles = client.get(emu.api_url + "/v2/profiles")
        campaigns = client.post(
            emu.api_url + "/sp/campaigns/list",
            headers={"Amazon-Advertising-API-Scope": str(DEMO_PROFILE_ID)},
        )
    assert profiles.status_code == 200
    assert profiles.json()[0]["timezone"] == "America/Los_Angeles"
    assert campaigns.json()["totalResults"] == 1
    assert emu.token_requests == {"refresh_token": 1}
    assert isinstance(emu.httpx_transport(), httpx.BaseTransport)
    with pytest.raises(AssertionError, match="network socket"):
        socket.socket()  # the guard itself works


def test_httpx_async_end_to_end_with_no_socket(no_sockets: None) -> None:
    emu = Emulator()

    async def main() -> list[int]:
        transport = emu.async_httpx_transport()
        async with httpx.AsyncClient(transport=transport, auth=make_auth(emu)) as client:
            answers = await asyncio.gather(
                *(client.get(emu.api_url + "/v2/profiles") for _ in range(20))
            )
        return [a.status_code for a in answers]

    assert asyncio.run(main()) == [200] * 20
    assert emu.token_request_count == 1


def test_httpx2_end_to_end_with_no_socket(no_sockets: None) -> None:
    emu = Emulator()
    auth = make_auth(emu)
    with httpx2.Client(transport=emu.httpx2_transport(), auth=auth) as client:
        assert client.get(emu.api_url + "/v2/profiles").status_code == 200

    async def main() -> int:
        async with httpx2.AsyncClient(transport=emu.httpx2_transport(), auth=auth) as client:
            return (await client.get(emu.api_url + "/v2/profiles")).status_code

    assert asyncio.run(main()) == 200
    assert emu.token_request_count == 1


def test_requests_adapter_end_to_end_with_no_socket(no_sockets: None) -> None:
    emu = Emulator()
    session = requests.Session()
    session.mount("https://", emu.requests_adapter())
    session.auth = make_auth(emu, profile_id=DEMO_PROFILE_ID)
    answer = session.post(emu.api_url + "/sp/campaigns/list", json={})
    assert answer.status_code == 200 and answer.json()["campaigns"]
    assert emu.api_log[-1].headers["amazon-advertising-api-scope"] == str(DEMO_PROFILE_ID)
    wrong = session.post(
        emu.api_url + "/sp/campaigns/list",
        headers={"Amazon-Advertising-API-Scope": "4242"},
    )
    assert wrong.status_code == 401
    assert wrong.json()["details"] == "Not authorized to access scope 4242"


def test_a_started_emulator_sends_token_requests_in_process_once_a_transport_is_taken(
    no_sockets: None,
) -> None:
    emu = Emulator()
    transport = emu.httpx_transport()
    assert "token_transport" in emu.auth_kwargs()
    assert "token_transport" not in emu.auth_kwargs(in_process=False)
    with httpx.Client(transport=transport, auth=make_auth(emu)) as client:
        assert client.get(emu.api_url + "/v2/profiles").status_code == 200


def test_faults_reach_in_process_clients_as_they_would_over_sockets(no_sockets: None) -> None:
    emu = Emulator()
    emu.httpx_transport()
    emu.queue_token_faults(Fault.drop_connection(), Fault.status_code(503))
    auth = make_auth(emu, retry_backoff=0.0, sleep=lambda _: None)
    assert auth.ensure_token().access_token.startswith("Atza|")
    assert emu.token_request_count == 3  # dropped, 503, then answered
    emu.queue_token_faults(*[Fault.delay(5)] * 4)
    late = make_auth(emu, timeout=0.05, max_retries=0)
    with pytest.raises(TokenEndpointError, match="timed out"):
        late.ensure_token()


# ----- amazon_hosts() -----------------------------------------------------------------------


def test_blocks_stack_and_end_in_any_order() -> None:
    original = requests.adapters.HTTPAdapter.send
    first, second = Emulator(), Emulator()
    url = "https://advertising-api.amazon.com/v2/profiles"
    with contextlib.ExitStack() as outer:
        a = first.amazon_hosts()
        b = second.amazon_hosts()
        a.__enter__()
        b.__enter__()
        auth = production_auth(second)
        assert requests.get(url, auth=auth).status_code == 200
        a.__exit__(None, None, None)  # the first block ends first
        assert requests.get(url, auth=auth).status_code == 200
        assert second.api_requests[200] == 2 and first.api_requests == {}
        b.__exit__(None, None, None)
        outer.close()
    assert requests.adapters.HTTPAdapter.send is original
    assert httpx.HTTPTransport.handle_request.__module__ == "httpx._transports.default"


def production_auth(emu: Emulator) -> AdsAuth:
    """AdsAuth as production code builds it: Amazon's URLs, nothing pointed anywhere."""
    return AdsAuth(emu.client_id, emu.client_secret, emu.issue_refresh_token())


def test_every_client_is_routed_with_and_without_port_443(no_sockets: None) -> None:
    emu = Emulator()
    auth = production_auth(emu)
    with emu.amazon_hosts():
        assert requests.get("https://advertising-api.amazon.com:443/v2/profiles", auth=auth).ok
        assert httpx.get("https://advertising-api-eu.amazon.com/v2/profiles", auth=auth).is_success
        assert httpx2.get(
            "https://advertising-api.amazon.com:443/v2/profiles", auth=auth
        ).is_success

        async def both() -> tuple[int, int]:
            async with httpx.AsyncClient(auth=auth) as one, httpx2.AsyncClient(auth=auth) as two:
                first = await one.get("https://advertising-api-fe.amazon.com/v2/profiles")
                second = await two.get("https://advertising-api.amazon.com/v2/profiles")
                return first.status_code, second.status_code

        assert asyncio.run(both()) == (200, 200)
    assert emu.token_request_count == 1
    assert emu.api_requests == {200: 5}


@pytest.mark.parametrize(
    "url",
    [
        "https://advertising-api.amazon.com:8443/v2/profiles",
        "http://advertising-api.amazon.com/v2/profiles",
        "https://sellingpartnerapi-na.amazon.com/orders",
        "https://offline-report-storage-us-east-1-prod.s3.amazonaws.com/report",
    ],
)
def test_an_amazon_host_it_cannot_route_fails_instead_of_reaching_the_network(
    no_sockets: None, url: str
) -> None:
    emu = Emulator()
    with emu.amazon_hosts():
        with pytest.raises(UnroutableHostError, match="not sent"):
            requests.get(url)
        with pytest.raises(UnroutableHostError):
            httpx.get(url)
        with pytest.raises(UnroutableHostError):
            httpx2.get(url)
        with pytest.raises(UnroutableHostError):
            _token_http.post(url, b"", {}, 1.0)
    assert emu.api_requests == {}


def test_other_hosts_are_left_alone(emulator: Emulator) -> None:
    other = Emulator()
    with other.amazon_hosts():
        answer = httpx.get(emulator.api_url + "/v2/profiles")  # a real loopback server
    assert answer.status_code == 401
    assert emulator.api_requests == {401: 1} and other.api_requests == {}
