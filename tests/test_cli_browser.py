"""End to end in a real browser: headless Chromium opens the consent URL through BROWSER,
follows the emulator's redirect to the CLI's loopback listener, and login completes."""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import signal
import stat
import subprocess
import sys

import pytest

from amazon_ads_auth import FileTokenStore
from amazon_ads_auth.testing import Emulator
from tests.conftest import assert_no_secrets, need_server

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def chromium() -> str:
    return CHROMIUM or need_server("chromium", "chromium")


def test_login_in_headless_chromium(
    chromium: str, emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    profile = tmp_path / "chromium-profile"
    pid_file = tmp_path / "chromium.pid"
    wrapper = tmp_path / "open-browser"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'"{chromium}" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run '
        "--disable-background-networking --disable-component-update --disable-sync "
        f'--user-data-dir="{profile}" --dump-dom "$1" '
        f'> "{tmp_path}/dom.html" 2> "{tmp_path}/chromium.log" &\n'
        f'echo $! > "{pid_file}"\n'
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AMAZON_ADS_", "XDG_"))},
        "HOME": str(home),
    }
    store = home / ".local/share/amazon-ads-auth/tokens"  # the default store, under HOME
    try:
        result = subprocess.run(
            [
                sys.executable, "-m", "amazon_ads_auth", "login",
                "--client-id", emulator.client_id, "--client-secret", emulator.client_secret,
                "--token-url", emulator.token_url,
                "--authorization-url", emulator.authorization_url,
                "--api-url", emulator.api_url,
                "--redirect-uri", "http://127.0.0.1:0/callback",  # a free port
                "--wait", "90",
            ],
            env={**env, "BROWSER": f"{wrapper} %s"},
            capture_output=True,
            text=True,
            timeout=150,
            cwd=ROOT,
        )  # fmt: skip
    finally:
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
    assert result.returncode == 0, result.stderr + (tmp_path / "chromium.log").read_text()[-2000:]
    assert "3141592653589793" in result.stdout
    assert "Emulator Demo Store" in result.stdout
    token = FileTokenStore(store).load(f"{emulator.client_id}/default")
    assert token is not None
    assert emulator.is_valid_access_token(token.access_token)
    assert emulator.token_requests == {"authorization_code": 1}
    assert_no_secrets([result.stdout, result.stderr], emulator.issued_secrets(), "CLI output")
    # Then the next command a person types needs no flags at all.
    printed = subprocess.run(
        [sys.executable, "-m", "amazon_ads_auth", "token"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.strip() == token.access_token
