"""Every Python block of the README and the docs runs, in page order, against the emulator.

The blocks are written for production (Amazon's hosts, placeholder credentials such as
`amzn1.application-oa2-client.xxxx` and `Atzr|IwEB...`); here an emulator with exactly
those credentials answers Amazon's hosts (`amazon_hosts()`), a login for them is stored in
the test's private HOME, `AMAZON_ADS_*` name them, and `input()` answers the consent page.
A block that cannot run carries `<!-- not run: reason -->` and is only compiled. The site
itself is built with `mkdocs build --strict` in `.ci/run`.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from amazon_ads_auth import FileTokenStore, Token
from amazon_ads_auth._logins.records import Login, save_login
from amazon_ads_auth.cli import main
from amazon_ads_auth.testing import Emulator, account_profile
from tests.accounts import profiles_for_tests
from tests.docs_text import PAGES, ROOT, blocks

CLIENT_ID = "amzn1.application-oa2-client.xxxx"
CLIENT_SECRET = "amzn1.oa2-cs.v1.xxxx"
REFRESH_TOKEN = "Atzr|IwEB..."
PROFILES = (1234567890, 9876543210)


@pytest.fixture
def amazon(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Emulator]:
    """The world the docs assume: Amazon (the emulator), a stored login, the variables."""
    emu = Emulator(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, profiles=profiles_for_tests(PROFILES)
    )
    emu.issue_refresh_token(value=REFRESH_TOKEN)
    emu.accept_access_token("Atza|docs-access", time.time() + 3600, REFRESH_TOKEN)
    monkeypatch.setenv("AMAZON_ADS_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("AMAZON_ADS_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("AMAZON_ADS_REFRESH_TOKEN", REFRESH_TOKEN)
    store = FileTokenStore()
    store.save(f"{CLIENT_ID}/default", Token("Atza|expired", REFRESH_TOKEN, 1.0))
    login = Login(client_id=CLIENT_ID, store_key="default", client_secret=CLIENT_SECRET)
    save_login(store, login.with_profiles(emu.profiles))
    # A tenant a web app connected (docs/web.md): a grant and its record, no secret saved.
    store.save(f"{CLIENT_ID}/tenant:acme-42", Token("Atza|expired", REFRESH_TOKEN, 1.0))
    tenant = Login(client_id=CLIENT_ID, store_key="tenant:acme-42", region="eu")
    save_login(store, tenant.with_profiles([account_profile(5555555555, "Acme EU", country="DE")]))
    monkeypatch.setenv("APP_SECRET_KEY", "docs-app-secret-key-" + "0" * 24)
    assert CliRunner().invoke(main, ["login", "--emulator"]).exit_code == 0  # for Sandbox
    monkeypatch.chdir(tmp_path)
    (tmp_path / "token.json").write_text(
        json.dumps(
            {
                "access_token": "Atza|docs-access",
                "refresh_token": REFRESH_TOKEN,
                "token_type": "bearer",
                "expires_in": 3600,
                "expires_at": time.time() + 3600,
            }
        )
    )

    def consent(prompt: str = "") -> str:
        """The user: open the URL the block printed, consent, paste where it went."""
        url = re.findall(r"https://\S+/ap/oa\?\S+", capsys.readouterr().out)[-1]
        return requests.get(url, allow_redirects=False, timeout=30).headers["Location"]

    monkeypatch.setattr("builtins.input", consent)
    # requests-oauthlib itself logs whole tokens at DEBUG (its issue #536): not ours to fix.
    monkeypatch.setattr(logging.getLogger("requests_oauthlib"), "propagate", False)
    with emu.amazon_hosts():
        yield emu


RUNNABLE = [page for page in PAGES if any(b.not_run is None for b in blocks(page))]


@pytest.mark.parametrize("page", RUNNABLE)
def test_every_python_block_runs(page: str, amazon: Emulator) -> None:
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    ran = 0
    for block in blocks(page):
        code = compile(block.code, page, "exec")
        if block.not_run is None:
            exec(code, namespace)  # raises (NameError, an AdsAuthError...) if it fails
            ran += 1
    assert ran >= 1


def test_every_block_that_does_not_run_says_why() -> None:
    marked = [b for page in PAGES for b in blocks(page) if b.not_run is not None]
    assert marked, "the SDK and Authlib blocks are marked"
    assert all(len(b.not_run.strip()) > 20 for b in marked if b.not_run is not None)
    for page in PAGES:
        assert "```py\n" not in PAGES[page].read_text(), f"{page}: use ```python"


def test_every_docs_page_is_in_the_site() -> None:
    config = (ROOT / "mkdocs.yml").read_text()
    for page in PAGES:
        if page.startswith("docs/"):
            assert page.removeprefix("docs/") in config, page


def test_the_site_builds_strict(tmp_path: Any) -> None:
    pytest.importorskip("mkdocs")
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    guarantees = (tmp_path / "guarantees.html").read_text()
    from tests.test_fault_matrix import ROWS

    for row in ROWS:
        assert f"<td>{row.name}</td>" in guarantees.replace("&amp;", "&"), row.name
    architecture = (tmp_path / "architecture.html").read_text()
    assert "_refresh.decisions" in architecture  # the generated list of modules, by room
    assert "The ground" in architecture
