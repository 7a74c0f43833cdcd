"""Single flight: many threads and tasks on an expired token make exactly one token request."""

from __future__ import annotations

import asyncio
import importlib
import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests

from amazon_ads_auth import AdsAuth
from amazon_ads_auth.testing import Emulator, FakeClock
from tests.conftest import HTTPX_MODULES


def _expired_auth(
    make_auth: Callable[..., AdsAuth], clock: FakeClock, emulator: Emulator
) -> AdsAuth:
    auth = make_auth(profile_id=1)
    auth.ensure_token()
    clock.advance(3600)  # expired for the client and the emulator alike
    emulator.reset_counters()
    return auth


def _run_threads(count: int, work: Callable[[], int]) -> list[object]:
    barrier = threading.Barrier(count)
    results: list[object] = []
    guard = threading.Lock()

    def run() -> None:
        barrier.wait(timeout=30)
        try:
            outcome: object = work()
        except Exception as exc:  # recorded, then asserted on below
            outcome = exc
        with guard:
            results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.parametrize("client", ["requests", *HTTPX_MODULES])
def test_fifty_threads_one_token_request(
    emulator: Emulator, make_auth: Callable[..., AdsAuth], clock: FakeClock, client: str
) -> None:
    auth = _expired_auth(make_auth, clock, emulator)
    emulator.token_latency = 0.05  # widen the window in which the others pile up
    url = emulator.api_url + "/v2/profiles"
    if client == "requests":
        session = requests.Session()
        session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=50))

        def work() -> int:
            return session.get(url, auth=auth, timeout=30).status_code

    else:
        module = importlib.import_module(client)
        http = module.Client(auth=auth, timeout=30, limits=module.Limits(max_connections=50))

        def work() -> int:
            return int(http.get(url).status_code)

    results = _run_threads(50, work)
    assert results == [200] * 50
    assert emulator.token_requests == {"refresh_token": 1}
    assert emulator.api_requests == {200: 50}


@pytest.mark.parametrize("module_name", HTTPX_MODULES)
def test_two_hundred_tasks_one_token_request_and_the_loop_keeps_ticking(
    emulator: Emulator, make_auth: Callable[..., AdsAuth], clock: FakeClock, module_name: str
) -> None:
    module = importlib.import_module(module_name)
    auth = _expired_auth(make_auth, clock, emulator)
    url = emulator.api_url + "/v2/profiles"

    async def main() -> tuple[list[int], int]:
        ticks = 0
        stopped = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stopped.is_set():
                ticks += 1
                await asyncio.sleep(0)

        limits = module.Limits(max_connections=200)
        async with module.AsyncClient(auth=auth, timeout=30, limits=limits) as client:
            emulator.hold_token_requests(limit=10)
            tick_task = asyncio.create_task(ticker())
            tasks = [asyncio.create_task(client.get(url)) for _ in range(200)]
            assert await asyncio.to_thread(emulator.wait_for_held_token_request, 10)
            # The refresh is stuck at the server; the loop must still run other tasks.
            seen = ticks
            while ticks < seen + 100:
                await asyncio.sleep(0)
            ticks_while_held = ticks - seen
            emulator.release_token_requests()
            responses = await asyncio.gather(*tasks)
            stopped.set()
            await tick_task
        return [r.status_code for r in responses], ticks_while_held

    statuses, ticks_while_held = asyncio.run(main())
    assert emulator.hold_timeouts == 0, "the token request was never released: loop blocked"
    assert ticks_while_held >= 100
    assert statuses == [200] * 200
    assert emulator.token_requests == {"refresh_token": 1}


def test_threads_and_tasks_across_stacks_share_one_refresh(
    emulator: Emulator, make_auth: Callable[..., AdsAuth], clock: FakeClock
) -> None:
    import httpx

    auth = _expired_auth(make_auth, clock, emulator)
    emulator.token_latency = 0.05
    url = emulator.api_url + "/v2/profiles"
    views = [auth.with_profile(n) for n in range(1, 5)]

    def via_requests() -> int:
        return requests.get(url, auth=views[0], timeout=30).status_code

    def via_httpx() -> int:
        return httpx.get(url, auth=views[1], timeout=30).status_code

    def via_async() -> int:
        async def many() -> list[Any]:
            async with httpx.AsyncClient(auth=views[2], timeout=30) as client:
                return await asyncio.gather(*(client.get(url) for _ in range(20)))

        statuses = {r.status_code for r in asyncio.run(many())}
        return statuses.pop() if statuses == {200} else 0

    def via_ensure() -> int:
        return 200 if views[3].ensure_token() else 0

    jobs = [via_requests, via_httpx, via_async, via_ensure] * 6
    counter = iter(range(len(jobs)))
    guard = threading.Lock()

    def work() -> int:
        with guard:
            job = jobs[next(counter)]
        return job()

    assert _run_threads(len(jobs), work) == [200] * len(jobs)
    assert emulator.token_requests == {"refresh_token": 1}


def test_concurrent_forced_refreshes_share_one_request(
    emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    auth = make_auth()
    first = auth.ensure_token()
    emulator.reset_counters()
    emulator.token_latency = 0.05
    results = _run_threads(
        10, lambda: 1 if auth.refresh().access_token != first.access_token else 0
    )
    assert results == [1] * 10
    assert emulator.token_requests == {"refresh_token": 1}


def test_hot_path_reads_no_store_and_takes_no_store_lock(
    emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    class CountingStore:
        def __init__(self) -> None:
            from amazon_ads_auth import MemoryTokenStore

            self.inner = MemoryTokenStore()
            self.calls = 0

        def load(self, key: str) -> Any:
            self.calls += 1
            return self.inner.load(key)

        def save(self, key: str, token: Any) -> None:
            self.calls += 1
            self.inner.save(key, token)

        def delete(self, key: str) -> None:
            self.calls += 1
            self.inner.delete(key)

        def lock(self, key: str) -> Any:
            self.calls += 1
            return self.inner.lock(key)

    store = CountingStore()
    auth = make_auth(store=store)
    session = requests.Session()
    session.get(emulator.api_url + "/v2/profiles", auth=auth)
    after_first = store.calls
    assert after_first > 0
    lock = auth._manager._lock
    for _ in range(20):
        assert session.get(emulator.api_url + "/v2/profiles", auth=auth).status_code == 200
        assert not lock.locked()
    assert store.calls == after_first
