"""The Starlette and Flask adapters, each served on a loopback port (uvicorn, werkzeug) and
used by a person with a browser: Connect, Amazon's consent page, the callback; and every
error page, with its status and sentence, and no secret on any page or in any log."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from amazon_ads_auth import MemoryTokenStore
from amazon_ads_auth.testing import Emulator
from amazon_ads_auth.web import ConsentFlow, ConsentResult
from tests.conftest import SecretScanner
from tests.web_apps import (
    Page,
    Person,
    add_accounts,
    free_socket,
    make_flow,
    serve_asgi,
    serve_wsgi,
)


def cookie_tenant(cookies: Any) -> Any:
    """The test's sign-in: the "tenant" cookie; "false", "zero" and "none" stand for an app
    whose `tenant()` answers False, 0 or [] for anonymous visitors."""
    value = cookies.get("tenant")
    return {"false": False, "zero": 0, "none": []}.get(value, value)


def starlette_app(flow: ConsentFlow, on_connected: Any = None, **options: Any) -> Any:
    from fastapi import FastAPI
    from starlette.requests import Request

    from amazon_ads_auth.web.starlette import consent_routes

    async def tenant(request: Request) -> Any:  # an async sign-in, as many apps have
        return cookie_tenant(request.cookies)

    app = FastAPI()
    app.router.routes += consent_routes(flow, tenant=tenant, on_connected=on_connected, **options)
    return app


def flask_app(flow: ConsentFlow, on_connected: Any = None, **options: Any) -> Any:
    from flask import Flask, request

    from amazon_ads_auth.web.flask import consent_blueprint

    app = Flask(__name__)
    app.register_blueprint(
        consent_blueprint(
            flow,
            tenant=lambda: cookie_tenant(request.cookies),
            on_connected=on_connected,
            **options,
        )
    )
    return app


class Site:
    """An app with the adapter, its flow and store, and the people using it."""

    def __init__(
        self, kind: str, emulator: Emulator, on_connected: Any = None, **options: Any
    ) -> None:
        self.kind = kind
        self.emulator = emulator
        self.store = MemoryTokenStore()
        self._sock = free_socket()
        self.flow = make_flow(emulator, self._sock.getsockname()[1], self.store)
        make, serve = (
            (starlette_app, serve_asgi) if kind == "starlette" else (flask_app, serve_wsgi)
        )
        self._serving = serve(make(self.flow, on_connected, **options), self._sock)
        self.url = self._serving.__enter__()
        self.people: list[Person] = []

    def person(self, tenant: str | None = "acme-42") -> Person:
        self.people.append(Person(self.url, tenant))
        return self.people[-1]

    def key(self, tenant: str) -> str:
        return f"{self.flow.client_id}/tenant:{tenant}"

    def close(self) -> None:
        self._serving.__exit__(None, None, None)


@pytest.fixture(params=["starlette", "flask"])
def site(
    request: pytest.FixtureRequest, emulator: Emulator, secret_scanner: SecretScanner
) -> Iterator[Site]:
    add_accounts(emulator)
    made = Site(request.param, emulator)
    yield made
    made.close()
    for person in made.people:  # every page anyone saw is scanned for secrets
        secret_scanner.texts.extend(("a page", page) for page in person.pages)


def cookies_set(response: Page) -> list[str]:
    return response.set_cookies


def test_connect_redirects_to_amazon_with_the_consent_cookie(site: Site) -> None:
    started = site.person().get("/amazon-ads/connect?next=/settings")
    assert started.status_code == 302
    assert started.headers["location"].startswith(site.emulator.authorization_url + "?")
    (cookie,) = cookies_set(started)
    assert cookie.startswith("amazon_ads_consent=")
    assert {"HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=600"} <= set(cookie.split("; "))
    assert started.headers["cache-control"] == "no-store"


def test_a_whole_connect_comes_back_to_next(site: Site) -> None:
    person = site.person()
    back = person.connect("?next=/settings/integrations", account="bob")
    assert (back.status_code, back.headers["location"]) == (302, "/settings/integrations")
    assert any(c.startswith("amazon_ads_consent=;") and "Max-Age=0" in c for c in cookies_set(back))
    assert person.cookie("amazon_ads_consent") is None
    assert person.cookie("amazon_ads_consent_done")  # the "done" marker, for a reload
    record = site.store.load_login(site.key("acme-42"))
    assert record is not None and [p["profileId"] for p in record["profiles"]] == [222, 223]


def test_without_next_the_success_page_says_how_many_profiles(site: Site) -> None:
    person = site.person()
    back = person.connect(account="bob")
    # A redirect: the code leaves the address bar.
    assert (back.status_code, back.headers["location"]) == (302, "/amazon-ads/connected")
    for _ in range(2):  # the success page, and a reload of it
        page = person.get("/amazon-ads/connected")
        assert page.status_code == 200, page.text
        assert "Amazon Ads is connected" in page.text
        assert "2 profiles" in page.text
        assert 'href="/"' in page.text and "Continue" in page.text


@pytest.mark.parametrize("next_path", ["//evil.example/x", "https://evil.example/", "/\\evil"])
def test_next_off_the_app_never_redirects_there(site: Site, next_path: str) -> None:
    from urllib.parse import quote

    person = site.person()
    back = person.connect("?next=" + quote(next_path, safe=""))
    assert (back.status_code, back.headers["location"]) == (302, "/amazon-ads/connected")
    page = person.get("/amazon-ads/connected")
    assert "1 profile." in page.text  # one: not "1 profiles"


def test_region_is_chosen_at_connect(site: Site) -> None:
    assert site.person().connect("?region=eu&next=/x").status_code == 302
    record = site.store.load_login(site.key("acme-42"))
    assert record is not None and record["region"] == "eu"


def test_an_unknown_region_is_a_400_page(site: Site) -> None:
    answer = site.person().get("/amazon-ads/connect?region=mars")
    assert answer.status_code == 400
    assert "This link is not valid" in answer.text and "mars" not in answer.text
    assert 'href="/amazon-ads/connect"' in answer.text
    assert not cookies_set(answer)


@pytest.mark.parametrize("anonymous", [None, "", "false", "zero", "none"])
def test_nobody_signed_in_is_a_403_page_that_does_not_loop(site: Site, anonymous: Any) -> None:
    person = site.person(tenant=anonymous)
    for path in ("/amazon-ads/connect", "/amazon-ads/callback?code=x&state=y"):
        answer = person.get(path)
        assert answer.status_code == 403 and "Please sign in" in answer.text
        assert 'href="/"' in answer.text and "/amazon-ads/connect" not in answer.text
    assert site.store.keys() == []


def test_an_anonymous_visitor_cannot_connect_under_a_false_tenant(site: Site) -> None:
    """The review's finding: `tenant()` answering False, 0 or [] made grants under
    "False", "0", "[]"."""
    someone = site.person("acme-42")
    started = someone.get("/amazon-ads/connect")
    callback = someone.consent_at_amazon(started.headers["location"])
    for anonymous in ("false", "zero", "none"):
        someone.sign_in(anonymous)
        assert someone.get(callback).status_code == 403
    assert site.store.keys() == []


def error_after_consent(site: Site, person: Person, **change: Any) -> Any:
    """Start as the person's tenant, consent, then (changing something) come back."""
    started = person.get("/amazon-ads/connect")
    callback = person.consent_at_amazon(started.headers["location"], change.get("account", "alice"))
    if "tenant" in change:
        person.sign_in(change["tenant"])
    if change.get("drop_cookie"):
        person.drop_cookie("amazon_ads_consent")
    if "callback" in change:
        callback = change["callback"]
    return person.get(callback)


