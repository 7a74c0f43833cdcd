"""Proactive refresh, 401 replay, and never losing a refresh token."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest

from amazon_ads_auth import AdsAuth, InvalidGrantError, MemoryTokenStore, NoTokenError, Token
from amazon_ads_auth.testing import ApiResponse, Emulator, FakeClock
from tests.conftest import Stack, eventually


def test_first_request_fetches_one_token(
    stack: Stack, emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    auth = make_auth()
    assert auth.token is None
    for _ in range(3):
        assert stack.get(emulator.api_url + "/v2/profiles", auth).status == 200
    assert emulator.token_requests == {"refresh_token": 1}


def test_proactive_refresh_before_expiry(
    stack: Stack, emulator: Emulator, make_auth: Callable[..., AdsAuth], clock: FakeClock
) -> None:
    auth = make_auth(refresh_margin=300)
    stack.get(emulator.api_url + "/v2/profiles", auth)
    first = auth.token
    assert first is not None
    clock.advance(3600 - 301)  # still outside the margin
    stack.get(emulator.api_url + "/v2/profiles", auth)
    assert emulator.token_requests["refresh_token"] == 1
    clock.advance(2)  # now inside the 300 s margin: sent with the valid token, refreshed behind
    emulator.hold_token_requests()
    result = stack.get(emulator.api_url + "/v2/profiles", auth)
    assert result.status == 200  # answered while the refresh is held at the token endpoint
    assert result.history == []  # no 401 was needed
    assert result.sent["authorization"] == "Bearer " + first.access_token
    assert emulator.wait_for_held_token_request()
    emulator.release_token_requests()
    eventually(lambda: auth.token is not None and auth.token.access_token != first.access_token)
    assert emulator.token_requests["refresh_token"] == 2


def test_401_refreshes_and_replays_once(
    stack: Stack, emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    auth = make_auth(profile_id=7)
    stack.get(emulator.api_url + "/v2/profiles", auth)
    emulator.revoke_access_tokens()  # valid by expiry, revoked at the server
    result = stack.request("POST", emulator.api_url + "/sp/campaigns/list", auth, content=b"{}")
    assert result.status == 200
    assert result.history == [401]
    assert result.body["campaigns"][0]["state"] == "ENABLED"  # the replayed POST answered
    assert emulator.token_requests["refresh_token"] == 2
    assert emulator.api_requests == {200: 2, 401: 1}


def test_persistent_401_is_returned_after_one_replay(
    stack: Stack, emulator: Emulator, make_auth: Callable[..., AdsAuth], clock: FakeClock
) -> None:
    # The ClientId header is wrong, so every token is refused: refresh once, replay once, stop.
    auth = make_auth(profile_id=7)
    result = stack.get(
        emulator.api_url + "/v2/profiles",
        auth,
        headers={"Amazon-Advertising-API-ClientId": "other"},
    )
    assert result.status == 401
    assert result.history == [401]
    assert emulator.token_requests["refresh_token"] == 2
    assert emulator.api_requests == {401: 2}
    # The refresh did not help, so for a minute these 401s cost no token request (and the
    # unchanged token is not replayed)...
    again = stack.get(
        emulator.api_url + "/v2/profiles",
        auth,
        headers={"Amazon-Advertising-API-ClientId": "other"},
    )
    assert (again.status, again.history) == (401, [])
    assert emulator.token_requests["refresh_token"] == 2
    # ...while a request that works still works with that token...
    assert stack.get(emulator.api_url + "/v2/profiles", auth).status == 200
    # ...and after the minute a 401 may try a refresh again.
    clock.advance(61)
    stack.get(
        emulator.api_url + "/v2/profiles", auth, headers={"Amazon-Advertising-API-ClientId": "o"}
    )
    assert emulator.token_requests["refresh_token"] == 3


@pytest.mark.parametrize("status", [403, 429, 500])
def test_other_errors_never_refresh(
    stack: Stack, emulator: Emulator, make_auth: Callable[..., AdsAuth], status: int
) -> None:
    auth = make_auth(profile_id=7)
    emulator.route(
        "GET",
        "/fail",
        lambda request: ApiResponse(
            status, {"code": str(status), "details": "no"}, {"Retry-After": "1"}
        ),
    )
    result = stack.get(emulator.api_url + "/fail", auth)
    assert result.status == status
    assert result.history == []
    assert emulator.token_requests["refresh_token"] == 1


def _chunks() -> Iterator[bytes]:
    yield b'{"a":'
    yield b"1}"


async def _achunks() -> object:
    yield b'{"a":'
    yield b"1}"


def test_streamed_body_gets_the_401_but_the_token_is_renewed(
    stack: Stack, emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    auth = make_auth(profile_id=7)
    stack.get(emulator.api_url + "/v2/profiles", auth)
    emulator.revoke_access_tokens()
    body = _achunks() if stack.is_async else _chunks()
    result = stack.request("POST", emulator.api_url + "/sp/campaigns/list", auth, content=body)
    assert result.status == 401
    assert result.history == []
    assert emulator.token_requests["refresh_token"] == 2
    # The next request uses the renewed token without another refresh.
    assert stack.get(emulator.api_url + "/v2/profiles", auth).status == 200
    assert emulator.token_requests["refresh_token"] == 2


def test_revoked_refresh_token_says_log_in_again(
    stack: Stack, emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    refresh_token = emulator.issue_refresh_token()
    auth = make_auth(refresh_token)
    emulator.revoke_refresh_token(refresh_token)
    with pytest.raises(InvalidGrantError, match="log in again") as caught:
        stack.get(emulator.api_url + "/v2/profiles", auth)
    assert caught.value.error == "invalid_grant"
    assert caught.value.status_code == 400
    assert emulator.token_requests["refresh_token"] == 1  # never retried


def test_refresh_token_kept_when_response_omits_it(
    emulator: Emulator, make_auth: Callable[..., AdsAuth], clock: FakeClock
) -> None:
    store = MemoryTokenStore()
    refresh_token = emulator.issue_refresh_token()
    emulator.omit_refresh_token_on_refresh = True
    auth = make_auth(refresh_token, store=store)
    token = auth.ensure_token()
    assert token.refresh_token == refresh_token
    clock.advance(3600)
    again = auth.ensure_token()
    assert again.access_token != token.access_token
    assert again.refresh_token == refresh_token
    stored = store.load(f"{emulator.client_id}/default")
    assert stored is not None and stored.refresh_token == refresh_token


def test_store_never_replaces_a_refresh_token_with_none() -> None:
    store = MemoryTokenStore()
    auth = AdsAuth("amzn1.application-oa2-client.m", "secret", store=store, store_key="k")
    auth.import_token(Token("Atza|a", "Atzr|keep", 10.0))
    auth.import_token(Token("Atza|b", None, 20.0))
    saved = store.load(auth._manager.key)
    assert saved is not None
    assert (saved.access_token, saved.refresh_token) == ("Atza|b", "Atzr|keep")


def test_expires_in_as_string_is_accepted(
    emulator: Emulator, make_auth: Callable[..., AdsAuth], clock: FakeClock
) -> None:
    emulator.expires_in_as_string = True
    token = make_auth().ensure_token()
    assert token.expires_at == pytest.approx(clock() + 3600)


def test_explicit_refresh_token_replaces_a_different_stored_one(
    emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    store = MemoryTokenStore()
    old = make_auth(store=store)
    old_token = old.ensure_token()
    new_refresh = emulator.issue_refresh_token()
    new = make_auth(new_refresh, store=store)
    token = new.ensure_token()
    assert token.refresh_token == new_refresh
    assert token.access_token != old_token.access_token  # the stored access token was dropped
    assert emulator.token_requests["refresh_token"] == 2


def test_equal_explicit_refresh_token_changes_nothing(
    emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    store = MemoryTokenStore()
    refresh_token = emulator.issue_refresh_token()
    first = make_auth(refresh_token, store=store).ensure_token()
    second = make_auth(refresh_token, store=store).ensure_token()
    assert second == first
    assert emulator.token_requests["refresh_token"] == 1


def test_bad_explicit_refresh_token_falls_back_to_the_stored_grant(
    emulator: Emulator, make_auth: Callable[..., AdsAuth], captured_logs: list[str]
) -> None:
    store = MemoryTokenStore()
    good = make_auth(store=store).ensure_token()
    # A stale AMAZON_ADS_REFRESH_TOKEN, say: LwA refuses it, the stored grant still works.
    assert make_auth("Atzr|not-a-real-grant", store=store).ensure_token() == good
    assert store.load(f"{emulator.client_id}/default") == good
    assert any("was refused (invalid_grant); using the stored grant" in t for t in captured_logs)


def test_bad_explicit_refresh_token_without_a_stored_grant_raises(
    make_auth: Callable[..., AdsAuth],
) -> None:
    with pytest.raises(InvalidGrantError):
        make_auth("Atzr|not-a-real-grant").ensure_token()


def test_no_refresh_token_anywhere(make_auth: Callable[..., AdsAuth]) -> None:
    with pytest.raises(NoTokenError, match="amazon-ads-auth login"):
        make_auth(None).ensure_token()


def test_refresh_forces_a_new_token(emulator: Emulator, make_auth: Callable[..., AdsAuth]) -> None:
    auth = make_auth()
    first = auth.ensure_token()
    second = auth.refresh()
    assert second.access_token != first.access_token
    assert auth.token == second
    assert emulator.token_requests["refresh_token"] == 2


def test_async_ensure_token(emulator: Emulator, make_auth: Callable[..., AdsAuth]) -> None:
    auth = make_auth()
    token = asyncio.run(auth.async_ensure_token())
    assert emulator.is_valid_access_token(token.access_token)
    assert asyncio.run(auth.async_ensure_token()) is token
    assert emulator.token_requests["refresh_token"] == 1


def test_logout_forgets_the_grant(emulator: Emulator, make_auth: Callable[..., AdsAuth]) -> None:
    store = MemoryTokenStore()
    auth = make_auth(None, store=store)
    make_auth(store=store).ensure_token()
    assert auth.ensure_token() is not None
    auth.logout()
    assert auth.token is None
    assert store.load(f"{emulator.client_id}/default") is None
