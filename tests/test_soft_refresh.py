"""Inside the refresh margin no call waits and none fails: one background refresh per grant,
failures logged and retried on a backoff; only an expired token makes callers wait."""

from __future__ import annotations

import asyncio
import multiprocessing
import pathlib
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import requests

from amazon_ads_auth import (
    AdsAuth,
    InvalidGrantError,
    MemoryTokenStore,
    RedisTokenStore,
    StoreError,
    Token,
    TokenEndpointError,
)
from amazon_ads_auth.testing import Emulator, FakeClock, Fault
from tests.accounts import profiles_for_tests
from tests.conftest import Stack, eventually, running_redis
from tests.workers import calls_in_the_margin, emulator_info, make_store

SPAWN = multiprocessing.get_context("spawn")
MARGIN = 300


def into_margin(clock: FakeClock, auth: AdsAuth, seconds_left: float = 200) -> Token:
    """Move the clock so the held token has `seconds_left` (inside the 300 s margin)."""
    token = auth.token
    assert token is not None
    clock.advance(token.expires_at - clock() - seconds_left)
    return token


def test_no_caller_waits_in_the_margin_threads(
    emulator: Emulator, make_auth: Callable[..., AdsAuth], clock: FakeClock
) -> None:
    auth = make_auth()
    auth.ensure_token()
    old = into_margin(clock, auth)
    emulator.hold_token_requests()  # the refresh cannot finish while the calls run
    statuses: list[int] = []
    sent: list[str] = []
    guard = threading.Lock()
    session = requests.Session()

    def call() -> None:
        for _ in range(3):
            r = session.get(emulator.api_url + "/v2/profiles", auth=auth, timeout=30)
            with guard:
                statuses.append(r.status_code)
                sent.append(r.request.headers["Authorization"])

    threads = [threading.Thread(target=call) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    # Every call came back while the one refresh was still held at the token endpoint.
    assert not any(thread.is_alive() for thread in threads)
    assert statuses == [200] * 48
    assert set(sent) == {"Bearer " + old.access_token}
    assert emulator.wait_for_held_token_request()
    emulator.release_token_requests()
    eventually(lambda: auth.token is not None and auth.token.access_token != old.access_token)
    assert emulator.token_requests == {"refresh_token": 2}  # the first token + one rollover
    assert emulator.hold_timeouts == 0


def test_no_task_waits_in_the_margin(
    emulator: Emulator, make_auth: Callable[..., AdsAuth], clock: FakeClock
) -> None:
    auth = make_auth()
    auth.ensure_token()
    old = into_margin(clock, auth)
    emulator.hold_token_requests()

    async def main() -> list[int]:
        async with httpx.AsyncClient(auth=auth) as client:
            answers = await asyncio.gather(
                *(client.get(emulator.api_url + "/v2/profiles") for _ in range(100))
            )
            ensured = await auth.async_ensure_token()  # no wait either: the valid token
            assert ensured == old
        return [a.status_code for a in answers]

    assert asyncio.run(asyncio.wait_for(main(), 20)) == [200] * 100
    assert emulator.wait_for_held_token_request()
    emulator.release_token_requests()
    eventually(lambda: auth.token is not None and auth.token.access_token != old.access_token)
    assert emulator.token_requests == {"refresh_token": 2}


def test_ensure_token_in_the_margin_returns_the_valid_token(
    stack: Stack, emulator: Emulator, make_auth: Callable[..., AdsAuth], clock: FakeClock
) -> None:
    auth = make_auth()
    stack.get(emulator.api_url + "/v2/profiles", auth)
    old = into_margin(clock, auth)
    emulator.hold_token_requests()
    assert auth.ensure_token() == old
    assert stack.get(emulator.api_url + "/v2/profiles", auth).status == 200
    assert emulator.wait_for_held_token_request()
    emulator.release_token_requests()
    eventually(lambda: auth.token is not None and auth.token != old)


def test_an_outage_in_the_margin_fails_no_call_and_backs_off(
    emulator: Emulator,
    make_auth: Callable[..., AdsAuth],
    clock: FakeClock,
    captured_logs: list[str],
) -> None:
    auth = make_auth()
    auth.ensure_token()
    emulator.reset_counters()
    old = into_margin(clock, auth)
    emulator.queue_token_faults(*[Fault.status_code(503)] * 3)
    session = requests.Session()

    def calls() -> None:
        for _ in range(5):
            answer = session.get(emulator.api_url + "/v2/profiles", auth=auth, timeout=30)
            assert answer.status_code == 200

    def warned() -> list[str]:
        return [t for t in captured_logs if "background refresh" in t]

    calls()
    eventually(lambda: any("background refresh" in t and "failed" in t for t in captured_logs))
    # One attempt (no retries inside it), then nothing until the backoff has passed.
    calls()
    assert emulator.token_requests == {"refresh_token": 1}
    assert len(warned()) == 1 and auth._manager.key in warned()[0] and "503" in warned()[0]
    clock.advance(1)  # first backoff: 1 s
    eventually(lambda: calls() or len(warned()) == 2)  # calls until the attempt is over
    assert emulator.token_requests["refresh_token"] == 2
    clock.advance(1)  # second backoff is 2 s: not yet
    calls()
    assert emulator.token_requests["refresh_token"] == 2
    clock.advance(1)
    eventually(lambda: calls() or len(warned()) == 3)
    assert "next attempt in 4s" in warned()[-1]
    clock.advance(4)  # the outage is over (3 faults used): the next attempt succeeds
    eventually(
        lambda: calls() or (auth.token is not None and auth.token.access_token != old.access_token)
    )
    assert emulator.token_requests["refresh_token"] == 4
    assert set(emulator.api_requests) == {200}


def test_an_outage_past_expiry_raises_a_typed_error(
    emulator: Emulator, make_auth: Callable[..., AdsAuth], clock: FakeClock
) -> None:
    auth = make_auth()
    auth.ensure_token()
    clock.advance(3601)
    emulator.queue_token_faults(*[Fault.status_code(503)] * 4)
    with pytest.raises(TokenEndpointError, match="HTTP 503 after 4 attempt"):
        requests.get(emulator.api_url + "/v2/profiles", auth=auth, timeout=30)


def test_invalid_grant_in_the_margin_is_final_and_raised_only_after_expiry(
    emulator: Emulator,
    make_auth: Callable[..., AdsAuth],
    clock: FakeClock,
    captured_logs: list[str],
) -> None:
    auth = make_auth()
    auth.ensure_token()
    emulator.queue_token_faults(Fault.oauth_error("invalid_grant", "revoked"))
    emulator.reset_counters()
    into_margin(clock, auth)
    assert requests.get(emulator.api_url + "/v2/profiles", auth=auth, timeout=30).status_code == 200
    eventually(lambda: any("failed for good" in t for t in captured_logs))
    for _ in range(3):  # no more attempts, however long the margin lasts
        clock.advance(60)
        assert (
            requests.get(emulator.api_url + "/v2/profiles", auth=auth, timeout=30).status_code
            == 200
        )
    assert emulator.token_requests == {"refresh_token": 1}
    clock.advance(100)  # past expiry
    emulator.queue_token_faults(Fault.oauth_error("invalid_grant", "revoked"))
    with pytest.raises(InvalidGrantError):
        requests.get(emulator.api_url + "/v2/profiles", auth=auth, timeout=30)


def test_forced_refresh_and_401_still_wait(
    emulator: Emulator, make_auth: Callable[..., AdsAuth], clock: FakeClock
) -> None:
    auth = make_auth()
    first = auth.ensure_token()
    into_margin(clock, auth)
    assert auth.refresh() != first  # returned the new token: it waited
    emulator.revoke_access_tokens()
    result = requests.get(emulator.api_url + "/v2/profiles", auth=auth, timeout=30)
    assert result.status_code == 200 and [h.status_code for h in result.history] == [401]


class FlakyStore(MemoryTokenStore):
    """A store whose saves fail while `broken` is set (a full disk cannot be made here
    without privileges the tests do not have)."""

    def __init__(self) -> None:
        super().__init__()
        self.broken = False
        self.save_attempts = 0

    def save(self, key: str, token: Token) -> None:
        self.save_attempts += 1
        if self.broken:
            raise StoreError("the disk is full (simulated)")
        super().save(key, token)

    def save_grant(self, key: str, record: Any) -> None:  # a whole-record write fails alike
        self.save_attempts += 1
        if self.broken:
            raise StoreError("the disk is full (simulated)")
        super().save_grant(key, record)


def test_a_failed_save_keeps_the_token_and_is_retried_without_token_requests(
    emulator: Emulator,
    make_auth: Callable[..., AdsAuth],
    clock: FakeClock,
    captured_logs: list[str],
) -> None:
    store = FlakyStore()
    store.broken = True
    auth = make_auth(store=store)
    token = auth.ensure_token()
    key = auth._manager.key
    for _ in range(10):
        assert (
            requests.get(emulator.api_url + "/v2/profiles", auth=auth, timeout=30).status_code
            == 200
        )
    assert emulator.token_requests == {"refresh_token": 1}
    assert store.load(key) is None
    assert any("could not save" in t for t in captured_logs)
    store.broken = False
    clock.advance(1)  # the save's backoff
    assert requests.get(emulator.api_url + "/v2/profiles", auth=auth, timeout=30).status_code == 200
    eventually(lambda: store.load(key) == token)
    assert emulator.token_requests == {"refresh_token": 1}


def test_redis_stopped_mid_run_fails_no_call(
    tmp_path: pathlib.Path,
    emulator: Emulator,
    make_auth: Callable[..., AdsAuth],
    clock: FakeClock,
    captured_logs: list[str],
) -> None:
    with running_redis(tmp_path) as (process, url):
        store = RedisTokenStore(url, prefix=f"down-{uuid.uuid4().hex}:")
        auth = make_auth(store=store)
        session = requests.Session()
        assert (
            session.get(emulator.api_url + "/v2/profiles", auth=auth, timeout=30).status_code == 200
        )
        process.kill()
        process.wait(timeout=10)
        # Inside the margin: the background refresh meets a dead store; calls go on.
        old = into_margin(clock, auth)
        for _ in range(5):
            assert (
                session.get(emulator.api_url + "/v2/profiles", auth=auth, timeout=30).status_code
                == 200
            )
        eventually(lambda: any("background refresh" in t and "Redis" in t for t in captured_logs))
        assert auth.token == old
        # Past expiry with the store still down: refreshed without it, and the call works.
        clock.advance(400)
        assert (
            session.get(emulator.api_url + "/v2/profiles", auth=auth, timeout=30).status_code == 200
        )
        assert auth.token is not None and auth.token != old
        assert any("single flight across processes is off" in t for t in captured_logs)
        assert emulator.api_requests == {200: 7}


@pytest.fixture(params=["file", "redis"])
def store_spec(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> tuple[Any, ...]:
    if request.param == "file":
        return ("file", str(tmp_path / "tokens"))
    url = request.getfixturevalue("redis_url")
    return ("redis", url, f"soft-{uuid.uuid4().hex}:", 60.0)


def test_processes_in_the_margin_never_wait_and_share_one_refresh(
    store_spec: tuple[Any, ...],
) -> None:
    processes_count = 4
    with Emulator(
        profiles=profiles_for_tests()
    ) as emu:  # real clock: processes cannot share a fake one
        refresh_token = emu.issue_refresh_token()
        # Valid for 100 s more: inside the default 300 s margin.
        old = Token("Atza|" + "o" * 400, refresh_token, time.time() + 100)
        emu.accept_access_token(old.access_token, old.expires_at)
        make_store(store_spec).save(f"{emu.client_id}/default", old)
        emu.hold_token_requests(limit=60)
        results = SPAWN.Queue()
        processes = [
            SPAWN.Process(
                target=calls_in_the_margin,
                args=(store_spec, emulator_info(emu), 5, results, old.access_token),
            )
            for _ in range(processes_count)
        ]
        for process in processes:
            process.start()
        # Every process answers its 5 calls while the refresh is still held.
        first = [results.get(timeout=60) for _ in processes]
        assert first == [("statuses", [200] * 5)] * processes_count
        emu.release_token_requests()
        final = [results.get(timeout=90) for _ in processes]
        for process in processes:
            process.join(timeout=60)
            assert process.exitcode == 0
        tokens = {token for kind, token in final if kind == "token"}
        assert len(tokens) == 1 and old.access_token not in tokens
        assert emu.token_requests == {"refresh_token": 1}
        assert emu.hold_timeouts == 0
