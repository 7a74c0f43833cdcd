"""Token requests made by python-amazon-ad-api, on its own and driven by AdsAuth.

    python bench/sdk.py [--threads 20] [--latency 0.05]

20 threads each build a client and list profiles, on a cold start (no cached token), against
the emulator under Amazon's real hostnames. On its own the SDK takes no lock, so threads
that miss its cache each make a token request; through `use_with_ad_api(auth)` they share
AdsAuth's single flight. Needs `pip install python-amazon-ad-api`.
"""

from __future__ import annotations

import argparse
import threading
from typing import Any

from amazon_ads_auth import AdsAuth
from amazon_ads_auth.integrations import ad_api_credentials, use_with_ad_api
from amazon_ads_auth.testing import Emulator


def run(emu: Emulator, threads: int, credentials: dict[str, str]) -> tuple[int, int]:
    from ad_api.api import Profiles
    from ad_api.auth import access_token_client
    from ad_api.base import Marketplaces

    access_token_client.cache.clear()  # a cold start: the SDK's module-level token cache
    emu.reset_counters()
    failures = [0]
    guard = threading.Lock()

    def call() -> None:
        try:
            client = Profiles(
                credentials=credentials,
                marketplace=Marketplaces.NA,
                verify_additional_credentials=False,
            )
            ok = bool(client.list_profiles().payload)
        except Exception:
            ok = False
        with guard:
            failures[0] += 0 if ok else 1

    workers = [threading.Thread(target=call) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return emu.token_request_count, failures[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.05)
    options = parser.parse_args()
    rows: list[tuple[str, Any, Any]] = []
    with Emulator() as emu, emu.amazon_hosts():
        emu.token_latency = options.latency
        refresh_token = emu.issue_refresh_token()
        own = {
            "client_id": emu.client_id,
            "client_secret": emu.client_secret,
            "refresh_token": refresh_token,
        }
        rows.append(("python-amazon-ad-api on its own", *run(emu, options.threads, own)))
        auth = AdsAuth(emu.client_id, emu.client_secret, refresh_token)
        undo = use_with_ad_api(auth)
        try:
            credentials = ad_api_credentials(auth)
            rows.append(("through use_with_ad_api(auth)", *run(emu, options.threads, credentials)))
        finally:
            undo()
    print(f"{options.threads} threads, cold start, {options.latency:g} s token latency")
    print(f"{'client':<34}{'token requests':>16}{'failed calls':>14}")
    for name, requests_made, failed in rows:
        print(f"{name:<34}{requests_made:>16}{failed:>14}")


if __name__ == "__main__":
    main()
