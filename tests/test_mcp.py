"""Amazon's Ads MCP server through this library: McpAuth in the official `mcp` SDK, the
stdio bridge (spawned by the SDK's stdio client), the loopback proxy, the assistant
configs, and the emulated endpoint they all talk to. Time moves on the emulator's
FakeClock; nothing sleeps to wait."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pathlib
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

pytest.importorskip("mcp")
import httpx2
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from amazon_ads_auth import AdsAuth, ConfigurationError, FileTokenStore
from amazon_ads_auth._logins.records import Login, save_login
from amazon_ads_auth.cli import main
from amazon_ads_auth.mcp import AMAZON_MCP, Fixed, McpAuth, McpEndpoints, mcp_url
from amazon_ads_auth.testing import Emulator, FakeClock, RecordingServer
from amazon_ads_auth.testing._mcp import mcp_endpoint
from tests.conftest import SecretScanner

LIFETIME = 3600
PROFILE = 42  # one of tests.accounts.TEST_PROFILE_IDS


# ----- helpers --------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def sdk_session(auth: McpAuth, url: str | None = None) -> AsyncIterator[Client]:
    """The three lines the docs show: McpAuth on an httpx2 client, in the SDK."""
    async with httpx2.AsyncClient(auth=auth) as http:  # type: ignore[arg-type]
        transport = streamable_http_client(url or auth.url, http_client=http)
        async with Client(transport, mode="legacy") as client:
            yield client


async def use_tools(client: Client) -> None:
    """List the tools and call two of them; any error fails the test."""
    tools = await client.list_tools()
    assert {"list_profiles", "list_campaigns"} <= {t.name for t in tools.tools}
    profiles = await client.call_tool("list_profiles", {})
    assert not profiles.is_error
    assert PROFILE in [p["profileId"] for p in json.loads(profiles.content[0].text)]
    campaigns = await client.call_tool("list_campaigns", {})
    assert not campaigns.is_error and "campaigns" in json.loads(campaigns.content[0].text)


def stored_login(emulator: Emulator, clock: FakeClock, key: str = "default") -> str:
    """A login in the CLI's file store with a fresh token, as `amazon-ads-auth login` leaves
    it; returns its refresh token."""
    refresh = emulator.issue_refresh_token()
    auth = AdsAuth(
        emulator.client_id,
        emulator.client_secret,
        refresh,
        store=FileTokenStore(),
        store_key=key,
        clock=clock,
        **emulator.auth_kwargs(),
    )
    auth.ensure_token()
    auth.close()
    record = Login(
        emulator.client_id,
        key,
        client_secret=emulator.client_secret,
        token_url=emulator.token_url,
        authorization_url=emulator.authorization_url,
        api_url=emulator.api_url,
    )
    save_login(FileTokenStore(), record.with_profiles(emulator.profiles))
    emulator.reset_counters()
    return refresh


def bridge_env(emulator: Emulator, **extra: str) -> dict[str, str]:
    return {**os.environ, "AMAZON_ADS_MCP_URL": emulator.api_url + "/mcp", **extra}


def scan(scanner: SecretScanner, where: str, text: str) -> None:
    """Hand `text` to the suite-wide secret scanner (checked at teardown)."""
    scanner.texts.append((where, text))


def errors_seen(emulator: Emulator) -> list[Any]:
    return [c for c in mcp_endpoint(emulator).calls if c.status >= 400 and c.status != 405]


# ----- the data and the typed account choice ----------------------------------------------------


def test_hosts_paths_and_headers_are_data_with_the_regions_urls() -> None:
    assert AMAZON_MCP.url("na") == "https://advertising-ai.amazon.com/mcp"
    assert AMAZON_MCP.url("eu") == "https://advertising-ai-eu.amazon.com/mcp"
    assert AMAZON_MCP.url("fe", lite=True) == "https://advertising-ai-fe.amazon.com/mcp/lite"
    other = McpEndpoints(path="/v2/mcp", client_id_header="X-Client")
    assert other.url("na").endswith("/v2/mcp")
    assert mcp_url("http://127.0.0.1:9/mcp", "na", lite=True) == "http://127.0.0.1:9/mcp/lite"
    with pytest.raises(ConfigurationError, match="https"):
        mcp_url("http://example.com/mcp", "na")


def test_the_url_defaults_to_the_regions_amazon_host(make_auth: Any) -> None:
    auth = McpAuth(make_auth(region="eu"), lite=True)
    assert auth.url == "https://advertising-ai-eu.amazon.com/mcp/lite"
    assert auth.sends_token_to("https://advertising-ai-eu.amazon.com:443/mcp")
    assert not auth.sends_token_to("https://advertising-ai.amazon.com/mcp")
    assert not auth.sends_token_to("https://advertising-ai-eu.amazon.com.evil.example/mcp")
    assert not auth.sends_token_to("http://advertising-ai-eu.amazon.com/mcp")


@pytest.mark.parametrize(
    ("account", "headers"),
    [
        (Fixed(profile_id=42), {"Amazon-Advertising-API-Scope": "42"}),
        (
            Fixed(account_id="amzn1.ads-account.g.1"),
            {"Amazon-Ads-AccountID": "amzn1.ads-account.g.1"},
        ),
        (
            Fixed(manager_account_id="amzn1.ads-manager.9"),
            {"Amazon-Ads-Manager-AccountID": "amzn1.ads-manager.9"},
        ),
    ],
)
def test_fixed_account_mode_sends_the_mode_and_one_id(
    account: Fixed, headers: dict[str, str]
) -> None:
    assert account.headers() == {"Amazon-Ads-AI-Account-Selection-Mode": "FIXED", **headers}


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"profile_id": 1, "account_id": "a"}, {"profile_id": "-5"}, {"account_id": "a\nb"}],
)
def test_a_fixed_account_takes_exactly_one_usable_id(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        Fixed(**kwargs)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ({"code": -32001, "message": "Unauthorized"}, True),
        ({"code": -32000, "message": "Token expired, please refresh"}, True),
        ({"code": -32602, "message": "unknown tool"}, False),
        ({"code": -32603, "message": "internal"}, False),
        ("not an object", False),
    ],
)
def test_which_json_rpc_errors_mean_the_token(error: Any, expected: bool) -> None:
    assert AMAZON_MCP.is_token_error(error) is expected


def test_importing_the_package_or_the_emulator_loads_no_mcp_sdk() -> None:
    code = (
        "import sys, amazon_ads_auth, amazon_ads_auth.testing, amazon_ads_auth.mcp\n"
        "print(sorted(m for m in ('mcp', 'httpx2', 'uvicorn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# ----- the emulated endpoint ------------------------------------------------------------------


def test_the_emulated_endpoint_works_without_the_mcp_package() -> None:
    code = """
