"""Per-request overhead of AdsAuth with a fresh token, through full client stacks, no network.

    python bench/overhead.py [--requests 20000] [--repeats 5]

For each stack (requests with a canned-response adapter, httpx and httpx async with
MockTransport, and httpx2 when installed) it times: no auth, a minimal auth that sets two
static headers (the floor), and AdsAuth. It prints the median microseconds per request and
AdsAuth's distance from the floor (target: within 3 us).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import statistics
import time
import timeit
from collections.abc import Callable, Generator
from typing import Any

import requests
from requests.adapters import BaseAdapter

from amazon_ads_auth import AdsAuth, MemoryTokenStore, Token

URL = "https://advertising-api.amazon.com/sp/campaigns"
CLIENT_ID = "amzn1.application-oa2-client.bench"
# A realistic access token (LwA's are 350+ characters): the floor sends one just as long, so
# the comparison measures our work, not the cost of a longer header.
ACCESS_TOKEN = "Atza|" + "a" * 400


def fresh_auth() -> AdsAuth:
    """An AdsAuth whose store already holds a token valid for days: no token requests."""
    store = MemoryTokenStore()
    token = Token(ACCESS_TOKEN, "Atzr|" + "r" * 400, time.time() + 10**6)
    store.save(f"{CLIENT_ID}/default", token)
    auth = AdsAuth(CLIENT_ID, "secret", store=store)
    auth.ensure_token()
    return auth


class StaticRequestsAuth(requests.auth.AuthBase):
    """The floor for requests: the same two headers, constant."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {ACCESS_TOKEN}"
        r.headers["Amazon-Advertising-API-ClientId"] = CLIENT_ID
        return r


def static_httpx_auth(module: Any) -> Any:
    """The floor for httpx-style clients: an Auth whose flow sets the same two headers."""

    class StaticAuth(module.Auth):  # type: ignore[misc, name-defined]
        def auth_flow(self, request: Any) -> Generator[Any, Any, None]:
            request.headers["Authorization"] = f"Bearer {ACCESS_TOKEN}"
            request.headers["Amazon-Advertising-API-ClientId"] = CLIENT_ID
            yield request

    return StaticAuth()


