"""The sandbox is sealed off from production: `--emulator` always works on the demo folder
with the demo client, plain commands and scripts never use a demo login, `logout
--emulator` sticks, and `amazon-ads-auth emulator` accepts demo tokens. The console script
in real processes with a temporary HOME."""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys

from amazon_ads_auth import FileTokenStore
from amazon_ads_auth.testing import Emulator
from tests.conftest import SENTINEL_CLIENT_SECRET
from tests.test_login_once import SCRIPT, clean_env, home, login, python, run

__all__ = ["home"]  # the fixture

NO_DEMO_LOGIN = "no demo login: run `amazon-ads-auth login --emulator`"


def demo_folder(home: pathlib.Path) -> pathlib.Path:
    return home / ".local/share/amazon-ads-auth/demo-tokens"


def real_folder(home: pathlib.Path) -> pathlib.Path:
    return home / ".local/share/amazon-ads-auth/tokens"


def test_a_demo_login_never_lands_in_the_production_store(
    emulator: Emulator, home: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    production = tmp_path / "production"
    env = {"AMAZON_ADS_TOKEN_STORE": production.as_uri(), "AMAZON_ADS_STORE_KEY": "acme"}
    token = run(home, "token", "--emulator", **env)
    assert token.returncode == 0, token.stderr
    assert not production.exists() or list(production.iterdir()) == []
    [key] = FileTokenStore(demo_folder(home)).keys()
    assert key.endswith("/default")  # AMAZON_ADS_STORE_KEY names a real login, not a demo one
    status = run(home, "status", **env)
    assert "No logins" in status.stdout
    script = python(
        home,
        """
        from amazon_ads_auth import AdsAuth, NoTokenError
        try:
            AdsAuth.from_login()
        except NoTokenError as exc:
            print("refused:", exc)
        """,
        **env,
    )
    assert "refused:" in script.stdout, script.stderr


def test_emulator_never_uses_a_real_login_of_the_production_store(
    emulator: Emulator, home: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    production = tmp_path / "production"
    login(home, emulator, "--store", production.as_uri())
    real = FileTokenStore(production)
    [real_key] = real.keys()
    env = {"AMAZON_ADS_TOKEN_STORE": production.as_uri()}
    token = run(home, "token", "--emulator", **env)
    assert token.returncode == 0, token.stderr
    stored = real.load(real_key)
    assert stored is not None and token.stdout.strip() != stored.access_token
    assert not emulator.is_valid_access_token(token.stdout.strip())  # the sandbox's own token
    assert real.keys() == [real_key]


def test_an_exported_real_secret_does_not_beat_the_demo_secret(home: pathlib.Path) -> None:
    env = {
        "AMAZON_ADS_CLIENT_ID": "amzn1.application-oa2-client.realrealrealreal",
        "AMAZON_ADS_CLIENT_SECRET": SENTINEL_CLIENT_SECRET,
        "AMAZON_ADS_REGION": "moon",  # not a region: it does not apply here either
    }
    token = run(home, "token", "--emulator", **env)
    assert token.returncode == 0, token.stderr
    assert SENTINEL_CLIENT_SECRET not in token.stdout + token.stderr


def test_store_with_emulator_is_a_usage_error(home: pathlib.Path, tmp_path: pathlib.Path) -> None:
    for flag in (["--store", tmp_path.as_uri()], ["--client-id", "x"], ["--region", "eu"]):
        result = run(home, "token", "--emulator", *flag)
        assert result.returncode == 2, result.stderr
        assert "cannot be used with --emulator" in result.stderr
    assert not demo_folder(home).exists()


def test_the_demo_hint_only_when_nothing_but_demo_logins_exist(
    emulator: Emulator, home: pathlib.Path
) -> None:
    login(home, emulator)
    assert run(home, "token", "--emulator").returncode == 0
    missing = run(home, "token", "--store-key", "nosuch")
    assert missing.returncode == 1
    assert "only a demo login" not in missing.stderr
    assert "no login named 'nosuch'" in missing.stderr
    # A corrupt real token file: its own error, no demo hint either.
    [grant] = real_folder(home).glob("*.json")
    grant.write_text("{not json")
    corrupt = run(home, "token")
    assert corrupt.returncode == 1
    assert "only a demo login" not in corrupt.stderr
    grant.unlink()
    only_demo = run(home, "token")
    assert only_demo.returncode == 1 and "only a demo login exists" in only_demo.stderr


def test_logout_emulator_sticks(home: pathlib.Path) -> None:
    assert run(home, "login", "--emulator").returncode == 0
    out = run(home, "logout", "--emulator", "--yes")
    assert out.returncode == 0, out.stderr
    after = run(home, "token", "--emulator")
    assert after.returncode == 1
    assert NO_DEMO_LOGIN in after.stderr
    assert FileTokenStore(demo_folder(home)).keys() == []
    script = python(
        home,
        """
        from amazon_ads_auth import AdsAuth, NoTokenError
        from amazon_ads_auth.testing import Sandbox
        with Sandbox() as sandbox:
            try:
                AdsAuth.from_login(**sandbox.login_kwargs())
            except NoTokenError as exc:
                print(exc)
        """,
    )
    assert NO_DEMO_LOGIN in script.stdout, script.stderr
    again = run(home, "login", "--emulator")
    assert again.returncode == 0, again.stderr
    assert run(home, "token", "--emulator").returncode == 0


def test_the_emulator_command_accepts_demo_tokens_and_its_try_lines_work(
    home: pathlib.Path,
) -> None:
    server = subprocess.Popen(
        [SCRIPT, "emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env=clean_env(home),
    )
    try:
        assert server.stdout is not None
        banner: list[str] = []
        for line in server.stdout:
            banner.append(line)
            if line.startswith("Ctrl-C"):
                break
        tries = [x.strip() for x in banner[banner.index("Try (in bash):\n") + 1 : -1]]
        assert len(tries) == 2
        results = [
            subprocess.run(
                ["bash", "-c", command],
                capture_output=True,
                text=True,
                timeout=60,
                env=clean_env(home, PATH=f"{pathlib.Path(SCRIPT).parent}:/usr/bin:/bin"),
            )
            for command in tries
        ]
        assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
        assert "Authorization: Bearer Atza|" in results[0].stdout
        profiles = json.loads(results[1].stdout)
        assert profiles[0]["accountInfo"]["marketplaceStringId"] == "ATVPDKIKX0DER"
        assert re.search(r"http://127\.0\.0\.1:\d+/v2/profiles", tries[1])
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_profiles_json_keeps_every_field_amazon_returned(home: pathlib.Path) -> None:
    assert run(home, "login", "--emulator").returncode == 0
    for extra in ([], ["--refresh"]):
        result = run(home, "profiles", "--json", "--emulator", *extra)
        assert result.returncode == 0, result.stderr
        [profile] = json.loads(result.stdout)
        assert profile["timezone"] == "America/Los_Angeles"
        assert profile["dailyBudget"] == 999999999.0
        assert profile["accountInfo"] == {
            "marketplaceStringId": "ATVPDKIKX0DER",
            "id": "A2EMULATOR0DEMO",
            "type": "seller",
            "name": "Emulator Demo Store",
        }


def test_importing_the_library_or_the_cli_leaves_the_emulator_out() -> None:
    code = (
        "import sys, amazon_ads_auth, amazon_ads_auth.cli;"
        "print([m for m in sys.modules if m.startswith('amazon_ads_auth.testing')])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr
