"""Log in once, and every command and script of that user finds the login: the console
script in real processes, a temporary HOME, the file store, the emulator in this process (or
the one the CLI starts itself for --emulator)."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from amazon_ads_auth import AdsAuth, FileTokenStore, LoginDirectory, Token
from amazon_ads_auth.testing import Emulator
from tests.conftest import SENTINEL_CLIENT_SECRET, assert_no_secrets

SCRIPT = shutil.which("amazon-ads-auth") or str(
    pathlib.Path(sys.executable).parent / "amazon-ads-auth"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def home(tmp_path: pathlib.Path) -> pathlib.Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


def clean_env(home: pathlib.Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AMAZON_ADS_", "XDG_")) and k != "BROWSER"
    }
    return {**env, "HOME": str(home), **extra}


def run(
    home: pathlib.Path, *args: str, input: str | None = None, **extra: str
) -> subprocess.CompletedProcess[str]:
    """The console script, as a person types it, in a fresh process."""
    return subprocess.run(
        [SCRIPT, *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(home, **extra),
    )


def python(home: pathlib.Path, code: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """A user's script, in a second process of the same user."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(home, **extra),
    )


def browser(tmp_path: pathlib.Path) -> str:
    """A 'browser' for BROWSER: loads the consent URL and follows the redirect."""
    script = tmp_path / "browser.py"
    script.write_text("import sys, urllib.request\nurllib.request.urlopen(sys.argv[1]).read()\n")
    return f"{sys.executable} {script} %s"


def login(
    home: pathlib.Path, emulator: Emulator, *extra: str, store_key: str | None = None
) -> subprocess.CompletedProcess[str]:
    args = [
        "login",
        "--client-id", emulator.client_id,
        "--client-secret", emulator.client_secret,
        "--token-url", emulator.token_url,
        "--authorization-url", emulator.authorization_url,
        "--api-url", emulator.api_url,
        "--redirect-uri", "http://127.0.0.1:0/callback",  # a free port, bound by login
        *extra,
    ]  # fmt: skip
    if store_key:
        args += ["--store-key", store_key]
    result = run(home, *args, BROWSER=browser(home))
    assert result.returncode == 0, result.stderr
    return result


def outputs_have_no_secret(emulator: Emulator, *results: Any) -> None:
    texts = [r.stdout + r.stderr for r in results]
    assert_no_secrets(texts, [*emulator.issued_secrets(), SENTINEL_CLIENT_SECRET], "CLI output")


def test_login_then_every_command_with_no_flags(emulator: Emulator, home: pathlib.Path) -> None:
    logged_in = login(home, emulator)
    token = run(home, "token")
    assert token.returncode == 0, token.stderr
    assert emulator.is_valid_access_token(token.stdout.strip())
    headers = run(home, "token", "--headers", "--profile-id", "3141592653589793")
    assert headers.returncode == 0, headers.stderr
    assert "Amazon-Advertising-API-Scope: 3141592653589793" in headers.stdout
    assert f"Amazon-Advertising-API-ClientId: {emulator.client_id}" in headers.stdout
    as_json = json.loads(run(home, "token", "--json").stdout)
    assert emulator.is_valid_access_token(as_json["access_token"])
    profiles = run(home, "profiles")
    assert profiles.returncode == 0 and "Emulator Demo Store" in profiles.stdout
    status = run(home, "status")
    assert status.returncode == 0, status.stderr
    row = status.stdout.splitlines()[1]
    stored = FileTokenStore(home / ".local/share/amazon-ads-auth/tokens").load(
        f"{emulator.client_id}/default"
    )
    assert stored is not None and stored.refresh_token is not None
    for expected in ("default", "na", "expires in", stored.refresh_token[-4:], "saved", " 1"):
        assert expected in row, row
    outputs_have_no_secret(emulator, logged_in, profiles, status)  # `token` prints one
    logout = run(home, "logout", "--yes")
    assert logout.returncode == 0, logout.stderr
    assert "No logins" in run(home, "status").stdout


