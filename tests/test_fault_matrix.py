"""The fault matrix: one row per token-endpoint failure. Each row checks the outcome (a token
after retries, or the right error with a clear message), the number of token requests, and
that the store still holds the refresh token afterwards. The README's table mirrors it."""

from __future__ import annotations

import dataclasses
import email.utils
import time
from collections.abc import Callable

import pytest

from amazon_ads_auth import (
    AdsAuth,
    InvalidClientError,
    InvalidGrantError,
    MemoryTokenStore,
    Token,
    TokenEndpointError,
    TokenRequestError,
)
from amazon_ads_auth.testing import Emulator, FakeClock, Fault

_RAW_INFINITE = b'{"access_token": "Atza|x", "token_type": "bearer", "expires_in": 1e400}'
_IN_AN_HOUR = email.utils.formatdate(time.time() + 3600, usegmt=True)


@dataclasses.dataclass(frozen=True)
class Row:
    name: str
    faults: tuple[Fault, ...]
    requests: int  # token requests the emulator sees
    error: type[Exception] | None = None  # None: a token comes back
    message: str = ""
    lifetime: float = 3600.0


ROWS = [
    Row("500", (Fault.status_code(500),), 2),
    Row("502", (Fault.status_code(502),), 2),
    Row("503", (Fault.status_code(503),), 2),
    Row("429 + Retry-After", (Fault.rate_limited(2),), 2),
    Row("429 + Retry-After as a date", (Fault.rate_limited(_IN_AN_HOUR),), 2),
    Row("connection reset", (Fault.reset_connection(),), 2),
    Row("connection dropped", (Fault.drop_connection(),), 2),
    Row("connection refused", (), 0, TokenEndpointError, "could not reach the token endpoint"),
    Row("read timeout", (Fault.delay(1.0),), 2),
    Row("503 on every attempt", (Fault.status_code(503),) * 4, 4, TokenEndpointError, "4 attempt"),
    Row("non-JSON body", (Fault.non_json(),), 1, TokenEndpointError, "text/plain, not a JSON"),
    Row("HTML page", (Fault.html(),), 1, TokenEndpointError, "text/html, not a JSON"),
    Row("HTML page with 503", (Fault.html(503),), 2),
    Row(
        "JSON without access_token",
        (Fault.json_body({"token_type": "bearer", "expires_in": 3600}),),
        1,
        TokenEndpointError,
        "access token",
    ),
    Row(
        "token_type not bearer",
        (Fault.token_fields(token_type="mac"),),
        1,
        TokenEndpointError,
        "token_type",
    ),
    Row("expires_in missing", (Fault.token_fields(expires_in=None),), 1, lifetime=3600),
    Row(
        "expires_in negative",
        (Fault.token_fields(expires_in=-1),),
        1,
        TokenEndpointError,
        "expires_in",
    ),
    Row("expires_in huge", (Fault.token_fields(expires_in=10**12),), 1, lifetime=86400),
    Row("expires_in string", (Fault.token_fields(expires_in="3600"),), 1, lifetime=3600),
    Row(
        "expires_in 1e400",
        (Fault("status", status=200, body=_RAW_INFINITE),),
        1,
        TokenEndpointError,
        "expires_in",
    ),
    Row("scope not a string", (Fault.token_fields(scope=123),), 1, lifetime=3600),
    Row(
        "answer over 64 KiB",
        (Fault("status", status=200, body=b"{" + b" " * 100_000 + b"}"),),
        1,
        TokenEndpointError,
        "more than 64 KiB",
    ),
    Row(
        "JSON nested 20k deep",
        (Fault("status", status=200, body=b"[" * 20_000 + b"]" * 20_000),),
        1,
        TokenEndpointError,
        "not a JSON",
    ),
    Row("invalid_grant", (Fault.oauth_error("invalid_grant"),), 1, InvalidGrantError, "log in"),
    Row(
        "invalid_client",
        (Fault.oauth_error("invalid_client", status=401),),
        1,
        InvalidClientError,
        "client secret",
    ),
    Row(
        "invalid_request",
        (Fault.oauth_error("invalid_request"),),
        1,
        TokenRequestError,
        "report this as a bug",
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_fault_matrix(
    row: Row,
    emulator: Emulator,
    make_auth: Callable[..., AdsAuth],
    clock: FakeClock,
    sleeps: list[float],
) -> None:
    refresh_token = emulator.issue_refresh_token()
    store = MemoryTokenStore()
    key = f"{emulator.client_id}/default"
    store.save(key, Token("Atza|old", refresh_token, clock() - 1))
    overrides = {"store": store, "timeout": 0.3, "max_retries": 3}
    if row.name == "connection refused":
        overrides["token_url"] = "http://127.0.0.1:9/auth/o2/token"
    auth = make_auth(None, **overrides)
    emulator.queue_token_faults(*row.faults)
    if row.error is None:
        token = auth.ensure_token()
        assert emulator.is_valid_access_token(token.access_token)
        assert token.expires_at - clock() == pytest.approx(row.lifetime)
    else:
        with pytest.raises(row.error, match=row.message) as caught:
            auth.ensure_token()
        assert type(caught.value) is row.error
    assert emulator.token_request_count == row.requests
    if row.name == "connection refused":
        assert len(sleeps) == 3  # four attempts, three waits
    if row.name == "429 + Retry-After":
        assert sleeps == [2.0]
    if row.name == "429 + Retry-After as a date":
        assert sleeps == [60.0]  # an hour away, capped at 60 s
    stored = store.load(key)
    assert stored is not None
    assert stored.refresh_token == refresh_token
