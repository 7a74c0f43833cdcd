"""The docs site works offline: built, it references no host but the project's own (no
fonts, scripts or API calls from elsewhere), its links work opened from files (file://),
search works there too, and the build hooks stay out of it."""

from __future__ import annotations

import configparser
import os
import pathlib
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from tests.conftest import need_server
from tests.docs_text import ROOT


def project_urls() -> list[str]:
    """The project's own URLs, from setup.cfg: the only hosts a page may link to."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    metadata = config["metadata"]
    urls = [metadata["url"]]
    for line in metadata["project_urls"].strip().splitlines():
        urls.append(line.partition("=")[2].strip())
    return [url.rstrip("/") for url in urls]


class References(HTMLParser):
    """Every URL a page refers to: href, src and srcset attributes, and url() in styles."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []  # (tag, url)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in ("href", "src", "action", "poster", "data"):
                self.found.append((tag, value))
            elif name == "srcset":
                self.found.extend((tag, part.split()[0]) for part in value.split(",") if part)
            elif name == "style":
                self.found.extend((tag, url) for url in _css_urls(value))

    def handle_data(self, data: str) -> None:
        if self.lasttag == "style":
            self.found.extend(("style", url) for url in _css_urls(data))


def _css_urls(text: str) -> list[str]:
    found = re.findall(r"url\(\s*['\"]?([^'\")]+)", text)
    return found + re.findall(r"@import\s+['\"]([^'\"]+)", text)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    pytest.importorskip(
        "mkdocs", reason="the docs site needs the docs extra: pip install -e '.[docs]'"
    )
    folder = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(folder)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert built.returncode == 0, built.stderr[-3000:]
    return folder


def pages(site: pathlib.Path) -> list[pathlib.Path]:
    found = sorted(site.rglob("*.html"))
    assert len(found) > 10
    return found


def references(page: pathlib.Path) -> list[tuple[str, str]]:
    parser = References()
    parser.feed(page.read_text("utf-8"))
    return parser.found


def test_no_page_references_a_host_but_the_projects(site: pathlib.Path) -> None:
    allowed = project_urls()
    assert "https://github.com/amazon-ads-auth/amazon-ads-auth" in allowed
    outside: set[str] = set()
    for page in pages(site):
        for _, url in references(page):
            parts = urlsplit(url)
            if parts.scheme in ("http", "https") or url.startswith("//"):
                if not any(url == own or url.startswith(own + "/") for own in allowed):
                    outside.add(f"{page.name}: {url}")
            else:
                assert parts.scheme in ("", "mailto", "data"), f"{page.name}: {url}"
    assert not outside, sorted(outside)
    for stylesheet in site.rglob("*.css"):
        for url in _css_urls(stylesheet.read_text("utf-8")):
            assert not urlsplit(url).scheme.startswith("http"), f"{stylesheet.name}: {url}"


def test_no_fonts_repository_widget_or_theme_credit(site: pathlib.Path) -> None:
    index = (site / "index.html").read_text("utf-8")
    for phoned in ("fonts.googleapis.com", "fonts.gstatic.com", "api.github.com", "unpkg.com"):
        assert phoned not in index
    assert "md-source" not in index  # the repository widget (it calls the GitHub API)
    assert "squidfunk" not in index  # "Made with Material for MkDocs"


def test_every_link_works_opened_from_files(site: pathlib.Path) -> None:
    checked = 0
    for page in pages(site):
        if page.name == "404.html":
            continue  # a web server's answer for a missing page: from files, never shown
        for tag, url in references(page):
            parts = urlsplit(url)
            if parts.scheme or url.startswith(("#", "//")) or not parts.path:
                continue
            target = (page.parent / unquote(parts.path)).resolve()
            # A directory would show a file listing from file://: every link names a file.
            assert target.is_file(), f"{page.name}: <{tag}> {url} is not a file of the site"
            checked += 1
    assert checked > 100
    nav = (site / "index.html").read_text("utf-8")
    assert 'href="testing.html"' in nav and 'href="getting-started.html"' in nav


def test_search_works_from_files_with_nothing_from_another_host(site: pathlib.Path) -> None:
    index = (site / "search" / "search_index.js").read_text("utf-8")
    assert index.startswith("var __index = ") and "LoginDirectory" in index
    scripts = [url for tag, url in references(site / "index.html") if tag == "script"]
    assert "javascripts/iframe-worker.js" in scripts
    assert all(not urlsplit(url).scheme for url in scripts)


def test_the_build_hooks_stay_out_of_the_site(site: pathlib.Path) -> None:
    assert not list(site.rglob("*.py"))
    assert (site / "guarantees.html").is_file()  # the hooks ran: the generated tables
    assert "_refresh.decisions" in (site / "architecture.html").read_text("utf-8")


def test_search_finds_a_page_in_chromium_from_files(site: pathlib.Path, tmp_path: Any) -> None:
    """The real thing: headless Chromium opens the built site from files and searches."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        need_server("chromium", "chromium")
    driver_path = shutil.which("chromedriver") or need_server("chromedriver", "chromium-driver")
    pytest.importorskip("selenium")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.test_web_browser import CHROMIUM_FLAGS

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium'}")
    options.add_argument("--window-size=1400,1000")  # wide: the navigation is on screen
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    try:
        driver.set_page_load_timeout(60)
        driver.get((site / "index.html").as_uri())
        driver.find_element(By.CSS_SELECTOR, "a[href='testing.html']").click()
        assert driver.current_url == (site / "testing.html").as_uri()
        box = driver.find_element(By.CSS_SELECTOR, "input.md-search__input")
        toggle = driver.find_elements(By.CSS_SELECTOR, "label.md-header__button[for='__search']")
        (toggle[0] if toggle and toggle[0].is_displayed() else box).click()
        box.send_keys("LoginDirectory")
        WebDriverWait(driver, 30).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, ".md-search-result__item")
        )
        meta = driver.find_element(By.CSS_SELECTOR, ".md-search-result__meta").text
        assert "matching" in meta
    finally:
        driver.quit()
