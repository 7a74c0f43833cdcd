"""The test helpers have no traps: grants for added accounts, nonsense arguments refused,
and a FakeClock that also drives the retries' waits."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from amazon_ads_auth import AdsAuth, InvalidGrantError, TokenEndpointError
from amazon_ads_auth.testing import Emulator, FakeClock, Fault, account_profile


def test_a_multi_account_test_needs_no_consent_page() -> None:
    emu = Emulator()
    emu.add_account("brand-a", [account_profile(11, "Brand A")])
    emu.add_account("brand-b", [account_profile(22, "Brand B"), account_profile(23, "B2")])
    auths = {
        name: AdsAuth(
            emu.client_id,
            emu.client_secret,
            emu.issue_refresh_token(account=name),
            store_key=name,
            **emu.auth_kwargs(),
        )
        for name in ("brand-a", "brand-b")
    }
    with httpx.Client(transport=emu.httpx_transport(), base_url=emu.api_url) as client:
        seen = {
            name: [p["profileId"] for p in client.get("/v2/profiles", auth=auth).json()]
            for name, auth in auths.items()
        }
        assert seen == {"brand-a": [11], "brand-b": [22, 23]}
        # Each grant reaches its own profiles only, as at Amazon.
        mine = auths["brand-a"].with_profile(11)
        assert client.post("/sp/campaigns/list", json={}, auth=mine).status_code == 200
        theirs = auths["brand-a"].with_profile(22)
        refused = client.post("/sp/campaigns/list", json={}, auth=theirs)
        assert (refused.status_code, refused.json()["code"]) == (401, "UNAUTHORIZED")
    assert emu.api_log[0].account == "brand-a"
    # One token per grant, and one more: a 401 is refreshed and replayed once, in case the
    # token was the cause.
    assert emu.token_requests == {"refresh_token": 3}


@pytest.mark.parametrize(
    ("call", "error", "says"),
    [
        (lambda emu: emu.revoke_refresh_token(None), TypeError, "refresh token"),
        (lambda emu: emu.revoke_refresh_token(42), TypeError, "refresh token"),
        (lambda emu: emu.revoke_refresh_token("Atzr|never-issued"), ValueError, "issued"),
        (lambda emu: emu.issue_refresh_token(account="nobody"), ValueError, "add_account"),
        (lambda emu: emu.issue_refresh_token(account=7), TypeError, "account"),
        (lambda emu: emu.issue_refresh_token(value=""), ValueError, "value"),
        (lambda emu: emu.issue_refresh_token(scope=None), TypeError, "scope"),
        (lambda emu: emu.add_account(None, []), TypeError, "name"),
        (lambda emu: emu.add_account("a", account_profile(1, "x")), TypeError, "list"),
        (lambda emu: emu.add_account("a", [{"name": "no id"}]), TypeError, "profileId"),
        (lambda emu: emu.accept_access_token("Atza|x", 1e10), ValueError, "issue_refresh"),
        (lambda emu: emu.accept_access_token(None, 1e10), TypeError, "access_token"),
        (lambda emu: emu.accept_access_token("Atza|x", "soon"), TypeError, "expires_at"),
        (lambda emu: emu.queue_token_faults(503), TypeError, "Fault"),
        (lambda emu: emu.route("GET", "/x"), None, ""),  # a decorator: fine
    ],
)
def test_nonsense_arguments_are_refused_saying_what_to_do(
    call: Any, error: type[Exception] | None, says: str
) -> None:
    emu = Emulator()
    if error is None:
        assert callable(call(emu))
        return
    with pytest.raises(error, match=says):
        call(emu)


def test_a_revoked_grant_is_refused_and_others_are_not() -> None:
    emu = Emulator()
    kept, revoked = emu.issue_refresh_token(), emu.issue_refresh_token()
    emu.revoke_refresh_token(revoked)
    for refresh_token, works in ((kept, True), (revoked, False)):
        auth = AdsAuth(emu.client_id, emu.client_secret, refresh_token, **emu.auth_kwargs())
        if works:
            assert auth.ensure_token().access_token.startswith("Atza|")
        else:
            with pytest.raises(InvalidGrantError):
                auth.ensure_token()


@pytest.mark.parametrize(("seconds", "error"), [(-1, ValueError), ("1", TypeError)])
def test_the_fake_clock_never_goes_back(seconds: Any, error: type[Exception]) -> None:
    clock = FakeClock(1000.0)
    with pytest.raises(error):
        clock.advance(seconds)
    with pytest.raises(error):
        clock.sleep(seconds)
    assert clock() == 1000.0


def test_retries_under_a_fake_clock_take_no_real_time() -> None:
    clock = FakeClock(1_000_000.0)
    emu = Emulator(clock=clock)
    kwargs = emu.auth_kwargs()
    assert kwargs["sleep"] == clock.sleep
    emu.queue_token_faults(
        Fault.status_code(503), Fault.rate_limited(retry_after=45), Fault.status_code(500)
    )
    auth = AdsAuth(
        emu.client_id, emu.client_secret, emu.issue_refresh_token(), clock=clock, **kwargs
    )
    assert auth.ensure_token().access_token.startswith("Atza|")
    assert emu.token_request_count == 4  # three failures, then a token
    # The three waits moved the fake clock (Retry-After: 45 among them) instead of the
    # process sleeping: the test did not wait 45 seconds.
    assert len(clock.sleeps) == 3
    assert clock.sleeps[1] == 45
    assert clock() == pytest.approx(1_000_000.0 + sum(clock.sleeps))
    # The token's expiry is on the same clock, after the waits.
    assert auth.token is not None and auth.token.expires_at > 1_000_000.0 + 45


def test_async_retries_under_a_fake_clock_take_no_real_time() -> None:
    clock = FakeClock()
    emu = Emulator(clock=clock)
    emu.queue_token_faults(Fault.rate_limited(retry_after=50))
    auth = AdsAuth(
        emu.client_id,
        emu.client_secret,
        emu.issue_refresh_token(),
        clock=clock,
        **emu.auth_kwargs(),
    )

    async def call() -> int:
        async with httpx.AsyncClient(transport=emu.async_httpx_transport(), auth=auth) as c:
            return (await c.get(f"{emu.api_url}/v2/profiles")).status_code

    assert asyncio.run(call()) == 200
    assert clock.sleeps == [50]


def test_a_fault_that_outlasts_the_deadline_fails_on_the_fake_clock() -> None:
    clock = FakeClock()
    emu = Emulator(clock=clock)
    emu.token_outage = 503
    auth = AdsAuth(
        emu.client_id,
        emu.client_secret,
        emu.issue_refresh_token(),
        clock=clock,
        max_retries=3,
        **emu.auth_kwargs(),
    )
    with pytest.raises(TokenEndpointError, match="4 attempt"):
        auth.ensure_token()
    assert len(clock.sleeps) == 3