import sys
sys.modules["mcp"] = None  # `import mcp` fails from here on: as without the extra
import httpx
from amazon_ads_auth import AdsAuth
from amazon_ads_auth.mcp import McpAuth
from amazon_ads_auth.testing import Emulator
with Emulator() as emu:
    refresh = emu.issue_refresh_token()
    ads = AdsAuth(emu.client_id, emu.client_secret, refresh, **emu.auth_kwargs())
    auth = McpAuth(ads, url=emu.api_url + "/mcp")
    params = {"protocolVersion": "2025-06-18"}
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}
    r = httpx.post(auth.url, json=body, auth=auth)
    name = r.json()["result"]["serverInfo"]["name"]
    print(r.status_code, bool(r.headers.get("mcp-session-id")), name)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["200", "True", "amazon-ads-emulator"]


def test_the_emulated_endpoint_enforces_the_header_rules(emulator: Emulator) -> None:
    url = emulator.api_url + "/mcp"
    token = emulator.issue_refresh_token()
    ads = AdsAuth(emulator.client_id, emulator.client_secret, token, **emulator.auth_kwargs())
    bearer = ads.headers()["Authorization"]
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
    client_id = {"Amazon-Ads-ClientId": emulator.client_id}

    def post(headers: dict[str, str]) -> httpx.Response:
        return httpx.post(url, json=body, headers=headers)

    assert post({}).status_code == 401
    assert post({"Authorization": "Bearer Atza|nope", **client_id}).status_code == 401
    legacy = post({"Authorization": bearer, "Amazon-Advertising-API-ClientId": emulator.client_id})
    assert legacy.status_code == 400
    assert "Amazon-Ads-ClientId" in legacy.json()["error"]["message"]
    mode = "Amazon-Ads-AI-Account-Selection-Mode"
    bad_mode = post({"Authorization": bearer, **client_id, mode: "SOMETIMES"})
    assert bad_mode.status_code == 400 and "FIXED" in bad_mode.json()["error"]["message"]
    no_id = post({"Authorization": bearer, **client_id, mode: "FIXED"})
    assert no_id.status_code == 400 and "Scope" in no_id.json()["error"]["message"]
    fixed = post(
        {"Authorization": bearer, **client_id, mode: "FIXED", "Amazon-Advertising-API-Scope": "42"}
    )
    assert fixed.status_code == 200 and fixed.headers["mcp-session-id"]
    ads.close()