def assert_error_page(answer: Any, status: int, sentence: str) -> None:
    assert answer.status_code == status, answer.text
    assert sentence in answer.text
    for internal in ("Error", "state", "cookie", "access_denied", "start again from"):
        assert internal not in answer.text, internal
    assert 'href="/amazon-ads/connect"' in answer.text
    assert "Traceback" not in answer.text
    assert answer.headers["content-type"].startswith("text/html")


def test_a_callback_in_another_browser_is_refused(site: Site) -> None:
    answer = error_after_consent(site, site.person(), drop_cookie=True)
    assert_error_page(answer, 400, "This link has expired. Start again.")
    assert site.store.keys() == []


def test_a_consent_started_by_another_tenant_is_a_403(site: Site) -> None:
    answer = error_after_consent(site, site.person("acme-42"), tenant="globex")
    assert_error_page(answer, 403, "Sign in with the account that started it")
    assert "acme" not in answer.text and "globex" not in answer.text
    assert site.store.keys() == []


def test_a_callback_of_another_consent_is_refused(site: Site) -> None:
    person = site.person()
    other = site.person()
    started = other.get("/amazon-ads/connect")
    foreign = other.consent_at_amazon(started.headers["location"])
    answer = error_after_consent(site, person, callback=foreign)
    assert_error_page(answer, 400, "This link has expired. Start again.")