def test_the_secret_is_stored_with_the_grant_unless_told_not_to(
    emulator: Emulator, home: pathlib.Path
) -> None:
    login(home, emulator, "--no-save-secret")
    file = next((home / ".local/share/amazon-ads-auth/tokens").glob("*.json"))
    assert emulator.client_secret not in file.read_text()
    assert "not saved" in run(home, "status").stdout
    asked = run(home, "token", input="")  # no secret anywhere, and nothing typed
    assert asked.returncode != 0
    # A secret from the environment is used only with the client id it is exported with.
    alone = run(home, "token", AMAZON_ADS_CLIENT_SECRET=emulator.client_secret)
    assert alone.returncode == 1 and f"AMAZON_ADS_CLIENT_ID={emulator.client_id}" in alone.stderr
    with_env = run(
        home,
        "token",
        AMAZON_ADS_CLIENT_ID=emulator.client_id,
        AMAZON_ADS_CLIENT_SECRET=emulator.client_secret,
    )
    assert with_env.returncode == 0, with_env.stderr
    assert emulator.is_valid_access_token(with_env.stdout.strip())
    login(home, emulator, store_key="kept")
    kept = next(f for f in (home / ".local/share/amazon-ads-auth/tokens").glob("*kept*.json"))
    assert oct(kept.stat().st_mode & 0o777) == "0o600"
    assert emulator.client_secret in kept.read_text()  # beside the refresh token, 0600


def test_two_logins_need_a_choice(emulator: Emulator, home: pathlib.Path) -> None:
    login(home, emulator, store_key="brand-a")
    login(home, emulator, store_key="brand-b")
    result = run(home, "token")
    assert result.returncode == 1
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1
    assert "brand-a" in message and "brand-b" in message and "--store-key" in message
    chosen = run(home, "token", "--store-key", "brand-b")
    assert chosen.returncode == 0 and emulator.is_valid_access_token(chosen.stdout.strip())
    login(home, emulator)  # a "default" login is then the one meant
    assert run(home, "token").returncode == 0


def test_a_client_id_that_does_not_match_is_an_error(
    emulator: Emulator, home: pathlib.Path
) -> None:
    login(home, emulator)
    result = run(home, "token", "--client-id", "amzn1.application-oa2-client.other")
    assert result.returncode == 1
    assert "no login for client id" in result.stderr


def test_profile_id_alone_picks_the_login_that_owns_it(
    emulator: Emulator, home: pathlib.Path
) -> None:
    other_profile = {**emulator.profiles[0], "profileId": 2718281828}
    with Emulator(profiles=[other_profile], client_secret=emulator.client_secret) as second:
        login(home, emulator, store_key="brand-a")
        login(home, second, store_key="brand-b")
        result = run(home, "token", "--headers", "--profile-id", "2718281828")
        assert result.returncode == 0, result.stderr
        bearer = result.stdout.splitlines()[0].removeprefix("Authorization: Bearer ")
        assert second.is_valid_access_token(bearer)
        assert not emulator.is_valid_access_token(bearer)
        from_code = python(
            home,
            """
            from amazon_ads_auth import AdsAuth
            auth = AdsAuth.from_login(profile_id=3141592653589793)
            print(auth._manager.key, auth.profile_id)
            """,
        )
        assert from_code.returncode == 0, from_code.stderr
        assert from_code.stdout.split() == [f"{emulator.client_id}/brand-a", "3141592653589793"]


def test_from_login_and_from_env_in_a_second_process(
    emulator: Emulator, home: pathlib.Path
) -> None:
    login(home, emulator)
    code = """
        import requests
        from amazon_ads_auth import AdsAuth
        auth = AdsAuth.{how}
        print(requests.get("{api}/v2/profiles", auth=auth, timeout=30).status_code)
    """
    profile = emulator.profiles[0]["profileId"]
    for how in ("from_login()", "from_env()", f"from_login('default', profile_id={profile})"):
        result = python(home, code.format(how=how, api=emulator.api_url))
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "200", how


