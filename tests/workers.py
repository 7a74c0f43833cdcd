"""Process entry points for the multiprocess tests (spawned: they must be importable)."""

from __future__ import annotations

import threading
from typing import Any

import requests

from amazon_ads_auth import AdsAuth, FileTokenStore, RedisTokenStore, Token, TokenStore
from amazon_ads_auth.testing import Emulator


def emulator_info(emulator: Emulator, **extra: Any) -> dict[str, Any]:
    """What a worker process needs to reach the test's emulator (picklable)."""
    return {
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
        "token_url": emulator.token_url,
        "api_host": emulator.api_host,
        "api_url": emulator.api_url,
        **extra,
    }


def make_store(spec: tuple[Any, ...]) -> TokenStore:
    """("file", path), ("redis", url, prefix, lock_ttl) or ("given", store)."""
    if spec[0] == "given":
        return spec[1]  # type: ignore[no-any-return]
    if spec[0] == "file":
        return FileTokenStore(spec[1], lock_timeout=30)
    _, url, prefix, lock_ttl = spec
    return RedisTokenStore(url, prefix=prefix, lock_ttl=lock_ttl, lock_timeout=30)


def make_auth(spec: tuple[Any, ...], emulator: dict[str, Any], **overrides: Any) -> AdsAuth:
    """This process's own AdsAuth on the shared store, pointed at the test's emulator."""
    return AdsAuth(
        emulator["client_id"],
        emulator["client_secret"],
        store=make_store(spec),
        token_url=emulator["token_url"],
        api_hosts=[emulator["api_host"]],
        profile_id=1,
        **overrides,
    )


def call_api(
    spec: tuple[Any, ...],
    emulator: dict[str, Any],
    barrier: Any,
    results: Any,
    threads: int = 1,
) -> None:
    """One process of a stampede: its own AdsAuth on the shared store, `threads` threads that
    all call the API at once; reports statuses and the access token it ended with."""
    auth = make_auth(spec, emulator)
    session = requests.Session()
    statuses: list[int] = []
    guard = threading.Lock()
    barrier.wait(60)

    def one() -> None:
        status = session.get(emulator["api_url"] + "/v2/profiles", auth=auth, timeout=60)
        with guard:
            statuses.append(status.status_code)

    workers = [threading.Thread(target=one) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    token = auth.token
    results.put((statuses, token.access_token if token else None))


def hold_lock(spec: tuple[Any, ...], key: str, acquired: Any) -> None:
    """Take the store lock and never let go (the test SIGKILLs us)."""
    store = make_store(spec)
    with store.lock(key):
        acquired.set()
        threading.Event().wait()


def save_in_a_loop(path: str, refresh_token: str, written: Any) -> None:
    """Save ever-newer tokens as fast as possible (the test SIGKILLs us mid-write)."""
    store = FileTokenStore(path)
    n = 0
    while True:
        n += 1
        store.save("k", Token(f"Atza|{n:08d}" + "x" * 400, refresh_token, 10.0**9 + n))
        written.value = n


def soak(
    spec: tuple[Any, ...],
    emulator: dict[str, Any],
    threads: int,
    seconds: float,
    barrier: Any,
    results: Any,
) -> None:
    """Call the API from `threads` threads for `seconds`; report (calls, failures)."""
    import time

    auth = make_auth(spec, emulator, refresh_margin=emulator["refresh_margin"])
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=threads))
    counts = {"calls": 0, "failures": 0}
    guard = threading.Lock()
    barrier.wait(60)
    deadline = time.monotonic() + seconds

    def loop() -> None:
        while time.monotonic() < deadline:
            try:
                ok = session.get(emulator["api_url"] + "/v2/profiles", auth=auth, timeout=30).ok
            except Exception:
                ok = False
            with guard:
                counts["calls"] += 1
                counts["failures"] += 0 if ok else 1

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    results.put((counts["calls"], counts["failures"]))


def calls_in_the_margin(
    spec: tuple[Any, ...], emulator: dict[str, Any], calls: int, results: Any, old: str
) -> None:
    """Make `calls` API calls while the stored token is inside its refresh margin (the test
    holds token requests meanwhile, so a call that waited would not come back), report the
    statuses, then wait (bounded) until this process has picked up a newer token."""
    import time

    auth = make_auth(spec, emulator, timeout=60)
    session = requests.Session()
    statuses = [
        session.get(emulator["api_url"] + "/v2/profiles", auth=auth, timeout=60).status_code
        for _ in range(calls)
    ]
    results.put(("statuses", statuses))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        session.get(emulator["api_url"] + "/v2/profiles", auth=auth, timeout=60)
        token = auth.token
        if token is not None and token.access_token != old:
            break
        time.sleep(0.05)
    token = auth.token
    results.put(("token", token.access_token if token else None))


def sqlite_store_calls(
    block: str, folder: str, emulator: dict[str, Any], barrier: Any, results: Any
) -> None:
    """Run the docs' SQLite CallbackTokenStore in this process (the database in
    `folder`), then 4 threads call the API at once through an AdsAuth on it."""
    import os

    os.chdir(folder)
    namespace: dict[str, Any] = {}
    exec(block, namespace)
    store = namespace["store"]
    with store.lock("seed"):  # seed once: the first process in writes the expired grant
        key = f"{emulator['client_id']}/default"
        if store.load(key) is None:
            store.save(key, Token("Atza|expired", emulator["refresh_token"], 1.0))
    call_api(("given", store), emulator, barrier, results, threads=4)
