"""The Django views of docs/web.md, as the page shows them, served by Django's WSGI handler
on a loopback port (werkzeug) and used by a person with a browser."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from amazon_ads_auth import MemoryTokenStore
from amazon_ads_auth.testing import Emulator
from tests.conftest import SecretScanner
from tests.docs_text import blocks
from tests.web_apps import Person, add_accounts, free_socket, make_flow, serve_wsgi

urlpatterns: list[Any] = []  # this module is the Django project's URLconf
VIEWS: dict[str, Any] = {"__name__": "docs_django_views"}


def django_project() -> Any:
    """Configure Django once for this process, route the docs' two views, and return the
    WSGI application."""
    import django
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application
    from django.urls import path

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            ALLOWED_HOSTS=["127.0.0.1"],
            ROOT_URLCONF=__name__,
            SECRET_KEY="django-test-settings-key-" + "0" * 30,
            MIDDLEWARE=[],
            INSTALLED_APPS=[],
        )
        django.setup()
    if not urlpatterns:
        (views,) = [b for b in blocks("docs/web.md", after="## Django") if "def callback" in b.code]
        exec(compile(views.code, "docs/web.md", "exec"), VIEWS)
        VIEWS["tenant_of"] = lambda request: request.COOKIES.get("tenant")  # the test's sign-in
        urlpatterns.extend(
            [
                path("amazon-ads/connect", VIEWS["connect"]),
                path("amazon-ads/callback", VIEWS["callback"]),
            ]
        )
    return get_wsgi_application()


@pytest.fixture
def site(emulator: Emulator, secret_scanner: SecretScanner) -> Iterator[Any]:
    add_accounts(emulator)
    sock = free_socket()
    store = MemoryTokenStore()
    VIEWS["flow"] = flow = make_flow(emulator, sock.getsockname()[1], store)
    people: list[Person] = []
    with serve_wsgi(django_project(), sock) as url:

        def person(tenant: str) -> Person:
            people.append(Person(url, tenant))
            return people[-1]

        yield person, flow, store
    for someone in people:
        secret_scanner.texts.extend(("a page", page) for page in someone.pages)


def test_the_django_views_connect_a_tenant(site: Any) -> None:
    person, flow, store = site
    back = person("acme-42").connect("?next=/settings", account="bob")
    assert (back.status_code, back.headers["location"]) == (302, "/settings")
    assert any(
        'amazon_ads_consent=""' in c or "amazon_ads_consent=;" in c for c in back.set_cookies
    )
    record = store.load_login(f"{flow.client_id}/tenant:acme-42")
    assert record is not None and [p["profileId"] for p in record["profiles"]] == [222, 223]


@pytest.mark.parametrize(
    ("change", "status", "sentence"),
    [
        (lambda someone: someone.sign_in("globex"), 403, "Sign in with the account that"),
        (
            lambda someone: someone.drop_cookie("amazon_ads_consent"),
            400,
            "This link has expired. Start again.",
        ),
        (lambda someone: someone.sign_in(""), 403, "Please sign in"),
    ],
)
def test_the_django_views_refuse_a_callback(
    site: Any, change: Any, status: int, sentence: str
) -> None:
    person, _, store = site
    someone = person("acme-42")
    started = someone.get("/amazon-ads/connect")
    callback = someone.consent_at_amazon(started.headers["location"])
    change(someone)  # another tenant signs in here, or the cookie is lost
    answer = someone.get(callback)
    assert answer.status_code == status and sentence in answer.text, answer.text
    assert "<style>" in answer.text and "Traceback" not in answer.text  # the built-in page
    assert store.keys() == []