class CannedAdapter(BaseAdapter):
    """A requests transport adapter that answers 200 without any I/O."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        response = requests.Response()
        response.status_code = 200
        response._content = b"{}"
        response.request = request
        response.url = request.url or ""
        response.connection = self  # type: ignore[attr-defined]
        return response

    def close(self) -> None:
        pass


def time_requests(auth: Any, n: int) -> float:
    session = requests.Session()
    session.trust_env = False  # no proxy/netrc file lookups: they are noise, not auth cost
    session.mount("https://", CannedAdapter())
    start = time.perf_counter()
    for _ in range(n):
        session.get(URL, auth=auth)
    return (time.perf_counter() - start) / n * 1e6


def time_httpx(module: Any, auth: Any, n: int) -> float:
    transport = module.MockTransport(lambda request: module.Response(200, content=b"{}"))
    with module.Client(transport=transport, auth=auth) as client:
        start = time.perf_counter()
        for _ in range(n):
            client.get(URL)
        return (time.perf_counter() - start) / n * 1e6


def time_httpx_async(module: Any, auth: Any, n: int) -> float:
    async def handler(request: Any) -> Any:
        return module.Response(200, content=b"{}")

    async def run() -> float:
        transport = module.MockTransport(handler)
        async with module.AsyncClient(transport=transport, auth=auth) as client:
            start = time.perf_counter()
            for _ in range(n):
                await client.get(URL)
            return (time.perf_counter() - start) / n * 1e6

    return asyncio.run(run())


def stacks() -> list[tuple[str, Callable[[Any, int], float], Callable[[], Any]]]:
    found: list[tuple[str, Callable[[Any, int], float], Callable[[], Any]]] = [
        ("requests", time_requests, StaticRequestsAuth),
    ]
    for name in ("httpx", "httpx2"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        found.append(
            (
                name,
                lambda a, n, m=module: time_httpx(m, a, n),
                lambda m=module: static_httpx_auth(m),
            )
        )
        found.append(
            (
                f"{name}-async",
                lambda a, n, m=module: time_httpx_async(m, a, n),
                lambda m=module: static_httpx_auth(m),
            )
        )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(
        f"{args.requests} requests per run, {args.repeats} interleaved runs per row; "
        "microseconds per request (best run); vs floor: best minus best, and the median of "
        "paired runs"
    )
    print(
        f"{'stack':<14}{'no auth':>10}{'floor':>10}{'AdsAuth':>10}{'vs floor':>10}{'(paired)':>10}"
    )
    for name, timer, make_floor in stacks():
        rows: dict[str, list[float]] = {"none": [], "floor": [], "ads": []}
        auths = {"none": None, "floor": make_floor(), "ads": fresh_auth()}
        for auth in auths.values():
            timer(auth, 500)  # warm up
        gc.collect()
        gc.disable()  # collector pauses are noise, not auth cost
        try:
            for repeat in range(args.repeats):
                # Interleaved, in a rotating order: drift and warm-up hit all rows alike.
                labels = list(auths)
                labels = labels[repeat % 3 :] + labels[: repeat % 3]
                for label in labels:
                    rows[label].append(timer(auths[label], args.requests))
        finally:
            gc.enable()
        none, floor, ads = (min(rows[k]) for k in ("none", "floor", "ads"))
        paired = statistics.median(a - f for a, f in zip(rows["ads"], rows["floor"], strict=True))
        print(
            f"{name:<14}{none:>10.2f}{floor:>10.2f}{ads:>10.2f}{ads - floor:>+10.2f}"
            f"{paired:>+10.2f}"
        )
    print()
    print(
        "Auth step alone (requests: __call__; httpx: sync_auth_flow to its first yield on a "
        "fresh Request, which both columns build), best of 15 interleaved runs, ns:"
    )
    print(f"{'stack':<14}{'floor':>10}{'AdsAuth':>10}{'vs floor':>10}")
    for name, floor_ns, ads_ns in isolated():
        print(f"{name:<14}{floor_ns:>10.0f}{ads_ns:>10.0f}{ads_ns - floor_ns:>+10.0f}")


def isolated() -> list[tuple[str, float, float]]:
    """The auth step alone, without the client around it: far less noisy than full stacks.

    requests: the auth's __call__ on a prepared request. httpx/httpx2: `sync_auth_flow`
    driven to its first yield on a fresh Request (building the Request is in both columns).
    Best of 15 interleaved runs, so both columns see the same machine state.
    """
    rows = []
    ads = fresh_auth()
    prepared = requests.Request("GET", URL).prepare()

    def requests_call(auth: Any) -> Callable[[], object]:
        def call() -> object:
            prepared.hooks["response"].clear()
            return auth(prepared)

        return call

    candidates: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
        ("requests", requests_call(StaticRequestsAuth()), requests_call(ads))
    ]
    for name in ("httpx", "httpx2"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue

        def first_yield(auth: Any, module: Any = module) -> Callable[[], object]:
            def call() -> object:
                return next(auth.sync_auth_flow(module.Request("GET", URL)))

            return call

        candidates.append((name, first_yield(static_httpx_auth(module)), first_yield(ads)))
    for name, floor_call, ads_call in candidates:
        best = {"floor": float("inf"), "ads": float("inf")}
        for _ in range(15):
            for key, call in (("floor", floor_call), ("ads", ads_call)):
                seconds = min(timeit.repeat(call, number=20000, repeat=1)) / 20000
                best[key] = min(best[key], seconds * 1e9)
        rows.append((name, best["floor"], best["ads"]))
    return rows


if __name__ == "__main__":
    main()
