"""The web consent flow: what Connect and the callback cost, and what they ask of Amazon.

    python bench/web_flow.py [--tenants 50]

Times `begin()` (the consent URL and the signed cookie) and the checks `complete()` runs
before any I/O (the cookie's signature and expiry, state, tenant), then connects
`--tenants` tenants against the emulator on loopback (threads, all at once) into one
FileTokenStore and counts the requests Amazon saw: one code exchange and one profile list
per tenant, and no refresh.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import statistics
import tempfile
import time
from typing import Any

import requests

from amazon_ads_auth import FileTokenStore
from amazon_ads_auth.testing import Emulator, account_profile
from amazon_ads_auth.web import ConsentFlow
from amazon_ads_auth.web._checks import check_callback
from amazon_ads_auth.web._cookie import unseal

KEY = "bench-secret-key-" + "0" * 32


def per_call(function: Any, rounds: int = 20_000) -> float:
    """Median microseconds per call, over 5 runs."""
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(rounds // 5):
            function()
        runs.append((time.perf_counter() - started) / (rounds // 5) * 1e6)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=50)
    tenants = parser.parse_args().tenants
    with Emulator() as emu, tempfile.TemporaryDirectory() as folder:
        emu.new_account_per_consent(lambda n: [account_profile(n, f"Advertiser {n}")])
        flow = ConsentFlow(
            emu.client_id,
            emu.client_secret,
            store=FileTokenStore(folder),
            redirect_uri="http://127.0.0.1:8000/amazon-ads/callback",
            secret_key=KEY,
            **emu.consent_flow_kwargs(),
        )
        start = flow.begin("acme-42", return_to="/settings")
        state = start.url.split("state=")[1].split("&")[0]
        callback = f"{flow.redirect_uri}?code=ANcode&state={state}"

        def checks() -> None:
            consent = unseal(
                start.cookie_value, KEY.encode(), now=time.time(), client_id=emu.client_id
            )
            check_callback(callback, consent, "acme-42")

        print(f"begin():            {per_call(lambda: flow.begin('acme-42')):7.1f} us")
        print(f"complete()'s checks: {per_call(checks):7.1f} us (before any I/O)")

        def connect(n: int) -> None:
            started = flow.begin(f"tenant-{n}")
            page = requests.get(started.url, allow_redirects=False, timeout=30)
            flow.complete(page.headers["location"], started.cookie_value, tenant=f"tenant-{n}")

        began = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(connect, range(tenants)))
        took = time.perf_counter() - began
        logins = list(flow.directory())
        print(
            f"{tenants} tenants connected in {took:.2f} s (8 at a time): {len(logins)} logins, "
            f"token requests {dict(emu.token_requests)}, Ads API requests "
            f"{sum(emu.api_requests.values())}"
        )


if __name__ == "__main__":
    main()
