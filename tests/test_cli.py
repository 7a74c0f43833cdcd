"""The amazon-ads-auth CLI: click's runner for arguments and messages, real processes and a
real HTTP redirect for the login flows."""

from __future__ import annotations

import json
import os
import pathlib
import re
import socket
import subprocess
import sys
import textwrap
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from click.testing import CliRunner

from amazon_ads_auth import AdsAuth, FileTokenStore
from amazon_ads_auth._stores.file import default_data_dir
from amazon_ads_auth.cli import main
from amazon_ads_auth.testing import DEMO_CLIENT_SECRET, Emulator, FakeClock
from tests.conftest import assert_no_secrets

ROOT = pathlib.Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cli(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Any:
    runner = CliRunner()
    return runner.invoke(main, list(args), input=input, env=env or {}, catch_exceptions=False)


def demo_folder() -> pathlib.Path:
    """Where `--emulator` keeps demo logins (under the test's private HOME)."""
    return default_data_dir() / "demo-tokens"


def pointing_at(emulator: Emulator, store: pathlib.Path) -> list[str]:
    return [
        "--client-id", emulator.client_id,
        "--client-secret", emulator.client_secret,
        "--token-url", emulator.token_url,
        "--authorization-url", emulator.authorization_url,
        "--api-url", emulator.api_url,
        "--store", f"file://{store}",
    ]  # fmt: skip


def stored_grant(emulator: Emulator, store: pathlib.Path, key: str = "default") -> Any:
    return FileTokenStore(store).load(f"{emulator.client_id}/{key}")


@pytest.fixture
def grant(emulator: Emulator, tmp_path: pathlib.Path) -> pathlib.Path:
    """A file store holding a working grant for the emulator's client."""
    store = tmp_path / "tokens"
    auth = AdsAuth(
        emulator.client_id,
        emulator.client_secret,
        emulator.issue_refresh_token(),
        store=FileTokenStore(store),
        clock=emulator.clock,
        **emulator.auth_kwargs(),
    )
    auth.ensure_token()
    auth.close()
    return store


# ----- login -----------------------------------------------------------------------------------


def test_login_with_in_process_emulator_runs_unattended(tmp_path: pathlib.Path) -> None:
    store = demo_folder()
    result = cli("login", "--emulator", "--no-browser")
    assert result.exit_code == 0, result.output
    assert "3141592653589793" in result.stdout
    assert "Emulator Demo Store" in result.stdout
    [key] = FileTokenStore(store).keys()
    token = FileTokenStore(store).load(key)
    assert token is not None
    assert token.refresh_token is not None
    assert_no_secrets(
        [result.output], [DEMO_CLIENT_SECRET, token.access_token, token.refresh_token], "output"
    )
    assert f"ends in {token.refresh_token[-4:]}" in result.output
    # No --redirect-uri: the emulator's login listens on a free port, never a fixed one.
    [port] = re.findall(r"redirect_uri=http%3A%2F%2Flocalhost%3A(\d+)%2Fcallback", result.output)
    assert int(port) not in (0, 8765)


def test_login_paste_mode_with_emulator(tmp_path: pathlib.Path) -> None:
    result = cli(
        "login", "--emulator", "--no-browser", "--redirect-uri", "https://amazon.com",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "PROFILE ID" in result.stdout


def test_login_paste_bare_code(
    emulator: Emulator, tmp_path: pathlib.Path, clock: FakeClock
) -> None:
    code = own_consent_code(emulator, "https://amazon.com")
    args = pointing_at(emulator, tmp_path)
    result = cli(
        "login", *args, "--paste", "--no-pkce", "--no-browser",
        "--redirect-uri", "https://amazon.com", input=code + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert stored_grant(emulator, tmp_path) is not None
    assert_no_secrets([result.stdout], emulator.issued_secrets(), "CLI output")


def test_expired_code_says_codes_live_five_minutes(
    emulator: Emulator, tmp_path: pathlib.Path, clock: FakeClock
) -> None:
    code = own_consent_code(emulator, "https://amazon.com")
    clock.advance(301)
    result = cli(
        "login", *pointing_at(emulator, tmp_path), "--paste", "--no-pkce", "--no-browser",
        "--redirect-uri", "https://amazon.com", input=code + "\n",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "codes live 5 minutes" in result.stderr
    assert "run `amazon-ads-auth login` again" in result.stderr
    assert code not in result.output


def test_pasted_url_with_wrong_state(emulator: Emulator, tmp_path: pathlib.Path) -> None:
    result = cli(
        "login", *pointing_at(emulator, tmp_path), "--paste", "--no-browser",
        "--redirect-uri", "https://amazon.com",
        input="https://amazon.com/?code=abc&state=not-ours\n",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "state" in result.stderr


def test_wrong_secret_says_check_id_and_secret(emulator: Emulator, tmp_path: pathlib.Path) -> None:
    code = own_consent_code(emulator, "https://amazon.com")
    args = pointing_at(emulator, tmp_path)
    args[args.index(emulator.client_secret)] = "wrong-secret"
    result = cli(
        "login", *args, "--paste", "--no-pkce", "--no-browser",
        "--redirect-uri", "https://amazon.com", input=code + "\n",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "check the client id and client secret" in result.stderr
    assert "wrong-secret" not in result.output


def test_unapproved_scope_is_explained(tmp_path: pathlib.Path) -> None:
    result = cli(
        "login", "--emulator", "--no-browser", "--scope", "advertising::not-a-scope",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "not yet approved for the Amazon Ads API" in result.stderr


def test_secret_is_prompted_hidden_when_missing(emulator: Emulator, grant: pathlib.Path) -> None:
    args = pointing_at(emulator, grant)
    del args[2:4]  # no --client-secret
    result = cli("token", *args, input=emulator.client_secret + "\n")
    assert result.exit_code == 0, result.output
    assert "Client secret" in result.stderr
    assert emulator.client_secret not in result.output  # hidden input is not echoed
    assert emulator.is_valid_access_token(result.stdout.strip())


def test_taken_port_fails_at_once() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = cli(
            "login", "--emulator", "--no-browser",
            "--redirect-uri", f"http://127.0.0.1:{port}/callback",
        )  # fmt: skip
    assert result.exit_code == 1
    assert "already in use" in result.stderr


def test_usage_errors_exit_2() -> None:
    assert cli("login", "--region", "moon").exit_code == 2
    assert cli("no-such-command").exit_code == 2
    assert cli("token", "--bogus").exit_code == 2


def own_consent_code(emulator: Emulator, redirect_uri: str) -> str:
    """Consent without PKCE, as a user would in a browser, and return the code."""
    answer = requests.get(
        emulator.authorization_url,
        params={
            "client_id": emulator.client_id,
            "scope": "advertising::campaign_management",
            "response_type": "code",
            "redirect_uri": redirect_uri,
        },
        allow_redirects=False,
        timeout=10,
    )
    return parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]


# ----- login in a real process, with a real redirect to the loopback listener -----------------


def run_cli_process(
    args: list[str], env: dict[str, str], input: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "amazon_ads_auth", *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env},
        cwd=ROOT,
    )


def browser_script(tmp_path: pathlib.Path) -> str:
    """A 'browser' for BROWSER: loads the URL and follows redirects, like a person's would."""
    script = tmp_path / "browser.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys, requests
            requests.get(sys.argv[1], timeout=30)
            """
        )
    )
    return f"{sys.executable} {script} %s"


@pytest.mark.parametrize("outcome", ["granted", "denied"])
def test_login_loopback_receives_the_emulators_redirect(
    emulator: Emulator, tmp_path: pathlib.Path, outcome: str
) -> None:
    emulator.deny_consent = outcome == "denied"
    store = tmp_path / "tokens"
    redirect_uri = "http://127.0.0.1:0/callback"  # a free port, bound by login
    result = run_cli_process(
        ["login", *pointing_at(emulator, store), "--redirect-uri", redirect_uri],
        env={"BROWSER": browser_script(tmp_path)},
    )
    if outcome == "denied":
        assert result.returncode == 1
        assert "consent was denied" in result.stderr
        assert stored_grant(emulator, store) is None
        return
    assert result.returncode == 0, result.stderr
    assert "Emulator Demo Store" in result.stdout
    token = stored_grant(emulator, store)
    assert token is not None
    assert emulator.is_valid_access_token(token.access_token)
    assert_no_secrets([result.stdout, result.stderr], emulator.issued_secrets(), "CLI output")


def test_login_paste_of_the_full_redirect_url(emulator: Emulator, tmp_path: pathlib.Path) -> None:
    store = tmp_path / "tokens"
    process = subprocess.Popen(
        [sys.executable, "-m", "amazon_ads_auth", "login", *pointing_at(emulator, store),
         "--no-browser", "--redirect-uri", "https://amazon.com"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=ROOT,
    )  # fmt: skip
    assert process.stderr is not None
    consent_url = ""
    while not consent_url:
        line = process.stderr.readline()
        assert line, "the CLI ended before printing the consent URL"
        if line.startswith(emulator.authorization_url):
            consent_url = line.strip()
    redirected = requests.get(consent_url, allow_redirects=False, timeout=10)
    stdout, stderr = process.communicate(redirected.headers["location"] + "\n", timeout=60)
    assert process.returncode == 0, stderr
    assert "PROFILE ID" in stdout
    assert stored_grant(emulator, store) is not None


# ----- token, profiles, status, logout ---------------------------------------------------------


def test_token_prints_a_fresh_access_token(emulator: Emulator, grant: pathlib.Path) -> None:
    result = cli("token", *pointing_at(emulator, grant))
    assert result.exit_code == 0, result.output
    assert emulator.is_valid_access_token(result.stdout.strip())


def test_token_headers_and_json(emulator: Emulator, grant: pathlib.Path) -> None:
    profile = str(emulator.profiles[0]["profileId"])  # a profile the grant owns
    headers = cli("token", *pointing_at(emulator, grant), "--headers", "--profile-id", profile)
    lines = headers.stdout.strip().splitlines()
    assert lines[0].startswith("Authorization: Bearer Atza|"), headers.output
    assert f"Amazon-Advertising-API-ClientId: {emulator.client_id}" in lines
    assert f"Amazon-Advertising-API-Scope: {profile}" in lines
    unowned = cli("token", *pointing_at(emulator, grant), "--headers", "--profile-id", "4242")
    assert unowned.exit_code == 1 and "profile 4242" in unowned.output
    as_json = json.loads(cli("token", *pointing_at(emulator, grant), "--json").stdout)
    assert emulator.is_valid_access_token(as_json["access_token"])
    assert 0 < as_json["expires_in"] <= 3600
    assert "refresh_token" not in as_json
    assert len(as_json["refresh_token_last4"]) == 4


def test_profiles_table_and_json(emulator: Emulator, grant: pathlib.Path) -> None:
    emulator.profiles = emulator.profiles[:1]
    table = cli("profiles", *pointing_at(emulator, grant))
    assert table.exit_code == 0, table.output
    header, row = table.stdout.strip().splitlines()
    assert header.split() == ["PROFILE", "ID", "COUNTRY", "CURRENCY", "TYPE", "NAME"]
    assert row.split()[:4] == ["3141592653589793", "US", "USD", "seller"]
    as_json = json.loads(cli("profiles", *pointing_at(emulator, grant), "--json").stdout)
    assert as_json[0]["accountInfo"]["name"] == "Emulator Demo Store"
    emulator.profiles = []
    empty = cli("profiles", *pointing_at(emulator, grant))
    assert "No profiles in this region" in empty.stdout
    assert_no_secrets([table.output, empty.output], emulator.issued_secrets(), "CLI output")


def test_status_shows_grants_without_secrets(emulator: Emulator, grant: pathlib.Path) -> None:
    result = cli("status", "--store", f"file://{grant}")
    assert result.exit_code == 0, result.output
    token = stored_grant(emulator, grant)
    lines = result.stdout.strip().splitlines()
    assert lines[0].split() == [
        "STORE",
        "KEY",
        "KIND",
        "CLIENT",
        "ID",
        "REGION",
        "ACCESS",
        "TOKEN",
        "REFRESH",
        "SECRET",
        "PROFILES",
        "CONSENTED",
        "REFRESH",
        "TOKEN",
        "EXPIRES",
        "LAST",
        "REFRESH",
        "STATE",
    ]
    assert emulator.client_id[:32] in lines[1]
    assert "expires in" in lines[1]
    assert f"...{token.refresh_token[-4:]}" in lines[1]
    assert "not saved" in lines[1]  # an old grant: no login record
    assert_no_secrets([result.output], emulator.issued_secrets(), "CLI output")
    assert "No logins" in cli("status", "--store", f"file://{grant}/empty").stdout


def test_logout_asks_then_deletes(emulator: Emulator, grant: pathlib.Path) -> None:
    args = ["logout", "--client-id", emulator.client_id, "--store", f"file://{grant}"]
    kept = cli(*args, input="n\n")
    assert kept.exit_code == 1  # aborted
    assert stored_grant(emulator, grant) is not None
    deleted = cli(*args, "--yes")
    assert deleted.exit_code == 0, deleted.output
    assert stored_grant(emulator, grant) is None
    assert "No grant stored" in cli(*args, "--yes").stdout


def test_commands_without_a_grant_say_to_log_in(emulator: Emulator, tmp_path: pathlib.Path) -> None:
    result = cli("profiles", *pointing_at(emulator, tmp_path))
    assert result.exit_code == 1
    assert "amazon-ads-auth login" in result.stderr


def test_profiles_with_in_process_emulator() -> None:
    result = cli("profiles", "--emulator")
    assert result.exit_code == 0, result.output
    assert "Emulator Demo Store" in result.stdout


# ----- emulator ----------------------------------------------------------------------------------


def test_emulator_command_serves_until_stopped() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "amazon_ads_auth", "emulator", "--port", "0"],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        printed: dict[str, str] = {}
        while "a refresh token" not in printed:
            line = process.stdout.readline()
            assert line, "the emulator ended early"
            if ":" in line and line.startswith("  "):
                name, _, value = line.strip().partition(": ")
                printed[name] = value.strip().split()[0]
        auth = AdsAuth(
            printed["client id"],
            printed["client secret"],
            printed["a refresh token"],
            token_url=printed["token URL"],
            api_hosts=[printed["Ads API URL"]],
        )
        answer = requests.get(printed["Ads API URL"] + "/v2/profiles", auth=auth, timeout=10)
        assert answer.status_code == 200
        assert answer.json()[0]["countryCode"] == "US"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_version_and_help() -> None:
    assert cli("--version").exit_code == 0
    help_text = cli("login", "--help").stdout
    assert "--redirect-uri" in help_text
    assert "--token-url" not in help_text  # hidden overrides


def test_python_dash_m_and_console_script(tmp_path: pathlib.Path) -> None:
    result = run_cli_process(["--help"], env={})
    assert result.returncode == 0
    assert "login" in result.stdout
    script = pathlib.Path(sys.executable).parent / "amazon-ads-auth"
    assert script.exists()


def test_explain_covers_every_mapped_error() -> None:
    from amazon_ads_auth import (
        AuthorizationDeniedError,
        InvalidClientError,
        InvalidGrantError,
        TokenRequestError,
    )
    from amazon_ads_auth.cli import explain

    cases: list[tuple[Any, str]] = [
        (InvalidGrantError("x", error="invalid_grant"), "codes live 5 minutes"),
        (InvalidClientError("x", error="invalid_client"), "client id and client secret"),
        (TokenRequestError("x", error="invalid_scope"), "not yet approved"),
        (AuthorizationDeniedError("x", error="access_denied"), "denied"),
        (AuthorizationDeniedError("x", error="invalid_scope"), "not yet approved"),
    ]
    for error, phrase in cases:
        assert phrase in explain(error)