# ----- McpAuth in the SDK -------------------------------------------------------------------


def test_a_sdk_session_through_mcpauth_outlives_8_expiries_with_8_token_requests(
    make_auth: Any, emulator: Emulator, clock: FakeClock
) -> None:
    ads = make_auth()
    ads.ensure_token()
    emulator.reset_counters()
    auth = McpAuth(ads, url=emulator.api_url + "/mcp", account=Fixed(profile_id=PROFILE))

    async def session() -> None:
        async with sdk_session(auth) as client:
            await use_tools(client)
            for _ in range(8):
                clock.advance(LIFETIME + 1)
                await use_tools(client)

    asyncio.run(session())
    assert emulator.token_request_count == 8
    assert errors_seen(emulator) == []
    sent = [c.headers for c in mcp_endpoint(emulator).calls]
    assert all(h["amazon-ads-clientid"] == emulator.client_id for h in sent)
    assert all(h["amazon-ads-ai-account-selection-mode"] == "FIXED" for h in sent)
    assert all(h["amazon-advertising-api-scope"] == str(PROFILE) for h in sent)
    assert all("amazon-advertising-api-clientid" not in h for h in sent)
    assert len({h["mcp-session-id"] for h in sent if "mcp-session-id" in h}) == 1


@pytest.mark.parametrize("token_errors", ["http", "jsonrpc"])
def test_a_rejected_token_is_refreshed_once_and_replayed_once(
    make_auth: Any, emulator: Emulator, clock: FakeClock, token_errors: str
) -> None:
    """The emulator's clock moves, the auth's does not: every expiry is discovered by the
    server (401, or a JSON-RPC token error) and cured by one refresh and one replay."""
    ads = make_auth(clock=time.time)
    ads.ensure_token()
    emulator.reset_counters()
    mcp_endpoint(emulator).token_errors = token_errors
    auth = McpAuth(ads, url=emulator.api_url + "/mcp")

    async def session() -> None:
        async with sdk_session(auth) as client:
            for _ in range(8):
                clock.advance(LIFETIME + 1)
                await use_tools(client)

    asyncio.run(session())
    assert emulator.token_request_count == 8


def test_a_token_the_server_keeps_refusing_costs_one_refresh_not_a_loop(
    make_auth: Any, emulator: Emulator, clock: FakeClock
) -> None:
    """Every new token is already expired by the emulator's clock: one refresh, one replay,
    then the 401 is the caller's."""
    emulator.access_token_lifetime = 30
    ads = make_auth(clock=time.time, refresh_margin=0, on_new_token=lambda _: clock.advance(60))
    ads.ensure_token()
    emulator.reset_counters()
    auth = McpAuth(ads, url=emulator.api_url + "/mcp")
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    assert httpx.post(auth.url, json=ping, auth=auth).status_code == 401
    assert emulator.token_request_count == 1
    assert httpx.post(auth.url, json=ping, auth=auth).status_code == 401
    assert emulator.token_request_count == 1  # that token and scope: a refresh did not help


