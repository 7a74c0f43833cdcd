"""Token requests made by Ads SDKs, on their own and driven by AdsAuth.

    python bench/sdk.py [--threads 20] [--latency 0.05]

20 threads (20 tasks for the async SDK) each build a client and list profiles, on a cold
start (no cached token), against the emulator. python-amazon-ad-api runs here (it reaches
the emulator under Amazon's real hostnames); amazon-ads-api-v1 and amazon-ads-api need
Python 3.13 / 3.12 and run in a venv of the newest interpreter the machine has (as their
tests do), skipped when there is none. Needs `pip install python-amazon-ad-api`.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
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


NEWER_SDKS: dict[str, tuple[tuple[int, int], str, str, str]] = {
    # name: (minimum Python, package, script on its own, script through AdsAuth)
    "amazon-ads-api-v1": (
        (3, 13),
        "amazon-ads-api-v1==0.11.0",
        """
        import json, sys, threading
        from ads_api.client import AdsClient
        from ads_api.config.settings import AmazonAdsConfig
        g = json.load(sys.stdin)
        def call():
            config = AmazonAdsConfig(client_id=g["client_id"], client_secret=g["client_secret"],
                                     refresh_token=g["refresh_token"], token_url=g["token_url"],
                                     endpoints={"na": g["api_url"]})
            ok.append(AdsClient(config).v0.accounts.profiles.list_profiles())
        ok = []
        threads = [threading.Thread(target=call) for _ in range(g["threads"])]
        [t.start() for t in threads]; [t.join() for t in threads]
        print(json.dumps(len(ok)))
        """,
        """
        import json, sys, threading
        from ads_api.client import AdsClient
        from amazon_ads_auth import AdsAuth
        from amazon_ads_auth.integrations import ads_api_v1_config, use_with_ads_api_v1
        g = json.load(sys.stdin)
        auth = AdsAuth(g["client_id"], g["client_secret"], g["refresh_token"],
                       token_url=g["token_url"], api_hosts=[g["api_host"]])
        def call():
            client = AdsClient(ads_api_v1_config(auth, endpoints={"na": g["api_url"]}))
            use_with_ads_api_v1(auth, client)
            ok.append(client.v0.accounts.profiles.list_profiles())
        ok = []
        threads = [threading.Thread(target=call) for _ in range(g["threads"])]
        [t.start() for t in threads]; [t.join() for t in threads]
        print(json.dumps(len(ok)))
        """,
    ),
    "amazon-ads-api (async)": (
        (3, 12),
        "amazon-ads-api==1.0.0",
        """
        import asyncio, json, sys
        from amazon_ads_api import AmazonAdsClient
        from amazon_ads_api.base import AsyncTokenManager
        g = json.load(sys.stdin)
        AsyncTokenManager.TOKEN_URL = g["token_url"]  # the one place it names LwA
        async def one():
            api = AmazonAdsClient(g["client_id"], g["client_secret"], g["refresh_token"])
            profiles = api.accounts.profiles
            profiles.base_url = g["api_url"]  # its regions are an enum: no URL override
            return await profiles.list_profiles()
        async def main():
            return await asyncio.gather(*(one() for _ in range(g["threads"])))
        print(json.dumps(len(asyncio.run(main()))))
        """,
        """
        import asyncio, json, sys
        from amazon_ads_api import AmazonAdsClient
        from amazon_ads_auth import AdsAuth
        from amazon_ads_auth.integrations import use_with_amazon_ads_api
        g = json.load(sys.stdin)
        auth = AdsAuth(g["client_id"], g["client_secret"], g["refresh_token"],
                       token_url=g["token_url"], api_hosts=[g["api_host"]])
        use_with_amazon_ads_api(auth, base_url=g["api_url"])
        async def one():
            api = AmazonAdsClient(auth.client_id, "-", "-")
            return await api.accounts.profiles.list_profiles()
        async def main():
            return await asyncio.gather(*(one() for _ in range(g["threads"])))
        print(json.dumps(len(asyncio.run(main()))))
        """,
    ),
}


def newer_sdk_rows(threads: int, latency: float) -> list[tuple[str, Any, Any]]:
    """Both modes of each newer SDK, in its venv, against a fresh emulator each run."""
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
    from tests.newer_python import newest_python, run_script, sdk_python

    rows: list[tuple[str, Any, Any]] = []
    for name, (minimum, package, own, through) in NEWER_SDKS.items():
        if newest_python(minimum) is None:
            rows.append((f"{name}: no Python {minimum[0]}.{minimum[1]}", "-", "-"))
            continue
        python = sdk_python(minimum, package)
        for label, script in ((f"{name} on its own", own), (f"{name} through AdsAuth", through)):
            with Emulator() as emu:
                emu.token_latency = latency
                given = {
                    "client_id": emu.client_id,
                    "client_secret": emu.client_secret,
                    "refresh_token": emu.issue_refresh_token(),
                    "token_url": emu.token_url,
                    "api_host": emu.api_host,
                    "api_url": emu.api_url,
                    "threads": threads,
                }
                try:
                    failed: Any = threads - run_script(python, script, **given)
                except AssertionError:
                    failed = "run failed"
                rows.append((label, emu.token_request_count, failed))
    return rows


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
    rows.extend(newer_sdk_rows(options.threads, options.latency))
    print(f"{options.threads} threads, cold start, {options.latency:g} s token latency")
    print(f"{'client':<40}{'token requests':>16}{'failed calls':>14}")
    for name, requests_made, failed in rows:
        print(f"{name:<40}{requests_made!s:>16}{failed!s:>14}")


if __name__ == "__main__":
    main()