def test_no_login_at_all_says_to_log_in(home: pathlib.Path) -> None:
    result = python(
        home,
        """
        from amazon_ads_auth import AdsAuth, NoTokenError
        try:
            AdsAuth.from_login()
        except NoTokenError as exc:
            print("NoTokenError", exc)
        """,
    )
    assert "NoTokenError" in result.stdout and "amazon-ads-auth login" in result.stdout
    assert "amazon-ads-auth login" in run(home, "token").stderr


def test_an_old_grant_without_a_record_still_works(emulator: Emulator, home: pathlib.Path) -> None:
    store = FileTokenStore(home / ".local/share/amazon-ads-auth/tokens")
    old = AdsAuth(
        emulator.client_id,
        emulator.client_secret,
        emulator.issue_refresh_token(),
        store=store,
        **emulator.auth_kwargs(),
    )
    old.ensure_token()
    listed = run(home, "status")
    assert listed.returncode == 0 and "default" in listed.stdout
    result = run(
        home,
        "token",
        "--client-id", emulator.client_id,
        "--client-secret", emulator.client_secret,
        "--token-url", emulator.token_url,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert emulator.is_valid_access_token(result.stdout.strip())


def test_the_sandbox_is_one_session(home: pathlib.Path) -> None:
    logged_in = run(home, "login", "--emulator")
    assert logged_in.returncode == 0, logged_in.stderr
    status = run(home, "status", "--emulator")
    assert status.returncode == 0, status.stderr
    demo_folder = home / ".local/share/amazon-ads-auth/demo-tokens"
    stored = next(iter(LoginDirectory(FileTokenStore(demo_folder), demo=True)))
    grant = FileTokenStore(demo_folder).load(stored.key)
    assert grant is not None and grant.refresh_token is not None
    assert grant.refresh_token[-4:] in status.stdout  # the grant login stored
    token = run(home, "token", "--emulator")
    assert token.returncode == 0, token.stderr
    headers = run(home, "token", "--headers", "--emulator")
    assert headers.returncode == 0 and "Authorization: Bearer Atza|" in headers.stdout
    profiles = run(home, "profiles", "--emulator")
    assert profiles.returncode == 0 and "Emulator Demo Store" in profiles.stdout
    # An expired demo token is refreshed by a new sandbox with the same refresh token.
    FileTokenStore(demo_folder).save(
        stored.key, Token(grant.access_token, grant.refresh_token, 1_000_000)
    )
    refreshed = run(home, "token", "--emulator")
    assert refreshed.returncode == 0, refreshed.stderr
    assert refreshed.stdout.strip() != grant.access_token
    # Real commands never see demo logins, and say how to log in for real.
    plain = run(home, "token")
    assert plain.returncode == 1
    assert "only a demo login exists" in plain.stderr and "--emulator" in plain.stderr
    assert "No logins" in run(home, "status").stdout
    assert not (home / ".local/share/amazon-ads-auth/tokens").exists() or not list(
        (home / ".local/share/amazon-ads-auth/tokens").glob("*.json")
    )


def test_the_sandbox_from_code(home: pathlib.Path) -> None:
    assert run(home, "login", "--emulator").returncode == 0
    result = python(
        home,
        """
        import requests
        from amazon_ads_auth import AdsAuth
        from amazon_ads_auth.testing import Sandbox
        with Sandbox() as sandbox:
            auth = AdsAuth.from_login(**sandbox.login_kwargs())
            print(requests.get(sandbox.api_url + "/v2/profiles", auth=auth).status_code)
        """,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "200"


def test_profiles_refresh_updates_the_record(emulator: Emulator, home: pathlib.Path) -> None:
    login(home, emulator)
    emulator.profiles = [{**emulator.profiles[0], "profileId": 1618033988}]
    assert "3141592653589793" in run(home, "profiles").stdout  # as recorded at login
    refreshed = run(home, "profiles", "--refresh")
    assert refreshed.returncode == 0 and "1618033988" in refreshed.stdout
    assert "1618033988" in run(home, "profiles", "--json").stdout  # the record now
    assert run(home, "token", "--profile-id", "1618033988").returncode == 0