def test_mcpauth_sends_nothing_to_another_host(make_auth: Any, emulator: Emulator) -> None:
    auth = McpAuth(make_auth(), url=emulator.api_url + "/mcp")
    with RecordingServer() as elsewhere:
        emulator.report_location = elsewhere.url
        assert not auth.sends_token_to(elsewhere.url + "/r1")
        assert auth.sends_token_to(emulator.api_url + "/mcp/lite")

        async def session() -> str:
            async with sdk_session(auth) as client:
                result = await client.call_tool("get_report_url", {"reportId": "r1"})
                return str(json.loads(result.content[0].text)["url"])

        link = asyncio.run(session())
        assert link.startswith(elsewhere.url)
        httpx.get(link, auth=auth)  # the tool's link, fetched with the auth on
        mcp_endpoint(emulator).redirect_to = elsewhere.url + "/moved"

        async def redirected() -> None:
            async with sdk_session(auth) as client:
                await client.list_tools()

        with pytest.raises(BaseException):  # noqa: B017, PT011 (the SDK's own error group)
            asyncio.run(redirected())
        seen = [{k.lower() for k in h} for h in elsewhere.requests]
    assert seen, "the link was fetched"
    for headers in seen:
        assert "authorization" not in headers and "amazon-ads-clientid" not in headers


def test_from_login_and_from_env_build_the_same_auth(
    emulator: Emulator, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored_login(emulator, clock)
    monkeypatch.setenv("AMAZON_ADS_MCP_URL", emulator.api_url + "/mcp")
    from_login = McpAuth.from_login(profile_id=PROFILE)
    assert from_login.url == emulator.api_url + "/mcp"
    assert from_login.account == Fixed(profile_id=PROFILE)
    monkeypatch.setenv("AMAZON_ADS_CLIENT_ID", emulator.client_id)
    from_env = McpAuth.from_env(lite=True)
    assert from_env.url == emulator.api_url + "/mcp/lite" and from_env.account is None

    async def session() -> None:
        async with sdk_session(from_login) as client:
            await use_tools(client)
        async with sdk_session(from_env) as lite:
            names = {t.name for t in (await lite.list_tools()).tools}
            assert names == {"list_available_tools", "call_tool"}

    asyncio.run(session())
    assert emulator.token_request_count == 0  # the stored token served both
    assert "Atza|" not in repr(from_login)


# ----- the stdio bridge -------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def bridge_session(env: dict[str, str], errlog: Any, *args: str) -> AsyncIterator[Client]:
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "amazon_ads_auth", "mcp", "stdio", *args],
        env=env,
    )
    async with Client(stdio_client(server, errlog=errlog), mode="legacy") as client:
        yield client


def test_a_bridge_session_outlives_8_expiries_with_8_token_requests(
    emulator: Emulator, clock: FakeClock, tmp_path: pathlib.Path, secret_scanner: SecretScanner
) -> None:
    stored_login(emulator, clock)
    stderr_path = tmp_path / "stderr.txt"

    async def session() -> None:
        with stderr_path.open("w") as errlog:
            async with bridge_session(
                bridge_env(emulator), errlog, "--profile-id", str(PROFILE)
            ) as client:
                await use_tools(client)
                for _ in range(8):
                    clock.advance(LIFETIME + 1)
                    await use_tools(client)

    asyncio.run(session())
    assert emulator.token_request_count == 8
    calls = mcp_endpoint(emulator).calls
    assert {c.status for c in calls} <= {200, 202, 401, 405}  # 401s were cured, never surfaced
    assert [
        c.rpc_method for c in calls if c.http_method == "DELETE" or c.rpc_method == "initialize"
    ] == [
        "initialize",
        None,
    ]
    later = [c for c in calls if c.rpc_method == "tools/call"]
    assert all(c.headers.get("mcp-protocol-version") for c in later)
    assert len({c.headers["mcp-session-id"] for c in later}) == 1
    assert all(c.headers["amazon-advertising-api-scope"] == str(PROFILE) for c in later)
    scan(secret_scanner, "the bridge's stderr", stderr_path.read_text())


