"""The Starlette and Flask adapters, each served on a loopback port (uvicorn, werkzeug) and
used by a person with a browser: Connect, Amazon's consent page, the callback; and every
error page, with its status and sentence, and no secret on any page or in any log."""

from __future__ import annotations

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


def starlette_app(flow: ConsentFlow, on_connected: Any = None) -> Any:
    from fastapi import FastAPI
    from starlette.requests import Request

    from amazon_ads_auth.web.starlette import consent_routes

    async def tenant(request: Request) -> str | None:  # an async sign-in, as many apps have
        return request.cookies.get("tenant")

    app = FastAPI()
    app.router.routes += consent_routes(flow, tenant=tenant, on_connected=on_connected)
    return app


def flask_app(flow: ConsentFlow, on_connected: Any = None) -> Any:
    from flask import Flask, request

    from amazon_ads_auth.web.flask import consent_blueprint

    app = Flask(__name__)
    app.register_blueprint(
        consent_blueprint(
            flow, tenant=lambda: request.cookies.get("tenant"), on_connected=on_connected
        )
    )
    return app


class Site:
    """An app with the adapter, its flow and store, and the people using it."""

    def __init__(self, kind: str, emulator: Emulator, on_connected: Any = None) -> None:
        self.kind = kind
        self.emulator = emulator
        self.store = MemoryTokenStore()
        self._sock = free_socket()
        self.flow = make_flow(emulator, self._sock.getsockname()[1], self.store)
        make, serve = (
            (starlette_app, serve_asgi) if kind == "starlette" else (flask_app, serve_wsgi)
        )
        self._serving = serve(make(self.flow, on_connected), self._sock)
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
    record = site.store.load_login(site.key("acme-42"))
    assert record is not None and [p["profileId"] for p in record["profiles"]] == [222, 223]


def test_without_next_a_page_says_how_many_profiles(site: Site) -> None:
    back = site.person().connect(account="bob")
    assert back.status_code == 200
    assert "Amazon Ads connected: 2 profiles" in back.text


@pytest.mark.parametrize("next_path", ["//evil.example/x", "https://evil.example/", "/\\evil"])
def test_next_off_the_app_never_redirects_there(site: Site, next_path: str) -> None:
    from urllib.parse import quote

    back = site.person().connect("?next=" + quote(next_path, safe=""))
    assert back.status_code == 200 and "Amazon Ads connected: 1 profiles" in back.text


def test_region_is_chosen_at_connect(site: Site) -> None:
    assert site.person().connect("?region=eu&next=/x").status_code == 302
    record = site.store.load_login(site.key("acme-42"))
    assert record is not None and record["region"] == "eu"


def test_an_unknown_region_is_a_400_page(site: Site) -> None:
    answer = site.person().get("/amazon-ads/connect?region=mars")
    assert answer.status_code == 400
    assert "unknown region &#x27;mars&#x27;: use one of" in answer.text
    assert 'href="/amazon-ads/connect"' in answer.text
    assert not cookies_set(answer)


def test_nobody_signed_in_is_a_403_page(site: Site) -> None:
    answer = site.person(tenant=None).get("/amazon-ads/connect")
    assert answer.status_code == 403 and "sign in, then click Connect again" in answer.text


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
    assert 'href="/amazon-ads/connect"' in answer.text
    assert "Traceback" not in answer.text
    assert answer.headers["content-type"].startswith("text/html")


def test_a_callback_in_another_browser_is_refused(site: Site) -> None:
    answer = error_after_consent(site, site.person(), drop_cookie=True)
    assert_error_page(answer, 400, "start again from this browser")
    assert site.store.keys() == []


def test_a_consent_started_by_another_tenant_is_a_403(site: Site) -> None:
    answer = error_after_consent(site, site.person("acme-42"), tenant="globex")
    assert_error_page(answer, 403, "started by another account of this app")
    assert site.store.keys() == []


def test_a_callback_of_another_consent_is_refused(site: Site) -> None:
    person = site.person()
    other = site.person()
    started = other.get("/amazon-ads/connect")
    foreign = other.consent_at_amazon(started.headers["location"])
    answer = error_after_consent(site, person, callback=foreign)
    assert_error_page(answer, 400, "state does not match")


def test_access_denied_is_a_400_page(site: Site) -> None:
    answer = error_after_consent(site, site.person(), account=None)
    assert_error_page(answer, 400, "consent failed with &#x27;access_denied&#x27;")


def test_a_replayed_callback_leaves_the_first_grant(site: Site) -> None:
    person = site.person()
    started = person.get("/amazon-ads/connect?next=/done")
    cookie = person.cookie("amazon_ads_consent")
    assert cookie is not None
    callback = person.consent_at_amazon(started.headers["location"])
    assert person.get(callback).status_code == 302
    saved = site.store.load(site.key("acme-42"))
    # Back button: the cookie is gone, so the page says to start again...
    assert_error_page(person.get(callback), 400, "start again from this browser")
    # ... and with the cookie put back, Amazon refuses the used code.
    person.set_cookie("amazon_ads_consent", cookie)
    assert_error_page(person.get(callback), 400, "codes live 5 minutes and work once")
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
