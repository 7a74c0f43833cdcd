"""Stampede: 8 processes x 8 threads hit the Ads API with an expired token.

    python bench/stampede.py [--processes 8] [--threads 8] [--latency 0.05]

For each store (memory: one per process; file; Redis, when redis-server is installed;
SQLite; PostgreSQL, started with initdb/pg_ctl when installed, or `--postgres URL`) it
prints how many token requests the emulator saw, how many API requests failed, and the wall
time from the start signal to the last process done. Target: 1 token request for the shared
stores (a token cache per process makes one per process).
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from amazon_ads_auth import (
    AdsAuth,
    FileTokenStore,
    RedisTokenStore,
    SQLTokenStore,
    Token,
    TokenStore,
)
from amazon_ads_auth.testing import Emulator

SPAWN = multiprocessing.get_context("spawn")


def make_store(spec: tuple[str, str]) -> TokenStore | None:
    """("memory", ""), ("file", folder), ("redis", "url|prefix") or ("sql", "url|table")."""
    kind, where = spec
    if kind == "file":
        return FileTokenStore(where)
    if kind == "sql":
        url, _, table = where.rpartition("|")
        return SQLTokenStore(url, table=table, create=True)
    if kind == "redis":
        url, _, prefix = where.partition("|")
        return RedisTokenStore(url, prefix=prefix)
    return None


def worker(
    spec: tuple[str, str], info: dict[str, Any], threads: int, start: Any, results: Any
) -> None:
    store = make_store(spec)
    auth = AdsAuth(
        info["client_id"],
        info["client_secret"],
        info["refresh_token"] if store is None else None,
        store=store,
        token_url=info["token_url"],
        api_hosts=[info["api_host"]],
        profile_id=info["profile_id"],
    )
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=threads))
    start.wait(60)
    url = info["api_url"] + "/v2/profiles"
    results.put(failures_of(lambda: session.get(url, auth=auth, timeout=60).ok, threads))


def failures_of(call: Callable[[], bool], threads: int) -> int:
    """Run `call` once in each of `threads` threads released together; count the failures
    (a False result or an exception)."""
    failures = 0
    guard = threading.Lock()
    barrier = threading.Barrier(threads)

    def one() -> None:
        nonlocal failures
        barrier.wait()
        try:
            ok = call()
        except Exception:
            ok = False
        if not ok:
            with guard:
                failures += 1

    pool = [threading.Thread(target=one) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return failures


def run(
    name: str, spec: tuple[str, str], processes: int, threads: int, latency: float
) -> tuple[str, int, int, float]:
    with Emulator() as emu:
        emu.token_latency = latency
        refresh_token = emu.issue_refresh_token()
        store = make_store(spec)
        if store is not None:
            store.save(
                f"{emu.client_id}/default", Token("Atza|expired", refresh_token, time.time() - 1)
            )
        info = {
            "client_id": emu.client_id,
            "client_secret": emu.client_secret,
            "refresh_token": refresh_token,
            "token_url": emu.token_url,
            "api_host": emu.api_host,
            "api_url": emu.api_url,
            # The emulator refuses a profile its account does not have, as Amazon does.
            "profile_id": emu.profiles[0]["profileId"],
        }
        start = SPAWN.Barrier(processes + 1)  # the clock starts once every process is ready
        results = SPAWN.Queue()
        pool = [
            SPAWN.Process(target=worker, args=(spec, info, threads, start, results))
            for _ in range(processes)
        ]
        for process in pool:
            process.start()
        start.wait(120)
        began = time.perf_counter()
        failures = sum(results.get(timeout=300) for _ in pool)
        elapsed = time.perf_counter() - began
        for process in pool:
            process.join()
        return name, emu.token_request_count, failures, elapsed


def start_redis() -> tuple[subprocess.Popen[bytes], str] | None:
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(port=port)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            client.ping()
            return server, f"redis://127.0.0.1:{port}/0"
        except redis.ConnectionError:
            time.sleep(0.02)
    server.kill()
    return None


def start_postgres() -> Any:
    """A throwaway PostgreSQL cluster (the test suite's helper), or None without one."""
    import pathlib
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
    from tests.postgres import PostgresServer, binaries

    folder = binaries()
    if folder is None:
        return None
    server = PostgresServer(folder)
    server.start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--postgres", default=None, help="a PostgreSQL URL to use")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        rows.append(run("memory", ("memory", ""), args.processes, args.threads, args.latency))
        rows.append(run("file", ("file", folder), args.processes, args.threads, args.latency))
        sqlite = ("sql", f"sqlite:///{folder}/grants.db|grants")
        rows.append(run("sqlite", sqlite, args.processes, args.threads, args.latency))
    redis_server = start_redis()
    if redis_server is not None:
        try:
            rows.append(
                run(
                    "redis",
                    ("redis", f"{redis_server[1]}|bench-{time.time_ns()}:"),
                    args.processes,
                    args.threads,
                    args.latency,
                )
            )
        finally:
            redis_server[0].terminate()
    postgres = None if args.postgres else start_postgres()
    url = args.postgres or (postgres.url if postgres is not None else None)
    if url is not None:
        try:
            spec = ("sql", f"{url}|bench_{time.time_ns()}")
            rows.append(run("postgresql", spec, args.processes, args.threads, args.latency))
        finally:
            if postgres is not None:
                postgres.remove()
    print(
        f"{args.processes} processes x {args.threads} threads, expired token, "
        f"{args.latency * 1000:.0f} ms token latency"
    )
    print(f"{'store':<12}{'token requests':>16}{'failed calls':>14}{'wall time':>12}")
    for name, token_requests, failures, elapsed in rows:
        print(f"{name:<12}{token_requests:>16}{failures:>14}{elapsed:>11.2f}s")


if __name__ == "__main__":
    main()