def test_a_revoked_grant_gives_one_clear_error_per_request_and_no_crash(
    emulator: Emulator, clock: FakeClock, tmp_path: pathlib.Path, secret_scanner: SecretScanner
) -> None:
    refresh = stored_login(emulator, clock)
    stderr_path = tmp_path / "stderr.txt"

    async def session() -> list[str]:
        messages = []
        with stderr_path.open("w") as errlog:
            async with bridge_session(bridge_env(emulator), errlog) as client:
                await use_tools(client)
                emulator.revoke_refresh_token(refresh)
                clock.advance(LIFETIME + 1)
                for _ in range(3):
                    with pytest.raises(MCPError) as caught:
                        await client.call_tool("list_profiles", {})
                    messages.append(str(caught.value))
        return messages

    messages = asyncio.run(session())
    assert all("amazon-ads-auth login" in m for m in messages)
    assert emulator.token_requests["refresh_token"] == 3  # one try per request, never a loop
    stderr = stderr_path.read_text()
    assert "Traceback" not in stderr
    scan(secret_scanner, "the bridge's stderr", stderr)


def test_without_a_login_the_bridge_answers_with_the_login_command(tmp_path: pathlib.Path) -> None:
    async def session() -> str:
        with (tmp_path / "stderr.txt").open("w") as errlog:
            try:
                async with bridge_session({**os.environ}, errlog):
                    pass
            except BaseException as exc:
                return repr(exc)
        return ""

    failure = asyncio.run(session())
    assert "amazon-ads-auth login" in failure


def test_the_bridge_does_not_follow_a_redirect_to_another_host(
    emulator: Emulator, clock: FakeClock, tmp_path: pathlib.Path
) -> None:
    stored_login(emulator, clock)
    with RecordingServer() as elsewhere:

        async def session() -> str:
            with (tmp_path / "stderr.txt").open("w") as errlog:
                async with bridge_session(bridge_env(emulator), errlog) as client:
                    mcp_endpoint(emulator).redirect_to = elsewhere.url + "/moved"
                    with pytest.raises(MCPError) as caught:
                        await client.list_tools()
                    mcp_endpoint(emulator).redirect_to = None
                    return str(caught.value)

        message = asyncio.run(session())
        assert "not followed" in message
        assert elsewhere.requests == []


# ----- concurrency: 20 sessions in 4 processes --------------------------------------------------


def _worker(url: str, rounds: int, barrier: Any, results: Any, home: str) -> None:
    os.environ["HOME"] = home
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        os.environ[name] = os.path.join(home, name.lower())

    async def run() -> int:
        auth = McpAuth.from_login(url=url)
        errors = 0
        async with contextlib.AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(sdk_session(auth)) for _ in range(5)]
            for _ in range(rounds):
                outcomes = await asyncio.gather(
                    *(c.call_tool("list_profiles", {}) for c in clients), return_exceptions=True
                )
                errors += sum(1 for o in outcomes if isinstance(o, BaseException) or o.is_error)
                await asyncio.to_thread(barrier.wait)  # the parent moves the clock
                await asyncio.to_thread(barrier.wait)
        return errors

    results.put(asyncio.run(run()))


