"""Processes (standing in for machines) sharing a file or Redis store: one token request per
expiry, locks that survive SIGKILL, and files that are never torn."""

from __future__ import annotations

import multiprocessing
import os
import pathlib
import random
import signal
import time
import uuid
from typing import Any

import pytest

from amazon_ads_auth import FileTokenStore, RedisTokenStore, Token
from amazon_ads_auth.testing import Emulator
from tests.accounts import profiles_for_tests
from tests.workers import call_api, emulator_info, hold_lock, make_store, save_in_a_loop

SPAWN = multiprocessing.get_context("spawn")
PROCESSES = 4


@pytest.fixture(params=["file", "redis"])
def store_spec(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> tuple[Any, ...]:
    if request.param == "file":
        return ("file", str(tmp_path / "tokens"))
    url = request.getfixturevalue("redis_url")
    return ("redis", url, f"mp-{uuid.uuid4().hex}:", 2.0)


def test_processes_share_one_refresh(store_spec: tuple[Any, ...]) -> None:
    with Emulator(
        profiles=profiles_for_tests()
    ) as emu:  # real clock: the processes cannot share a fake one
        emu.token_latency = 0.05
        refresh_token = emu.issue_refresh_token()
        expired = Token("Atza|expired", refresh_token, time.time() - 10)
        make_store(store_spec).save(f"{emu.client_id}/default", expired)
        info = emulator_info(emu)
        barrier = SPAWN.Barrier(PROCESSES)
        results = SPAWN.Queue()
        processes = [
            SPAWN.Process(target=call_api, args=(store_spec, info, barrier, results, 4))
            for _ in range(PROCESSES)
        ]
        for process in processes:
            process.start()
        outcomes = [results.get(timeout=120) for _ in processes]
        for process in processes:
            process.join(timeout=60)
            assert process.exitcode == 0
        assert emu.token_requests == {"refresh_token": 1}
        assert emu.api_requests == {200: PROCESSES * 4}
        assert all(statuses == [200] * 4 for statuses, _ in outcomes)
        tokens = {token for _, token in outcomes}
        assert len(tokens) == 1
        assert tokens != {"Atza|expired"}
        stored = make_store(store_spec).load(f"{emu.client_id}/default")
        assert stored is not None
        assert {stored.access_token} == tokens
        assert stored.refresh_token == refresh_token


def test_killed_lock_holder_does_not_block_the_others(store_spec: tuple[Any, ...]) -> None:
    acquired = SPAWN.Event()
    holder = SPAWN.Process(target=hold_lock, args=(store_spec, "client/k", acquired))
    holder.start()
    try:
        assert acquired.wait(60), "the holder never took the lock"
    finally:
        os.kill(holder.pid or 0, signal.SIGKILL)
        holder.join(timeout=30)
    assert holder.exitcode == -signal.SIGKILL
    if store_spec[0] == "file":
        # The kernel released the lock with the process: no wait at all.
        store: Any = FileTokenStore(store_spec[1], lock_timeout=0.5)
    else:
        # The Redis lock outlives its holder by at most its TTL (2 s here).
        store = RedisTokenStore(store_spec[1], prefix=store_spec[2], lock_timeout=15)
    with store.lock("client/k"):
        store.save("client/k", Token("Atza|after", "Atzr|r", 1.0))
    assert store.load("client/k") == Token("Atza|after", "Atzr|r", 1.0)


def test_writer_killed_at_random_moments_never_tears_the_file(tmp_path: pathlib.Path) -> None:
    path = str(tmp_path / "tokens")
    store = FileTokenStore(path)
    store.save("k", Token("Atza|00000000" + "x" * 400, "Atzr|keep", 10.0**9))
    rng = random.Random(20261128)
    for round_number in range(50):
        written = SPAWN.Value("i", 0)
        writer = SPAWN.Process(target=save_in_a_loop, args=(path, "Atzr|keep", written))
        writer.start()
        target = rng.randint(1, 40)
        deadline = time.monotonic() + 60
        while written.value < target:  # poll with a bound until the writer is mid-stream
            assert time.monotonic() < deadline, "the writer made no progress"
            time.sleep(0.001)
        os.kill(writer.pid or 0, signal.SIGKILL)
        writer.join(timeout=30)
        token = store.load("k")  # a StoreError here would be a torn file
        assert token is not None, f"round {round_number}: token missing"
        assert token.refresh_token == "Atzr|keep"
        assert token.access_token.startswith("Atza|")
        assert len(token.access_token) == 413
