"""Rollover: what API calls feel while the access token is replaced, and during an outage.

    python bench/rollover.py [--threads 16] [--lifetime 6] [--margin 4] [--latency 0.4]

16 threads share one client (requests) and call the emulator's Ads API for `--seconds`;
tokens live `--lifetime` seconds and token requests take `--latency` seconds. For each
client it prints the calls that waited (took longer than half the token latency), the
slowest call and p99, failed calls, and token requests. The outage run answers every token
request with 503 for 3 s inside the first token's refresh margin.

Peers wired as their docs suggest: requests-oauthlib's OAuth2Session (auto_refresh_url,
token_updater; it refreshes once the token has expired) and Authlib's OAuth2Session
(token_endpoint, update_token, leeway = the margin). Install them with `.[bench]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from amazon_ads_auth import AdsAuth
from amazon_ads_auth.testing import Emulator

# requests-oauthlib refuses plain http unless told; the emulator is on loopback. (Set here,
# for this benchmark process only: the library itself never sets it.)
os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"


def _peer_token(emu: Emulator, refresh_token: str) -> dict[str, Any]:
    answer = requests.post(
        emu.token_url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": emu.client_id,
            "client_secret": emu.client_secret,
        },
        timeout=30,
    ).json()
    answer["expires_at"] = time.time() + answer["expires_in"]
    return dict(answer)


def make_call(
    peer: str, emu: Emulator, margin: float, threads: int
) -> Callable[[], requests.Response]:
    """One shared client for `peer`; returns call() -> response."""
    url = emu.api_url + "/v2/profiles"
    refresh_token = emu.issue_refresh_token()
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=threads)
    if peer == "AdsAuth":
        auth = AdsAuth(
            emu.client_id,
            emu.client_secret,
            refresh_token,
            refresh_margin=margin,
            **emu.auth_kwargs(),
        )
        auth.ensure_token()
        session = requests.Session()
        session.mount("http://", adapter)
        return lambda: session.get(url, auth=auth, timeout=60)
    headers = {"Amazon-Advertising-API-ClientId": emu.client_id}
    token = _peer_token(emu, refresh_token)
    if peer == "requests-oauthlib":
        from requests_oauthlib import OAuth2Session

        oauth = OAuth2Session(
            emu.client_id,
            token=token,
            auto_refresh_url=emu.token_url,
            auto_refresh_kwargs={"client_id": emu.client_id, "client_secret": emu.client_secret},
            token_updater=lambda new: None,
        )
        oauth.mount("http://", adapter)
        return lambda: oauth.get(url, headers=headers, timeout=60)
    from authlib.integrations.requests_client import OAuth2Session as AuthlibSession

    session_a = AuthlibSession(
        emu.client_id,
        emu.client_secret,
        token=token,
        token_endpoint=emu.token_url,
        update_token=lambda *a, **k: None,
        leeway=int(margin),
    )
    session_a.mount("http://", adapter)
    return lambda: session_a.get(url, headers=headers, timeout=60)


def run(
    peer: str,
    *,
    threads: int,
    lifetime: int,
    margin: float,
    latency: float,
    seconds: float,
    outage: bool,
) -> dict[str, Any]:
    with Emulator(access_token_lifetime=lifetime) as emu:
        emu.token_latency = latency
        call = make_call(peer, emu, margin, threads)
        emu.reset_counters()
        start = time.monotonic()
        durations: list[float] = []
        failures = [0]
        guard = threading.Lock()
        if outage:  # 3 s of 503s, starting 0.5 s into the first token's margin
            begin = max(0.0, lifetime - margin + 0.5 - latency)
            threading.Timer(begin, setattr, (emu, "token_outage", 503)).start()
            threading.Timer(begin + 3, setattr, (emu, "token_outage", None)).start()

        def worker() -> None:
            while time.monotonic() - start < seconds:
                began = time.monotonic()
                try:
                    ok = call().status_code == 200
                except Exception:
                    ok = False
                took = time.monotonic() - began
                with guard:
                    durations.append(took)
                    failures[0] += 0 if ok else 1
                time.sleep(0.05)  # pacing: each thread calls about 20 times a second

        workers = [threading.Thread(target=worker) for _ in range(threads)]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
        durations.sort()
        return {
            "calls": len(durations),
            "waited": sum(1 for d in durations if d > latency / 2),
            "max_ms": durations[-1] * 1000,
            "p99_ms": durations[int(len(durations) * 0.99) - 1] * 1000,
            "median_ms": statistics.median(durations) * 1000,
            "failed": failures[0],
            "token_requests": emu.token_request_count,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--lifetime", type=int, default=6)
    parser.add_argument("--margin", type=float, default=4)
    parser.add_argument("--latency", type=float, default=0.4)
    parser.add_argument("--seconds", type=float, default=20)
    options = parser.parse_args()
    peers = ["AdsAuth"]
    for module, name in (("requests_oauthlib", "requests-oauthlib"), ("authlib", "Authlib")):
        try:
            __import__(module)
            peers.append(name)
        except ImportError:
            print(f"({name} is not installed: pip install -e '.[bench]')")
    print(
        f"{options.threads} threads, tokens live {options.lifetime} s, margin "
        f"{options.margin:g} s, token latency {options.latency:g} s, {options.seconds:g} s "
        "per run; 'waited' = calls slower than half the token latency"
    )
    print(
        f"{'scenario':<9}{'client':<20}{'calls':>7}{'waited':>8}{'max ms':>9}{'p99 ms':>9}"
        f"{'failed':>8}{'token reqs':>12}"
    )
    for outage in (False, True):
        for peer in peers:
            row = run(
                peer,
                threads=options.threads,
                lifetime=options.lifetime,
                margin=options.margin,
                latency=options.latency,
                seconds=options.seconds if not outage else options.lifetime + 4,
                outage=outage,
            )
            print(
                f"{'outage' if outage else 'rollover':<9}{peer:<20}{row['calls']:>7}"
                f"{row['waited']:>8}{row['max_ms']:>9.0f}{row['p99_ms']:>9.0f}"
                f"{row['failed']:>8}{row['token_requests']:>12}"
            )


if __name__ == "__main__":
    main()
