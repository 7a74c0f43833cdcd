"""The authorization-code grant: consent URL, redirect checks, PKCE, code lifetime."""

from __future__ import annotations

import os
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import requests

from amazon_ads_auth import (
    AdsAuth,
    AuthorizationDeniedError,
    AuthorizationRequest,
    ConfigurationError,
    InvalidGrantError,
    MemoryTokenStore,
    Region,
    StateMismatchError,
)
from amazon_ads_auth.testing import Emulator, FakeClock

REDIRECT = "http://localhost:8765/callback"


def consent(request: AuthorizationRequest) -> str:
    """Follow the consent URL like a browser would and return the redirect location.
    (requests, not httpx: httpcore's DEBUG log would record the Location header's code.)"""
    response = requests.get(request.url, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    return response.headers["location"]


def test_consent_url_has_what_amazon_expects() -> None:
    auth = AdsAuth("amzn1.application-oa2-client.x", "secret")
    request = auth.authorization_request("https://amazon.com", scope=["a::b", "c::d"])
    parts = urlsplit(request.url)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == Region.NA.authorization_url
    assert query["client_id"] == ["amzn1.application-oa2-client.x"]
    assert query["response_type"] == ["code"]
    assert query["scope"] == ["a::b c::d"]
    assert query["redirect_uri"] == ["https://amazon.com"]
    assert query["state"] == [request.state]
    assert query["code_challenge_method"] == ["S256"]
    assert request.code_verifier is not None and 43 <= len(request.code_verifier) <= 128
    assert "code_verifier" not in request.url
    other = auth.authorization_request("https://amazon.com")
    assert other.state != request.state and other.code_verifier != request.code_verifier


def test_region_picks_the_consent_host() -> None:
    for region in Region:
        url = AdsAuth("id", "s", region=region.value.upper()).authorization_request(REDIRECT).url
        assert url.startswith(region.authorization_url + "?")


def test_pkce_round_trip(emulator: Emulator, make_auth: Callable[..., AdsAuth]) -> None:
    store = MemoryTokenStore()
    auth = make_auth(None, store=store)
    request = auth.authorization_request(REDIRECT)
    token = auth.fetch_token(authorization_response=consent(request), request=request)
    assert token.refresh_token is not None and token.refresh_token.startswith("Atzr|")
    assert token.access_token.startswith("Atza|") and len(token.access_token) >= 350
    assert store.load(f"{emulator.client_id}/default") == token
    assert auth.token == token
    assert emulator.token_requests == {"authorization_code": 1}
    # The new grant works for API calls and refreshes.
    assert httpx.get(emulator.api_url + "/v2/profiles", auth=auth).status_code == 200
    assert auth.refresh().refresh_token == token.refresh_token
    # Loopback http worked without weakening oauthlib for the rest of the process.
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ


def test_wrong_pkce_verifier_is_refused(
    emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    auth = make_auth(None)
    request = auth.authorization_request(REDIRECT)
    code = parse_qs(urlsplit(consent(request)).query)["code"][0]
    with pytest.raises(InvalidGrantError):
        auth.fetch_token(code=code, redirect_uri=REDIRECT, code_verifier="x" * 64)


def test_without_pkce(emulator: Emulator, make_auth: Callable[..., AdsAuth]) -> None:
    auth = make_auth(None)
    request = auth.authorization_request(REDIRECT, pkce=False)
    assert request.code_verifier is None
    assert "code_challenge" not in request.url
    code = parse_qs(urlsplit(consent(request)).query)["code"][0]
    assert auth.fetch_token(code=code, redirect_uri=REDIRECT).refresh_token


def test_state_mismatch(emulator: Emulator, make_auth: Callable[..., AdsAuth]) -> None:
    auth = make_auth(None)
    first = auth.authorization_request(REDIRECT)
    second = auth.authorization_request(REDIRECT)
    with pytest.raises(StateMismatchError, match="start the login again"):
        auth.fetch_token(authorization_response=consent(first), request=second)
    assert emulator.token_request_count == 0


def test_code_expires_after_five_minutes(
    emulator: Emulator, make_auth: Callable[..., AdsAuth], clock: FakeClock
) -> None:
    auth = make_auth(None)
    request = auth.authorization_request(REDIRECT)
    location = consent(request)
    clock.advance(301)
    with pytest.raises(InvalidGrantError, match="5 minutes") as caught:
        auth.fetch_token(authorization_response=location, request=request)
    assert "parameter : code" in (caught.value.description or "")
    assert "log in again" in str(caught.value)


def test_code_works_once(emulator: Emulator, make_auth: Callable[..., AdsAuth]) -> None:
    auth = make_auth(None)
    request = auth.authorization_request(REDIRECT)
    location = consent(request)
    auth.fetch_token(authorization_response=location, request=request)
    with pytest.raises(InvalidGrantError):
        auth.fetch_token(authorization_response=location, request=request)


def test_denied_consent(emulator: Emulator, make_auth: Callable[..., AdsAuth]) -> None:
    emulator.deny_consent = True
    auth = make_auth(None)
    request = auth.authorization_request(REDIRECT)
    with pytest.raises(AuthorizationDeniedError) as caught:
        auth.fetch_token(authorization_response=consent(request), request=request)
    assert caught.value.error == "access_denied"
    assert emulator.token_request_count == 0


def test_unknown_scope_is_reported(emulator: Emulator, make_auth: Callable[..., AdsAuth]) -> None:
    auth = make_auth(None)
    request = auth.authorization_request(REDIRECT, scope="advertising::everything")
    with pytest.raises(AuthorizationDeniedError, match="not yet approved"):
        auth.fetch_token(authorization_response=consent(request), request=request)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"authorization_response": "http://localhost:8765/callback?code=abc"},
        {},
        {"code": "abc"},
        {"code": ""},
    ],
)
def test_fetch_token_needs_enough_arguments(
    make_auth: Callable[..., AdsAuth], kwargs: dict[str, str]
) -> None:
    with pytest.raises(ConfigurationError):
        make_auth(None).fetch_token(**kwargs)


@pytest.mark.parametrize(
    "url", ["http://localhost:8765/callback", "http://localhost:8765/callback?state=x"]
)
def test_redirect_without_code(make_auth: Callable[..., AdsAuth], url: str) -> None:
    auth = make_auth(None)
    request = auth.authorization_request(REDIRECT)
    with pytest.raises((ConfigurationError, StateMismatchError)):
        auth.fetch_token(authorization_response=url, request=request)


def test_plain_http_is_refused_off_loopback() -> None:
    with pytest.raises(ConfigurationError, match="https"):
        AdsAuth("id", "secret", token_url="http://api.amazon.com/auth/o2/token")
    with pytest.raises(ConfigurationError, match="https"):
        AdsAuth("id", "secret", authorization_url="http://www.amazon.com/ap/oa")