def test_access_denied_is_a_400_page(site: Site) -> None:
    answer = error_after_consent(site, site.person(), account=None)
    assert_error_page(answer, 400, "You cancelled the connection. Nothing was changed.")
    assert "Try again" in answer.text


def test_a_replayed_callback_leaves_the_first_grant(site: Site) -> None:
    person = site.person()
    started = person.get("/amazon-ads/connect?next=/done")
    cookie = person.cookie("amazon_ads_consent")
    assert cookie is not None
    callback = person.consent_at_amazon(started.headers["location"])
    assert person.get(callback).status_code == 302
    saved = site.store.load(site.key("acme-42"))
    # A reload: the consent cookie is gone, the "done" marker says it was this consent.
    again = person.get(callback)
    assert (again.status_code, again.headers["location"]) == (302, "/done")
    # Without the marker, the page says to start again...
    person.drop_cookie("amazon_ads_consent_done")
    assert_error_page(person.get(callback), 400, "This link has expired. Start again.")
    # ... and with the consent cookie put back, Amazon refuses the used code.
    person.set_cookie("amazon_ads_consent", cookie)
    assert_error_page(person.get(callback), 400, "This link has expired. Start again.")
    assert site.store.load(site.key("acme-42")) == saved


def test_two_tenants_in_two_browsers_at_once(site: Site) -> None:
    acme, globex = site.person("acme-42"), site.person("globex")
    started = {p: p.get("/amazon-ads/connect?next=/") for p in (acme, globex)}
    callbacks = {
        acme: acme.consent_at_amazon(started[acme].headers["location"], "alice"),
        globex: globex.consent_at_amazon(started[globex].headers["location"], "bob"),
    }
    assert globex.get(callbacks[globex]).status_code == 302
    assert acme.get(callbacks[acme]).status_code == 302
    profiles = {
        tenant: [
            p["profileId"] for p in (site.store.load_login(site.key(tenant)) or {})["profiles"]
        ]
        for tenant in ("acme-42", "globex")
    }
    assert profiles == {"acme-42": [111], "globex": [222, 223]}


@pytest.mark.parametrize("kind", ["starlette", "flask"])
def test_on_connected_answers_instead(kind: str, emulator: Emulator) -> None:
    add_accounts(emulator)
    seen: list[ConsentResult] = []
    if kind == "starlette":
        from starlette.responses import PlainTextResponse

        async def on_connected(request: Any, result: ConsentResult) -> Any:
            seen.append(result)
            return PlainTextResponse(f"welcome {result.tenant}", status_code=201)
    else:

        def on_connected(result: ConsentResult) -> Any:  # type: ignore[misc]
            seen.append(result)
            return f"welcome {result.tenant}", 201

    site = Site(kind, emulator, on_connected)
    try:
        back = site.person().connect("?next=/ignored")
    finally:
        site.close()
    assert (back.status_code, back.text) == (201, "welcome acme-42")
    assert any("Max-Age=0" in c for c in cookies_set(back))  # the cookie is still cleared
    assert [r.tenant for r in seen] == ["acme-42"]


