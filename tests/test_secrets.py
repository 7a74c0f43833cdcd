"""No secret (client secret, tokens, code, PKCE verifier) in any repr, log record or error."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from amazon_ads_auth import AdsAuth, AdsAuthError, MemoryTokenStore
from amazon_ads_auth._lwa.messages import code_request, refresh_request
from amazon_ads_auth._redact import Secret
from amazon_ads_auth.testing import Emulator, FakeClock, Fault
from tests.conftest import SENTINEL_CLIENT_SECRET, Stack, assert_no_secrets


def test_reprs_hide_every_secret(emulator: Emulator, make_auth: Callable[..., AdsAuth]) -> None:
    auth = make_auth()
    token = auth.ensure_token()
    request = auth.authorization_request("http://localhost:1/cb")
    assert request.code_verifier is not None
    texts = [
        repr(auth),
        str(auth),
        repr(token),
        str(token),
        repr(request),
        repr(auth._manager),
        repr(code_request("https://t", "id", emulator.client_secret, "thecode1", "r", "verif1er")),
        repr(refresh_request("https://t", "id", emulator.client_secret, "Atzr|abc")),
    ]
    secrets = [*emulator.issued_secrets(), request.code_verifier, "thecode1", "verif1er"]
    assert_no_secrets(texts, secrets, "a repr")
    assert "redacted" in repr(token)


def test_refresh_is_logged_at_info_with_key_and_expiry(
    emulator: Emulator, make_auth: Callable[..., AdsAuth], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="amazon_ads_auth")
    make_auth(store_key="advertiser-42").ensure_token()
    messages = [r.getMessage() for r in caplog.records if r.name == "amazon_ads_auth"]
    assert any("advertiser-42" in m and "expires at" in m for m in messages)


def test_no_secret_in_logs_or_errors_across_every_path(
    stack: Stack,
    emulator: Emulator,
    make_auth: Callable[..., AdsAuth],
    clock: FakeClock,
    captured_logs: list[str],
) -> None:
    errors: list[str] = []
    store = MemoryTokenStore()
    auth = make_auth(store=store, profile_id=3)
    # Normal traffic, a proactive refresh, a 401 replay, retries.
    stack.get(emulator.api_url + "/v2/profiles", auth)
    clock.advance(3500)
    emulator.queue_token_faults(Fault.status_code(500), Fault.rate_limited(1), Fault.html(502))
    stack.get(emulator.api_url + "/v2/profiles", auth)
    emulator.revoke_access_tokens()
    stack.get(emulator.api_url + "/v2/profiles", auth)
    # Failures whose messages we capture.
    for fault in (
        Fault.non_json(),
        Fault.oauth_error(
            "invalid_request", "bad " + (auth.token.access_token if auth.token else "")
        ),
        Fault.json_body({"access_token": "", "expires_in": 1}),
    ):
        emulator.queue_token_faults(fault)
        with pytest.raises(AdsAuthError) as caught:
            auth.refresh()
        errors.append(str(caught.value))
        errors.append(repr(caught.value))
    auth._manager._grant._client_secret = Secret("wrong-" + emulator.client_secret)
    with pytest.raises(AdsAuthError) as caught:
        auth.refresh()
    errors.append(str(caught.value))
    # Code exchange failures.
    fresh = make_auth(None)
    request = fresh.authorization_request("http://localhost:1/cb")
    location = requests.get(request.url, allow_redirects=False, timeout=10).headers["location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    clock.advance(400)
    with pytest.raises(AdsAuthError) as caught:
        fresh.fetch_token(authorization_response=location, request=request)
    errors.append(str(caught.value))
    secrets = [
        *emulator.issued_secrets(),
        code,
        request.code_verifier or "",
        "wrong-" + emulator.client_secret,
    ]
    assert len(errors) == 8
    assert_no_secrets(errors, secrets, "an exception message")
    assert_no_secrets(captured_logs, secrets, "log records")


def test_the_suite_wide_scanner_catches_a_leak(
    secret_scanner: Any, emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    token = make_auth().ensure_token()
    logging.getLogger("some.library").debug("sending %s", token.access_token)
    with pytest.raises(AssertionError, match="a secret leaked into a log record"):
        secret_scanner.check()
    secret_scanner.texts.clear()  # the planted leak is ours; let teardown pass
    AdsAuthError(f"oops {SENTINEL_CLIENT_SECRET}")
    with pytest.raises(AssertionError, match="an exception message"):
        secret_scanner.check()
    secret_scanner.texts.clear()
