"""End to end in real browsers: the example app (`examples/connect_app.py --emulator`) in
a process of its own, and two headless Chromiums, each its own browser (profile, cookies),
each clicking Connect for its tenant and following the emulator's consent page back."""

from __future__ import annotations

import contextlib
import os
import pathlib
import re
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import eventually, need_server
from tests.web_apps import free_socket

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Chromium as this machine's closed network needs it (no background connections).
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
# What a secret looks like on a page: LwA's tokens, or an authorization code in a URL.
SECRET_SHAPES = re.compile(r"Atz[ar]\||[?&]code=|amzn1\.oa2-cs")


@pytest.fixture
def example_app(tmp_path: pathlib.Path) -> Iterator[str]:
    """`python examples/connect_app.py --emulator` on a free port; its URL."""
    with free_socket() as probe:
        port = probe.getsockname()[1]
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AMAZON_ADS_", "XDG_"))}
    output = tmp_path / "app.log"
    with output.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "examples/connect_app.py", "--emulator", "--port", str(port)],
            cwd=ROOT,
            env={**env, "HOME": str(home)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        eventually(lambda: _answers(url) or process.poll() is not None, timeout=60)
        assert process.poll() is None, output.read_text()
        assert f"Open {url}" in output.read_text()
        yield url
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=20)
        if process.poll() is None:
            process.kill()
    assert not SECRET_SHAPES.search(output.read_text()), output.read_text()[-2000:]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


@pytest.fixture
def browsers(tmp_path: pathlib.Path) -> Iterator[Any]:
    """Start headless Chromiums, each with an empty profile of its own."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        need_server("chromium", "chromium")
    driver_path = shutil.which("chromedriver") or need_server("chromedriver", "chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    started: list[Any] = []

    def start(name: str) -> Any:
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={tmp_path / ('chromium-' + name)}")
        driver = webdriver.Chrome(options=options, service=Service(driver_path))
        driver.set_page_load_timeout(60)
        started.append(driver)
        return driver

    try:
        yield start
    finally:
        for driver in started:
            with contextlib.suppress(Exception):
                driver.quit()


def _click(driver: Any, element_id: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(
        expected_conditions.element_to_be_clickable((By.ID, element_id))
    )
    driver.find_element(By.ID, element_id).click()


def _text_of(driver: Any, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.ID, element_id).text)


def test_two_tenants_connect_in_two_browsers(example_app: str, browsers: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    acme, globex = browsers("acme"), browsers("globex")
    seen: list[str] = []
    for driver, tenant in ((acme, "acme"), (globex, "globex")):
        driver.get(f"{example_app}/?tenant={tenant}")
        assert _text_of(driver, "signed-in") == f"Signed in as {tenant}"
        _click(driver, "connect")  # to Amazon, which consents and sends the browser back
        row = f"tenant-{tenant}"
        WebDriverWait(driver, 30).until(lambda d, row=row: d.find_elements(By.ID, row))
        assert driver.current_url == f"{example_app}/"
        seen.append(driver.page_source)
    acme.refresh()  # its page was made before Globex came back
    for driver in (acme, globex):
        # Each tenant's own profiles, listed now by the Ads API with the tenant's own token.
        assert _text_of(driver, "profiles-acme") == (
            "Advertiser 1 US (1001, US), Advertiser 1 UK (1002, GB)"
        )
        assert _text_of(driver, "profiles-globex") == (
            "Advertiser 2 US (2001, US), Advertiser 2 UK (2002, GB)"
        )
    # Disconnect is the signed-in tenant's own: Acme's browser shows only Acme's button.
    assert acme.find_elements(By.ID, "disconnect-acme")
    assert not acme.find_elements(By.ID, "disconnect-globex")
    _click(acme, "disconnect-acme")
    WebDriverWait(acme, 30).until(lambda d: not d.find_elements(By.ID, "tenant-acme"))
    globex.refresh()
    assert not globex.find_elements(By.ID, "tenant-acme")
    assert globex.find_elements(By.ID, "tenant-globex")
    seen.extend(driver.page_source for driver in (acme, globex))
    for page in seen:
        assert not SECRET_SHAPES.search(page), page[:500]


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({}, "set AMAZON_ADS_CLIENT_ID, AMAZON_ADS_CLIENT_SECRET, APP_SECRET_KEY"),
        (
            {
                "AMAZON_ADS_CLIENT_ID": "amzn1.application-oa2-client.xxxx",
                "AMAZON_ADS_CLIENT_SECRET": "amzn1.oa2-cs.v1.xxxx",
                "APP_SECRET_KEY": "short",
            },
            "secret_key must be at least 32 bytes",
        ),
    ],
)
def test_the_example_without_its_settings_says_what_to_set(
    env: dict[str, str], says: str, tmp_path: pathlib.Path
) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AMAZON_ADS_", "APP_"))}
    ran = subprocess.run(
        [sys.executable, "examples/connect_app.py", "--port", "1"],
        cwd=ROOT,
        env={**clean, **env, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 1
    assert says in ran.stderr and "Traceback" not in ran.stderr
    assert "amzn1.oa2-cs" not in ran.stderr + ran.stdout