def test_a_reload_of_a_completed_callback_says_connected_only_to_its_tenant(site: Site) -> None:
    person = site.person()
    started = person.get("/amazon-ads/connect")
    callback = person.consent_at_amazon(started.headers["location"], "bob")
    assert person.get(callback).headers["location"] == "/amazon-ads/connected"
    again = person.get(callback)
    assert (again.status_code, again.headers["location"]) == (302, "/amazon-ads/connected")
    assert "Amazon Ads is connected" in person.get(again.headers["location"]).text
    person.sign_in("globex")  # someone else signed in on this browser
    assert_error_page(person.get(callback), 400, "This link has expired. Start again.")
    assert "This link has expired" in person.get("/amazon-ads/connected").text
    person.sign_in("acme-42")
    site.flow.disconnect("acme-42")  # the grant that consent made is gone
    assert_error_page(person.get(callback), 400, "This link has expired. Start again.")
    assert person.get("/amazon-ads/connected").status_code == 400


def test_amazon_failing_is_a_5xx_page_with_a_reference_in_the_log(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from amazon_ads_auth.testing import Fault

    person = site.person()
    started = person.get("/amazon-ads/connect")
    callback = person.consent_at_amazon(started.headers["location"])
    site.emulator.queue_token_faults(*[Fault.status_code(503, retry_after=0)] * 6)
    with caplog.at_level(logging.ERROR, logger="amazon_ads_auth"):
        answer = person.get(callback)
    assert answer.status_code == 502
    assert (
        "Amazon Ads could not be connected right now. Please try again in a few minutes."
        in answer.text
    )
    import re

    reference = re.search(r'id="reference">([0-9a-f]{8})<', answer.text)
    assert reference is not None
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(reference[1] in m and "TokenEndpointError" in m for m in logged)
    for internal in ("127.0.0.1", "503", "Token", "HTTP"):
        assert internal not in answer.text.split("<body>")[1], internal
    assert site.store.keys() == []


@pytest.mark.parametrize("kind", ["starlette", "flask"])
def test_render_page_renders_every_page_with_the_apps_template(
    kind: str, emulator: Emulator
) -> None:
    from amazon_ads_auth.web import ConsentPage

    add_accounts(emulator)
    seen: list[ConsentPage] = []

    def render(page: ConsentPage) -> str:
        seen.append(page)
        return f"<p>MyBrand {page.kind} {page.status}: {page.title} -> {page.action_url}</p>"

    site = Site(kind, emulator, render_page=render, sign_in_url="/login")
    try:
        cancelled = site.person().connect(account=None)
        anonymous = site.person(tenant=None).get("/amazon-ads/connect")
        person = site.person()
        person.connect()
        success = person.get("/amazon-ads/connected")
    finally:
        site.close()
    assert cancelled.status_code == 400
    assert cancelled.text.startswith("<p>MyBrand cancelled 400: Connection cancelled")
    assert anonymous.status_code == 403 and "-> /login" in anonymous.text
    assert success.status_code == 200 and "MyBrand connected 200" in success.text
    assert [p.kind for p in seen] == ["cancelled", "not_signed_in", "connected"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        seen[0].title = "x"  # type: ignore[misc]


def test_success_url_is_where_a_consent_without_next_goes(emulator: Emulator) -> None:
    add_accounts(emulator)
    site = Site("starlette", emulator, success_url="/welcome")
    try:
        back = site.person().connect()
    finally:
        site.close()
    assert (back.status_code, back.headers["location"]) == (302, "/welcome")


@pytest.mark.parametrize(
    ("module", "framework", "extra"),
    [
        ("starlette", "starlette", "amazon-ads-auth[web]"),
        ("flask", "flask", "amazon-ads-auth[flask]"),
    ],
)
def test_an_adapter_without_its_framework_names_the_extra(
    module: str, framework: str, extra: str
) -> None:
    import subprocess
    import sys

    code = (
        f"import sys; sys.modules[{framework!r}] = None\n"
        "try:\n"
        f"    import amazon_ads_auth.web.{module}\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert extra in ran.stdout and "pip install" in ran.stdout
