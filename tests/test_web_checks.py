"""The web flow's decisions, by tables: tenant ids, return paths, cookie names, the signed
consent cookie, the order of the callback's checks, and what each error answers."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from amazon_ads_auth import (
    AuthorizationDeniedError,
    ConfigurationError,
    ConsentError,
    InvalidClientError,
    InvalidGrantError,
    NoTokenError,
    StateMismatchError,
    StoreError,
    TokenEndpointError,
    TokenRequestError,
)
from amazon_ads_auth._redact import SecretBytes
from amazon_ads_auth.web._checks import (
    check_callback,
    checked_cookie_name,
    safe_return_to,
    signed_in_tenant,
    tenant_id,
)
from amazon_ads_auth.web._cookie import ConsentState, derive_verifier, seal, unseal
from amazon_ads_auth.web._replies import status_for

KEY = b"k" * 32
CLIENT = "amzn1.application-oa2-client.xxxx"
NOW = 1_800_000_000.0


def consent(**changes: Any) -> ConsentState:
    fields: dict[str, Any] = {
        "state": "S" * 32,
        "tenant": "acme-42",
        "region": "na",
        "scope": "advertising::campaign_management",
        "return_to": "/settings",
        "expires_at": NOW + 600,
        "client_id": CLIENT,
    }
    fields.update(changes)
    return ConsentState(**fields)


@pytest.mark.parametrize(
    "tenant", ["acme-42", "Acme Corp", "org_7", "ünïcødé", "a/b", "1", "x" * 200]
)
def test_tenant_ids_that_are_store_keys(tenant: str) -> None:
    assert tenant_id(tenant) == tenant


def test_an_integer_tenant_id_is_its_decimal_text() -> None:
    assert tenant_id(42) == "42"
    with pytest.raises(ConfigurationError):
        tenant_id(True)


@pytest.mark.parametrize(
    ("tenant", "says"),
    [
        ("", "non-empty"),
        ("   ", "non-empty"),
        (None, "non-empty"),
        (4.2, "non-empty"),
        (b"acme", "non-empty"),
        ("x" * 201, "at most 200"),
        (" acme", "white space"),
        ("acme\n", "white space"),
        ("ac\nme", "control character"),
        ("ac\x00me", "control character"),
        ("ac\x1bme", "control character"),
        ("ac\u2028me", "control character"),
        ("ac\ud800me", "control character"),
        # Invisible format characters (Unicode category Cf) and other unprintable ones:
        # "acme\u200b" would pass for "acme" in a listing.
        ("acme\u200b", "invisible format character"),
        ("ac\u200bme", "invisible format character"),
        ("\u202eemca", "invisible format character"),
        ("ac\u2066me\u2069", "invisible format character"),
        ("ac\ufeffme", "invisible format character"),
        ("ac\u00adme", "invisible format character"),  # soft hyphen
        ("ac\u200dme", "invisible format character"),  # zero-width joiner
        ("ac\u00a0me", "invisible format character"),  # no-break space: not printable
        ("ac\ue000me", "invisible format character"),  # private use
    ],
)
def test_tenant_ids_no_store_can_hold(tenant: object, says: str) -> None:
    with pytest.raises(ConfigurationError, match=says):
        tenant_id(tenant)


@pytest.mark.parametrize("anonymous", [None, "", 0, False, [], {}, ()])
def test_a_false_tenant_answer_means_nobody_is_signed_in(anonymous: object) -> None:
    assert signed_in_tenant(anonymous) is None


@pytest.mark.parametrize(("answer", "tenant"), [("acme", "acme"), (42, "42"), (7, "7")])
def test_a_str_or_int_tenant_answer_is_its_id(answer: object, tenant: str) -> None:
    assert signed_in_tenant(answer) == tenant


@pytest.mark.parametrize("answer", [True, ["acme"], {"id": 1}, 4.2, b"acme", object()])
def test_a_truthy_answer_that_is_no_tenant_id_is_the_apps_mistake(answer: object) -> None:
    with pytest.raises(ConfigurationError, match="tenant\\(\\) must return"):
        signed_in_tenant(answer)


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("/settings/integrations", "/settings/integrations"),
        ("/", "/"),
        ("/a?b=c&d=e#f", "/a?b=c&d=e#f"),
        ("/%2F%2Fevil.example", "/%2F%2Fevil.example"),
        ("/path:with:colons", "/path:with:colons"),
        ("//evil.example", None),
        ("//evil.example/path", None),
        ("///evil.example", None),
        ("https://evil.example/", None),
        ("http:evil.example", None),
        ("javascript:alert(1)", None),
        ("/\\evil.example", None),
        ("\\\\evil.example", None),
        ("evil.example", None),
        ("settings", None),
        ("", None),
        (None, None),
        (42, None),
        ("/ok\r\nSet-Cookie: a=b", None),
        ("/ok\tno", None),
        ("/with space", None),
        ("/" + "a" * 999, "/" + "a" * 999),
        ("/" + "a" * 1000, None),
        ("/caf\u00e9", None),
        ("/caf%C3%A9", "/caf%C3%A9"),
    ],
)
def test_only_paths_on_the_app_are_kept_as_return_to(value: object, kept: str | None) -> None:
    assert safe_return_to(value) == kept


@pytest.mark.parametrize("name", ["amazon_ads_consent", "c", "a-b.c~d", "X" * 64])
def test_cookie_names(name: str) -> None:
    assert checked_cookie_name(name) == name


@pytest.mark.parametrize("name", ["", "a b", "a;b", "a=b", "a,b", "é", "X" * 65, None])
def test_cookie_names_that_are_not_tokens(name: object) -> None:
    with pytest.raises(ConfigurationError, match="cookie_name"):
        checked_cookie_name(name)


def test_the_cookie_carries_the_consent_and_no_verifier() -> None:
    sealed = seal(consent(), KEY)
    assert unseal(sealed, KEY, now=NOW, client_id=CLIENT) == consent()
    body = base64.urlsafe_b64decode(sealed.partition(".")[0] + "==")
    assert derive_verifier(KEY, "S" * 32).value not in body.decode()
    assert json.loads(body)["tenant"] == "acme-42"


def test_the_verifier_is_a_pkce_verifier_only_the_key_can_make() -> None:
    verifier = derive_verifier(KEY, "state-1")
    assert 43 <= len(verifier.value) <= 128
    assert verifier.value not in repr(verifier)  # a Secret: no frame local shows it
    assert verifier == derive_verifier(KEY, "state-1")
    assert verifier != derive_verifier(KEY, "state-2")
    assert verifier != derive_verifier(b"o" * 32, "state-1")
    assert verifier == derive_verifier(SecretBytes(KEY), "state-1")


def _forged_payload(sealed: str) -> str:
    body, _, mac = sealed.partition(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=="))
    data["tenant"] = "evil-corp"
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{forged}.{mac}"


@pytest.mark.parametrize(
    ("make", "now", "client", "says"),
    [
        (lambda: None, NOW, CLIENT, "no consent cookie"),
        (lambda: "", NOW, CLIENT, "no consent cookie"),
        (lambda: "not-a-cookie", NOW, CLIENT, "not valid"),
        (lambda: "a.b", NOW, CLIENT, "not valid"),
        (lambda: "." * 5000, NOW, CLIENT, "not valid"),
        (lambda: seal(consent(), b"o" * 32), NOW, CLIENT, "not valid"),
        (lambda: seal(consent(), KEY) + "x", NOW, CLIENT, "not valid"),
        (lambda: _forged_payload(seal(consent(), KEY)), NOW, CLIENT, "not valid"),
        (lambda: seal(consent(), KEY), NOW + 600, CLIENT, "expired"),
        (lambda: seal(consent(), KEY), NOW + 10_000, CLIENT, "expired"),
        (lambda: seal(consent(), KEY), NOW, "amzn1.application-oa2-client.other", "another app"),
    ],
)
def test_cookies_that_are_refused(make: Any, now: float, client: str, says: str) -> None:
    with pytest.raises(ConsentError, match=says) as caught:
        unseal(make(), KEY, now=now, client_id=client)
    assert caught.value.reason == "cookie"
    assert "start again from this browser" in str(caught.value)


def test_the_longest_consent_still_fits_in_a_cookie() -> None:
    longest = consent(tenant="\U0001f600" * 200, return_to="/" + "a" * 999)
    assert len(seal(longest, KEY)) <= 3800
    with pytest.raises(ConfigurationError, match="more than browsers keep"):
        seal(consent(scope="advertising::campaign_management " * 100), KEY)


def test_a_cookie_with_a_good_signature_but_a_strange_payload_is_refused() -> None:
    from amazon_ads_auth.web._cookie import _b64, _mac

    good = consent().to_json()
    strange = [
        {"v": 2},
        {**good, "v": 2},
        {**good, "state": 1},
        {**good, "expires_at": "later"},
        {**good, "expires_at": True},
        {**good, "return_to": 7},
        {**good, "extra": 1},
        [],
        "x",
    ]
    for payload in strange:
        body = _b64(json.dumps(payload).encode())
        with pytest.raises(ConsentError):
            unseal(f"{body}.{_mac(KEY, body)}", KEY, now=NOW, client_id=CLIENT)


CALLBACK = "https://app.example/amazon-ads/callback?"
OK = "code=ANcode&scope=advertising%3A%3Acampaign_management&state=" + "S" * 32


@pytest.mark.parametrize(
    ("query", "tenant", "raised"),
    [
        # The order: state, then tenant, then Amazon's error=, then the code.
        ("error=access_denied&state=wrong", "other", StateMismatchError),
        ("code=ANcode&state=wrong", "acme-42", StateMismatchError),
        ("code=ANcode", "acme-42", StateMismatchError),
        (OK + "&state=" + "S" * 32, "acme-42", StateMismatchError),  # two states
        ("error=access_denied&state=" + "S" * 32, "other", ConsentError),
        (OK, "other", ConsentError),
        ("error=access_denied&state=" + "S" * 32, "acme-42", AuthorizationDeniedError),
        ("error=access_denied&state=" + "S" * 32, None, AuthorizationDeniedError),
        ("state=" + "S" * 32, "acme-42", ConfigurationError),
        ("code=&state=" + "S" * 32, "acme-42", ConfigurationError),
    ],
)
def test_callback_checks_and_their_order(
    query: str, tenant: str | None, raised: type[Exception]
) -> None:
    with pytest.raises(raised) as caught:
        check_callback(CALLBACK + query, consent(), tenant)
    if raised is ConsentError:
        assert caught.value.reason == "tenant"  # type: ignore[attr-defined]
    if raised is ConfigurationError:
        assert "start again from Connect" in str(caught.value)


@pytest.mark.parametrize("form", [CALLBACK + OK, "?" + OK, OK])
def test_a_good_callback_gives_its_code(form: str) -> None:
    assert check_callback(form, consent(), "acme-42") == "ANcode"
    assert check_callback(form, consent(), None) == "ANcode"


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ConsentError("x", reason="tenant"), 403),
        (ConsentError("x", reason="cookie"), 400),
        (StateMismatchError("x"), 400),
        (AuthorizationDeniedError("x", error="access_denied"), 400),
        (ConfigurationError("x"), 400),
        (TokenEndpointError("x"), 502),
        (StoreError("x"), 503),
        (InvalidGrantError("x", error="invalid_grant"), 400),
        (TokenRequestError("x", error="invalid_scope"), 502),
        (InvalidClientError("x", error="invalid_client"), 502),
        (AuthorizationDeniedError("x", error="invalid_scope"), 502),
        (NoTokenError("x"), 500),
    ],
)
def test_the_status_each_error_answers(error: Any, status: int) -> None:
    assert status_for(error) == status


@pytest.mark.parametrize(
    ("tenant", "next_path", "region", "status", "kind"),
    [
        ("acme-42", "/x", None, 302, None),
        ("acme-42", None, "EU", 302, None),
        (42, None, None, 302, None),  # an int org id is a tenant id too
        (None, "/x", None, 403, "not_signed_in"),
        ("", "/x", None, 403, "not_signed_in"),
        (False, "/x", None, 403, "not_signed_in"),  # `user.is_authenticated and user.org_id`
        (0, "/x", None, 403, "not_signed_in"),
        ([], "/x", None, 403, "not_signed_in"),
        ("acme-42", None, "mars", 400, "invalid_request"),
        ("a\nb", None, None, 500, "unavailable"),  # the app's tenant() is wrong
        ("acme\u200b", None, None, 500, "unavailable"),
        (True, None, None, 500, "unavailable"),
    ],
)
def test_what_connect_answers(
    tenant: object, next_path: str | None, region: str | None, status: int, kind: str | None
) -> None:
    from amazon_ads_auth import MemoryTokenStore
    from amazon_ads_auth.web import ConsentFlow
    from amazon_ads_auth.web._replies import Urls, connect_reply

    flow = ConsentFlow(
        CLIENT, "secret", store=MemoryTokenStore(), secret_key=KEY,
        redirect_uri="https://app.example/amazon-ads/callback",
    )  # fmt: skip
    reply = connect_reply(flow, tenant, next_path, region, Urls("/amazon-ads", "/login"))
    assert reply.status == status
    if status == 302:
        assert reply.location is not None and reply.location.startswith("https://")
        assert len(reply.cookies) == 1 and "HttpOnly" in reply.cookies[0]
    else:
        assert reply.page is not None and reply.page.kind == kind and not reply.cookies
        # Nobody signed in: the action is the app's sign-in, never Connect (a loop).
        wanted = "/login" if kind == "not_signed_in" else "/amazon-ads/connect"
        assert reply.page.action_url == wanted


@pytest.mark.parametrize(
    ("count", "says"),
    [(0, "0 profiles"), (1, "1 profile."), (2, "2 profiles.")],
)
def test_the_connected_page_counts_in_words(count: int, says: str) -> None:
    from amazon_ads_auth.web import connected_page

    page = connected_page(count)
    assert (page.kind, page.status, page.title) == ("connected", 200, "Amazon Ads is connected")
    assert says in page.message and (page.action_url, page.action_label[:8]) == ("/", "Continue")


def test_the_default_page_is_self_contained_and_escaped() -> None:
    from amazon_ads_auth.web import ConsentPage, render_default_page

    page = ConsentPage(
        kind="unavailable", status=502, title="<b>T</b>", message="a & <script>x</script>",
        action_label="Try again", action_url='/c?"x', reference="ab12cd34",
    )  # fmt: skip
    text = render_default_page(page)
    assert "<script" not in text and "&lt;script&gt;" in text and "&lt;b&gt;T" in text
    assert 'href="/c?&quot;x"' in text and "ab12cd34" in text
    # Nothing from anywhere else: no external stylesheet, font, image or script.
    for outside in ("http://", "https://", "//", "url(", "@import", "<link", "<img"):
        assert outside not in text.replace("<!doctype html>", ""), outside
    assert '<html lang="en">' in text and 'name="viewport"' in text and "<h1" in text


def test_pages_say_what_to_do_and_5xx_pages_only_a_reference(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    from amazon_ads_auth.web import page_for_error

    connect = "/amazon-ads/connect"
    cancelled = page_for_error(AuthorizationDeniedError("x", error="access_denied"), connect)
    assert cancelled.message == "You cancelled the connection. Nothing was changed."
    for error in (ConsentError("x", reason="cookie"), StateMismatchError("x")):
        assert page_for_error(error, connect).message == "This link has expired. Start again."
    details = "redis://10.0.0.7:6379/3 lock amazon_ads:lock:x /srv/app/tokens"
    with caplog.at_level(logging.ERROR, logger="amazon_ads_auth"):
        page = page_for_error(StoreError(details), connect)
    assert page.status == 503 and page.message == (
        "Amazon Ads could not be connected right now. Please try again in a few minutes."
    )
    assert page.reference and len(page.reference) == 8
    assert details not in page.message + page.title
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert page.reference in record.getMessage() and details in record.getMessage()
