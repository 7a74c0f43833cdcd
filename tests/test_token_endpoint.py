"""Token endpoint faults: what is retried, how long we wait, and what error the user gets."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from amazon_ads_auth import (
    AdsAuth,
    InvalidClientError,
    InvalidGrantError,
    MemoryTokenStore,
    TokenEndpointError,
    TokenRequestError,
)
from amazon_ads_auth._redact import Secret
from amazon_ads_auth.testing import Emulator, Fault


@pytest.mark.parametrize(
    "fault",
    [
        Fault.status_code(500),
        Fault.status_code(502),
        Fault.status_code(503),
        Fault.rate_limited(2),
        Fault.drop_connection(),
        Fault.html(503),
    ],
    ids=["500", "502", "503", "429", "dropped", "html-503"],
)
def test_transient_faults_are_retried(
    emulator: Emulator, make_auth: Callable[..., AdsAuth], sleeps: list[float], fault: Fault
) -> None:
    emulator.queue_token_faults(fault, fault)
    token = make_auth().ensure_token()
    assert emulator.is_valid_access_token(token.access_token)
    assert emulator.token_requests["refresh_token"] == 3
    assert len(sleeps) == 2


def test_retry_after_is_honoured_and_capped(
    emulator: Emulator, make_auth: Callable[..., AdsAuth], sleeps: list[float]
) -> None:
    emulator.queue_token_faults(Fault.rate_limited(7), Fault.rate_limited(3600))
    make_auth().ensure_token()
    assert sleeps == [7.0, 60.0]


def test_backoff_grows_without_retry_after(
    emulator: Emulator, make_auth: Callable[..., AdsAuth], sleeps: list[float]
) -> None:
    emulator.queue_token_faults(*[Fault.status_code(500)] * 3)
    make_auth(retry_backoff=1.0).ensure_token()
    assert len(sleeps) == 3
    for attempt, delay in enumerate(sleeps):
        assert 2**attempt / 2 <= delay <= 2**attempt


def test_timeout_is_retried(
    emulator: Emulator, make_auth: Callable[..., AdsAuth], sleeps: list[float]
) -> None:
    emulator.queue_token_faults(Fault.delay(1.0))
    make_auth(timeout=0.2).ensure_token()
    assert emulator.token_requests["refresh_token"] == 2
    assert len(sleeps) == 1


def test_gives_up_after_max_retries(
    emulator: Emulator, make_auth: Callable[..., AdsAuth], sleeps: list[float]
) -> None:
    emulator.queue_token_faults(*[Fault.status_code(503)] * 5)
    with pytest.raises(TokenEndpointError, match=r"HTTP 503 after 3 attempt") as caught:
        make_auth(max_retries=2).ensure_token()
    assert caught.value.status_code == 503
    assert emulator.token_requests["refresh_token"] == 3


def test_connection_refused_is_a_token_endpoint_error(
    make_auth: Callable[..., AdsAuth], sleeps: list[float]
) -> None:
    auth = make_auth(token_url="http://127.0.0.1:9/auth/o2/token", max_retries=1)
    with pytest.raises(TokenEndpointError, match="could not reach the token endpoint"):
        auth.ensure_token()
    assert len(sleeps) == 1


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Fault.non_json(), r"HTTP 200 with text/plain, not a JSON token"),
        (Fault.html(), r"HTTP 200 with text/html, not a JSON token"),
        (Fault.html(404), r"HTTP 404 with text/html"),
        (Fault.json_body({"token_type": "bearer", "expires_in": 3600}), "access token"),
        (Fault.token_fields(token_type="mac"), "token_type"),
        (Fault.token_fields(expires_in=-5), "expires_in"),
        (Fault.token_fields(expires_in="soon"), "expires_in"),
        (Fault.token_fields(expires_in=[1]), "expires_in"),
    ],
    ids=["text", "html", "html-404", "no-access-token", "mac", "negative", "word", "list"],
)
def test_answers_that_are_not_tokens(
    emulator: Emulator, make_auth: Callable[..., AdsAuth], fault: Fault, message: str
) -> None:
    store = MemoryTokenStore()
    refresh_token = emulator.issue_refresh_token()
    emulator.queue_token_faults(fault)
    with pytest.raises(TokenEndpointError, match=message):
        make_auth(refresh_token, store=store).ensure_token()
    assert emulator.token_requests["refresh_token"] == 1  # deterministic answers: no retry
    assert store.load(f"{emulator.client_id}/default") is None


def test_huge_expires_in_is_capped_and_missing_means_an_hour(
    emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    auth = make_auth()
    emulator.queue_token_faults(Fault.token_fields(expires_in=10**12))
    token = auth.ensure_token()
    assert token.expires_at - emulator.clock() == pytest.approx(86400)
    emulator.queue_token_faults(Fault.token_fields(expires_in=None))
    token = auth.refresh()
    assert token.expires_at - emulator.clock() == pytest.approx(3600)


def test_invalid_client(emulator: Emulator, make_auth: Callable[..., AdsAuth]) -> None:
    auth = make_auth(emulator.issue_refresh_token())
    auth._manager._grant._client_secret = Secret("wrong-secret")
    with pytest.raises(InvalidClientError, match="check the client id and client secret") as e:
        auth.ensure_token()
    assert e.value.status_code == 401
    assert emulator.token_requests["refresh_token"] == 1


@pytest.mark.parametrize(
    ("error", "cls", "hint"),
    [
        ("invalid_request", TokenRequestError, "bug"),
        ("invalid_scope", TokenRequestError, "not yet approved"),
        ("unauthorized_client", TokenRequestError, "not authorized"),
        ("invalid_grant", InvalidGrantError, "log in again"),
    ],
)
def test_oauth_errors_are_typed_and_never_retried(
    emulator: Emulator,
    make_auth: Callable[..., AdsAuth],
    error: str,
    cls: type[TokenRequestError],
    hint: str,
) -> None:
    emulator.queue_token_faults(Fault.oauth_error(error))
    with pytest.raises(cls, match=hint) as caught:
        make_auth().ensure_token()
    assert type(caught.value) is cls
    assert caught.value.error == error
    assert emulator.token_requests["refresh_token"] == 1
