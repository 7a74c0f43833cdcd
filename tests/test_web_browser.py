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


def _wait_for(driver: Any, element_id: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, element_id))


def _body(driver: Any) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.TAG_NAME, "body").text)


def test_a_person_walks_the_example_app(
    example_app: str, browsers: Any, tmp_path: pathlib.Path
) -> None:
    """Sign in, Connect, Amazon's consent page (pick an account), back in the app, reload
    the success page, the Cancel path, Disconnect: what a person sees at each step, with a
    screenshot of each page under the test's temporary folder."""
    shots = tmp_path / "screenshots"
    shots.mkdir()
    seen: list[str] = []
    driver = browsers("walk")
    driver.set_window_size(1100, 800)

    def shot(name: str) -> str:
        driver.save_screenshot(str(shots / f"{len(seen) + 1:02d}-{name}.png"))
        seen.append(driver.page_source)
        assert "code=" not in driver.current_url  # the code never stays in the address bar
        return _body(driver)

    driver.get(example_app)
    assert "Not signed in" in shot("signed-out")
    _click(driver, "sign-in-acme")
    _wait_for(driver, "signed-in")
    text = shot("signed-in")
    assert "Signed in as acme" in text and _text_of(driver, "state-acme") == "Not connected"

    _click(driver, "connect")  # to Amazon's consent page (the emulator's)
    _wait_for(driver, "account-alice")
    text = shot("amazon-consent")
    assert "Sign in as alice and allow" in text and "Sign in as bob and allow" in text
    assert "Cancel" in text

    _click(driver, "account-alice")  # consent: back in the app, on the success page
    _wait_for(driver, "title")
    assert driver.current_url == f"{example_app}/amazon-ads/connected"
    text = shot("connected")
    assert "Amazon Ads is connected" in text and "1 profile." in text
    assert "Continue to the app" in text

    driver.refresh()  # a reload of the success page says the same
    _wait_for(driver, "title")
    text = shot("connected-reloaded")
    assert "Amazon Ads is connected" in text and "1 profile." in text

    _click(driver, "action")  # Continue to the app
    _wait_for(driver, "tenants")
    assert driver.current_url == f"{example_app}/"
    shot("app-connected")
    assert _text_of(driver, "state-acme") == "Connected"
    # acme's profiles, listed now by the Ads API with acme's own token.
    assert _text_of(driver, "profiles-acme") == "Alice Store US (1001, US)"
    assert _text_of(driver, "state-globex") == "Not connected"

    # The Cancel path, as another tenant.
    _click(driver, "sign-out")
    _click(driver, "sign-in-globex")
    _wait_for(driver, "connect")
    _click(driver, "connect")
    _wait_for(driver, "cancel")
    _click(driver, "cancel")
    _wait_for(driver, "title")
    text = shot("cancelled")
    assert "Connection cancelled" in text
    assert "You cancelled the connection. Nothing was changed." in text and "Try again" in text

    _click(driver, "action")  # Try again: Connect once more, as bob this time
    _wait_for(driver, "account-bob")
    _click(driver, "account-bob")
    _wait_for(driver, "title")
    text = shot("connected-two")
    assert "Amazon Ads is connected" in text and "2 profiles." in text
    _click(driver, "action")
    _wait_for(driver, "tenants")
    assert _text_of(driver, "profiles-globex") == (
        "Bob Outdoor US (2001, US), Bob Outdoor UK (2002, GB)"
    )
    assert _text_of(driver, "profiles-acme") == "Alice Store US (1001, US)"

    _click(driver, "disconnect-globex")  # Disconnect: globex's grant is gone, acme's stays
    _wait_for(driver, "connect")
    shot("disconnected")
    assert _text_of(driver, "state-globex") == "Not connected"
    assert _text_of(driver, "state-acme") == "Connected"

    _click(driver, "sign-out")  # nobody signed in: Connect says to sign in, and not loop
    _wait_for(driver, "sign-in-acme")
    driver.get(f"{example_app}/amazon-ads/connect")
    _wait_for(driver, "title")
    text = shot("not-signed-in")
    assert "Please sign in" in text
    from selenium.webdriver.common.by import By

    action = driver.find_element(By.ID, "action")
    assert action.text == "Sign in" and action.get_attribute("href") == f"{example_app}/"

    assert len(list(shots.glob("*.png"))) == len(seen) == 10
    for page in seen:
        assert not SECRET_SHAPES.search(page), page[:500]
    print(f"screenshots: {shots}")


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