@pytest.mark.slow  # four spawned interpreters loading the SDK: about 20 s on two cores
def test_20_sessions_in_4_processes_share_one_token_request_per_expiry(
    emulator: Emulator, clock: FakeClock
) -> None:
    import multiprocessing

    stored_login(emulator, clock)
    rounds = 3
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(5, timeout=60)
    results = context.Queue()
    home = os.environ["HOME"]
    workers = [
        context.Process(
            target=_worker, args=(emulator.api_url + "/mcp", rounds, barrier, results, home)
        )
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for _ in range(rounds):
        barrier.wait()  # every session made its call
        clock.advance(LIFETIME + 1)
        barrier.wait()
    errors = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    assert errors == [0, 0, 0, 0]
    # One per expiry: the last one is met by the 20 sessions' closing DELETEs.
    assert emulator.token_request_count == rounds
    assert (
        len({c.headers.get("mcp-session-id") for c in mcp_endpoint(emulator).calls} - {None}) == 20
    )


# ----- the loopback proxy -----------------------------------------------------------------------


@contextlib.contextmanager
def running_proxy(
    emulator: Emulator, tmp_path: pathlib.Path, *args: str
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    stderr = (tmp_path / "proxy-stderr.txt").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "amazon_ads_auth", "mcp", "proxy", *args],
        env=bridge_env(emulator),
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://"), (tmp_path / "proxy-stderr.txt").read_text()
        yield url, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
        stderr.close()


def test_the_proxy_serves_a_session_with_fresh_headers_and_stops_on_sigterm(
    emulator: Emulator, clock: FakeClock, tmp_path: pathlib.Path, secret_scanner: SecretScanner
) -> None:
    stored_login(emulator, clock)
    with running_proxy(emulator, tmp_path, "--profile-id", str(PROFILE)) as (url, process):
        assert url.startswith("http://127.0.0.1:") and url.endswith("/mcp")
        assert len(url.split("/")[3]) >= 40  # the capability

        async def session() -> None:
            async with Client(url, mode="legacy") as c:  # a URL is all it needs
                await use_tools(c)
                for _ in range(3):
                    clock.advance(LIFETIME + 1)
                    await use_tools(c)

        asyncio.run(session())
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert process.stdout is not None and process.stdout.read() == ""  # printed once
    assert emulator.token_request_count == 3
    logs = (tmp_path / "proxy-stderr.txt").read_text()
    assert url.split("/")[3] not in logs
    scan(secret_scanner, "the proxy's logs", logs)


def test_the_proxy_refuses_a_wrong_path_a_foreign_origin_and_a_wrong_host(
    emulator: Emulator, clock: FakeClock, tmp_path: pathlib.Path
) -> None:
    stored_login(emulator, clock)
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    with running_proxy(emulator, tmp_path) as (url, _):
        base = url.rsplit("/", 2)[0]
        assert httpx.post(base + "/guess/mcp", json=body).status_code == 404
        assert httpx.post(base + "/mcp", json=body).status_code == 404
        evil = httpx.post(url, json=body, headers={"Origin": "http://evil.example"})
        assert evil.status_code == 403
        rebound = httpx.post(url, json=body, headers={"Host": "evil.example:80"})
        assert rebound.status_code == 421
        local = httpx.post(url, json=body, headers={"Origin": base})
        assert local.status_code == 400  # it reached the endpoint: a ping needs a session
    reached = mcp_endpoint(emulator).calls
    assert [c.rpc_method for c in reached] == ["ping"]  # the refused ones never left
    assert "origin" not in reached[0].headers


@pytest.mark.parametrize("listen", ["0.0.0.0", "192.168.1.10", "::", "example.com"])
def test_the_proxy_refuses_to_listen_beyond_loopback(listen: str) -> None:
    result = CliRunner().invoke(main, ["mcp", "proxy", "--listen", listen])
    assert result.exit_code == 2
    assert "loopback" in result.output


# ----- assistant configs ------------------------------------------------------------------------


@pytest.mark.parametrize("client", ["claude-desktop", "claude-code", "cursor", "kiro"])
def test_config_runs_the_stdio_bridge_and_holds_no_token(client: str) -> None:
    result = CliRunner().invoke(main, ["mcp", "config", "--client", client, "--profile-id", "42"])
    assert result.exit_code == 0, result.output
    entry = json.loads(result.output)["mcpServers"]["amazon-ads"]
    assert entry["command"] == sys.executable
    assert entry["args"] == ["-m", "amazon_ads_auth", "mcp", "stdio", "--profile-id", "42"]
    assert "Atza|" not in result.output and "Bearer" not in result.output


def test_config_write_merges_keeps_a_backup_and_shows_the_diff(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "mcp.json"
    before = {"mcpServers": {"other": {"command": "other-server"}}, "theme": "dark"}
    path.write_text(json.dumps(before))
    result = CliRunner().invoke(
        main, ["mcp", "config", "--client", "cursor", "--write", "--path", str(path)]
    )
    assert result.exit_code == 0, result.output
    after = json.loads(path.read_text())
    assert after["theme"] == "dark" and set(after["mcpServers"]) == {"other", "amazon-ads"}
    backups = list(tmp_path.glob("mcp.json.bak-*"))
    assert len(backups) == 1 and json.loads(backups[0].read_text()) == before
    assert '+    "amazon-ads": {' in result.output
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    refused = CliRunner().invoke(
        main, ["mcp", "config", "--client", "kiro", "--write", "--path", str(broken)]
    )
    assert refused.exit_code == 1 and broken.read_text() == "{not json"


def test_the_bridge_relays_piped_lines_in_order_with_the_event_stream() -> None:
    """All lines at once (a pipe, not an assistant waiting for each answer): the session
    starts with initialize's answer, the tool's event stream arrives message by message."""
    hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t"}}
    lines = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "list_profiles"}},
        {"jsonrpc": "2.0", "id": 3, "method": "no/such/method"},
    ]
    out = subprocess.run(
        [sys.executable, "-m", "amazon_ads_auth", "mcp", "stdio", "--emulator"],
        input="".join(json.dumps(line) + "\n" for line in lines),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    answers = [json.loads(line) for line in out.stdout.splitlines()]
    by_id = {a.get("id"): a for a in answers if "id" in a}
    assert by_id[1]["result"]["serverInfo"]["name"] == "amazon-ads-emulator"
    assert "profileId" in by_id[2]["result"]["content"][0]["text"]
    assert by_id[3]["error"]["code"] == -32601
    assert any(a.get("method") == "notifications/message" for a in answers)
    assert len(answers) == 4  # nothing answered to the notification


def test_the_mcp_url_override_is_a_hidden_flag() -> None:
    shown = CliRunner().invoke(main, ["mcp", "stdio", "--help"]).output
    assert "--profile-id" in shown and "--lite" in shown and "--account-id" in shown
    assert "--mcp-url" not in shown


def test_the_proxy_streams_each_event_as_it_arrives(make_auth: Any) -> None:
    """An upstream that sends one event, then waits: the client has that event before the
    upstream sends the next (nothing is buffered on the way)."""
    import threading

    import uvicorn

    from amazon_ads_auth.mcp.proxy import LoopbackProxy, bind

    second = threading.Event()

    async def upstream(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        start = {"type": "http.response.start", "status": 200}
        await send({**start, "headers": [(b"content-type", b"text/event-stream")]})
        await send({"type": "http.response.body", "body": b"data: one\n\n", "more_body": True})
        await asyncio.to_thread(second.wait, 30)
        await send({"type": "http.response.body", "body": b"data: two\n\n", "more_body": False})

    def serve(app: Any, sock: Any) -> uvicorn.Server:
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
        return server

    source_sock, front_sock = bind("127.0.0.1"), bind("127.0.0.1")
    source = serve(upstream, source_sock)
    auth = McpAuth(make_auth(), url=f"http://127.0.0.1:{source_sock.getsockname()[1]}/mcp")
    proxy = LoopbackProxy(auth, port=front_sock.getsockname()[1])
    front = serve(proxy, front_sock)
    try:
        with httpx.Client(timeout=30) as client:
            for _ in range(500):  # both servers start in their threads
                if source.started and front.started:
                    break
                time.sleep(0.01)  # bounded polling for start-up, not for the behaviour
            url = proxy.url("127.0.0.1")
            with client.stream("GET", url, headers={"Accept": "text/event-stream"}) as answer:
                chunks = answer.iter_text()
                assert next(chunks).startswith("data: one")  # before "two" was even sent
                second.set()
                assert "data: two" in "".join(chunks)
    finally:
        second.set()
        source.should_exit = front.should_exit = True


def test_the_proxy_answers_a_revoked_grant_with_the_login_command(
    emulator: Emulator, clock: FakeClock, tmp_path: pathlib.Path
) -> None:
    refresh = stored_login(emulator, clock)
    with running_proxy(emulator, tmp_path) as (url, process):

        async def session() -> str:
            async with Client(url, mode="legacy") as client:
                await client.list_tools()
                emulator.revoke_refresh_token(refresh)
                clock.advance(LIFETIME + 1)
                with pytest.raises(MCPError) as caught:
                    await client.list_tools()
                return str(caught.value)

        assert "amazon-ads-auth login" in asyncio.run(session())
        assert process.poll() is None  # still serving
    assert "Traceback" not in (tmp_path / "proxy-stderr.txt").read_text()
