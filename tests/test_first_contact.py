"""A new user's first hour: the suite leaves a HOME full of logins untouched, and the CLI
says what is happening (browser, hints, time left, the store checked before consent, a bad
paste asked again) with usage errors that exit 2 and name the variable at fault."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from amazon_ads_auth import FileTokenStore, Token
from amazon_ads_auth._logins.records import Login, save_login
from amazon_ads_auth.cli import main
from amazon_ads_auth.cli.loopback import RedirectListener
from amazon_ads_auth.testing import Emulator
from tests.test_cli import own_consent_code, pointing_at
from tests.test_login_once import SCRIPT, clean_env, free_port

ROOT = pathlib.Path(__file__).resolve().parent.parent


def snapshot(folder: pathlib.Path) -> dict[str, tuple[int, bytes]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_mode, p.read_bytes())
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_the_suite_leaves_a_home_full_of_logins_unchanged(tmp_path: pathlib.Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(home)
    for key in ("brand-a", "brand-b"):  # the README's agency advice: no "default"
        made = subprocess.run(
            [SCRIPT, "login", "--emulator", "--store-key", key],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert made.returncode == 0, made.stderr
    real = FileTokenStore(home / ".local/share/amazon-ads-auth/tokens")
    client = "amzn1.application-oa2-client.realuser0000000000000000000"
    real.save(f"{client}/default", Token("Atza|real", "Atzr|real-refresh", 4_000_000_000.0))
    save_login(real, Login(client_id=client, store_key="default", client_secret="secret"))
    before = snapshot(home)
    tests = [
        "tests/test_cli.py::test_profiles_with_in_process_emulator",
        "tests/test_cli.py::test_login_with_in_process_emulator_runs_unattended",
        "tests/test_login_once.py::test_the_sandbox_is_one_session",
    ]
    inner = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env={**env, "AMAZON_ADS_TOKEN_STORE": real.path.as_uri()},
    )
    assert inner.returncode == 0, inner.stdout[-2000:]
    assert "3 passed" in inner.stdout
    assert snapshot(home) == before


def test_login_says_whether_a_browser_opened_and_what_an_error_page_means(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    redirect = "http://127.0.0.1:0/callback"  # a free port, bound by login
    result = CliRunner().invoke(
        main,
        [
            "login",
            *pointing_at(emulator, tmp_path),
            "--no-browser",
            "--redirect-uri",
            redirect,
            "--wait",
            "0.2",
        ],
    )
    assert result.exit_code == 1
    err = result.stderr
    assert "No browser was opened" in err
    assert "--client-id" in err and "Allowed Return URL" in err and "--paste" in err
    waiting = re.search(
        r"Waiting for the redirect to http://127\.0\.0\.1:(\d+)/callback \(0:00 left\)", err
    )
    assert waiting is not None and int(waiting[1]) != 0


def test_the_time_left_is_said_while_waiting() -> None:
    listener = RedirectListener("http://127.0.0.1:0/cb", "state").start()
    ticks: list[float] = []
    with pytest.raises(Exception, match="no consent redirect"):
        listener.wait(0.35, on_tick=ticks.append, every=0.1)
    assert 1 <= len(ticks) <= 4
    assert all(0 < t < 0.35 for t in ticks)
    assert ticks == sorted(ticks, reverse=True)


def test_a_bad_paste_is_asked_again_three_times_at_most(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    args = ["login", *pointing_at(emulator, tmp_path), "--paste", "--no-browser", "--no-pkce"]
    args += ["--redirect-uri", "https://amazon.com"]
    code = own_consent_code(emulator, "https://amazon.com")
    good = CliRunner().invoke(main, args, input=f"not a code\nhttps://amazon.com?x=1\n{code}\n")
    assert good.exit_code == 0, good.output
    assert good.stderr.count("try again") == 2
    bad = CliRunner().invoke(main, args, input="a b\nc d\ne f\n")
    assert bad.exit_code == 1
    assert bad.stderr.count("try again") == 2


def test_the_store_is_checked_before_the_consent_page(emulator: Emulator) -> None:
    pytest.importorskip("redis")
    port = free_port()  # nothing listens there
    args = pointing_at(emulator, pathlib.Path("/nonexistent"))
    args[args.index("--store") + 1] = f"redis://127.0.0.1:{port}/0"
    result = CliRunner().invoke(main, ["login", *args, "--no-browser"])
    assert result.exit_code == 1
    assert "Redis at 127.0.0.1" in result.stderr
    assert "Open this URL" not in result.output
    assert emulator.token_request_count == 0


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["token"], {"AMAZON_ADS_REGION": "us"}, "AMAZON_ADS_REGION"),
        (["token"], {"AMAZON_ADS_PROFILE_ID": "12ab"}, "AMAZON_ADS_PROFILE_ID"),
        (["token", "--profile-id", "-5"], {}, "--profile-id"),
        (["login"], {}, "--client-id"),
        (["status", "--client-secret", "x"], {}, "--client-secret"),
        (["status", "--region", "eu"], {}, "--region"),
        (["logout", "--region", "eu"], {}, "--region"),
    ],
)
def test_usage_errors_exit_2_and_name_what_is_wrong(
    args: list[str], env: dict[str, str], named: str
) -> None:
    result = subprocess.run(
        [SCRIPT, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean_env(pathlib.Path(os.environ["HOME"])), **env},
    )
    assert result.returncode == 2, result.stderr
    assert named in result.stderr
    assert "Traceback" not in result.stderr


def test_help_texts_are_not_cut() -> None:
    result = CliRunner().invoke(main, ["--help"])
    commands = result.output.split("Commands:")[1]
    assert "..." not in commands
    assert {"api", "login", "token", "profiles", "status", "logout", "emulator"} <= {
        line.split()[0] for line in commands.strip().splitlines()
    }


def test_stores_are_shown_as_paths_not_reprs(tmp_path: pathlib.Path) -> None:
    result = CliRunner().invoke(main, ["status", "--store", (tmp_path / "t").as_uri()])
    assert f"No logins in {tmp_path / 't'}:" in result.output
    assert "FileTokenStore(" not in result.output
    assert "file::" not in result.output


def test_token_with_a_fresh_stored_token_loads_no_http_library(tmp_path: pathlib.Path) -> None:
    store = FileTokenStore()  # the private HOME's default store
    client = "amzn1.application-oa2-client.fast000000000000000000000000"
    store.save(f"{client}/default", Token("Atza|fresh-token", "Atzr|r", 4_000_000_000.0))
    save_login(store, Login(client_id=client, store_key="default", client_secret="s"))
    code = (
        "import sys; sys.argv = ['amazon-ads-auth', 'token']\n"
        "from amazon_ads_auth.__main__ import main; main()\n"
        "print(sorted(m for m in ('click', 'requests', 'httpx', 'oauthlib') if m in sys.modules))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMAZON_ADS_")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["Atza|fresh-token", "[]"]


def test_token_near_expiry_or_with_variables_takes_the_full_path(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from amazon_ads_auth.__main__ import fresh_token

    store = FileTokenStore()
    key = f"{emulator.client_id}/default"
    store.save(key, Token("Atza|old", emulator.issue_refresh_token(), 1.0))  # expired
    login = Login(client_id=emulator.client_id, store_key="default")
    save_login(store, login)
    assert fresh_token(["token"]) is None
    store.save(key, Token("Atza|fresh", "Atzr|r", 4_000_000_000.0))
    assert fresh_token(["token"]) is None  # no saved secret: the full CLI asks for it
    save_login(store, Login(emulator.client_id, "default", client_secret="s"))
    assert fresh_token(["token"]) == "Atza|fresh"
    assert fresh_token(["token", "--store-key", "default"]) == "Atza|fresh"
    assert fresh_token(["token", "--store-key", "other"]) is None
    assert fresh_token(["token", "--headers"]) is None
    monkeypatch.setenv("AMAZON_ADS_STORE_KEY", "default")
    assert fresh_token(["token"]) is None


def test_the_test_extra_is_lean_and_the_dev_extra_has_the_tools() -> None:
    import configparser

    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    extras = config["options.extras_require"]

    def names(extra: str) -> set[str]:
        return {line.split("[")[0].split(">")[0].strip() for line in extras[extra].split() if line}

    tools = {"mkdocs", "mkdocs-material", "mkdocstrings", "ruff", "mypy", "build", "twine"}
    assert not names("test") & tools
    assert tools | {"pre-commit", "types-requests"} <= names("dev")
    assert {"pytest", "hypothesis", "selenium", "django"} <= names("test")
    readme = (ROOT / "README.md").read_text()
    assert "python -m pip install -e '.[test,redis,keyring,httpx2]' && python -m pytest" in readme
    assert "-m slow" in readme and "two soak tests" in readme
    assert "'.[dev,test,redis,keyring,httpx2]'" in readme
