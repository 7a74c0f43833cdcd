"""Token requests when the token lives no longer than the refresh margin (the storm scenario).

    python bench/storm.py [--seconds 3] [--expires-in 60] [--margin 300]

The emulator issues `--expires-in` second tokens while AdsAuth's refresh margin is
`--margin`, so every token is inside its margin from the moment it arrives. One thread calls
`auth.headers()` in a loop for `--seconds` seconds, at 20 ms and at 0 ms token-endpoint
latency, after the first token request. It prints the token requests after that first one,
per second, and the calls that had to wait (over 5 ms). A background refresh must never
start before half of the token's own lifetime has passed, so the expected figure is 0.
"""

from __future__ import annotations

import argparse
import logging
import time

from amazon_ads_auth import AdsAuth
from amazon_ads_auth.testing import Emulator


def run(seconds: float, expires_in: int, margin: float, latency: float) -> tuple[int, int, int]:
    """(token requests, calls, calls slower than 5 ms) for one run."""
    with Emulator(access_token_lifetime=expires_in) as emulator:
        emulator.token_latency = latency
        refresh_token = emulator.issue_refresh_token()
        auth = AdsAuth(
            emulator.client_id,
            emulator.client_secret,
            refresh_token,
            refresh_margin=margin,
            **emulator.auth_kwargs(),
        )
        auth.headers()
        emulator.reset_counters()
        calls = waited = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            started = time.perf_counter()
            auth.headers()
            if time.perf_counter() - started > 0.005:
                waited += 1
            calls += 1
            time.sleep(0.001)  # a caller that does some work between API calls
        # Let a refresh still in flight finish, so it is counted.
        time.sleep(latency + 0.1)
        auth.close()
        return emulator.token_request_count, calls, waited


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--expires-in", type=int, default=60)
    parser.add_argument("--margin", type=float, default=300.0)
    args = parser.parse_args()
    logging.getLogger("amazon_ads_auth").setLevel(logging.ERROR)
    print(f"expires_in {args.expires_in} s, refresh_margin {args.margin:.0f} s, {args.seconds} s")
    print("| token latency | token requests after the first | per second | calls | waited |")
    print("|---:|---:|---:|---:|---:|")
    for latency in (0.020, 0.0):
        requests_made, calls, waited = run(args.seconds, args.expires_in, args.margin, latency)
        per_second = requests_made / args.seconds
        print(
            f"| {latency * 1000:.0f} ms | {requests_made} | {per_second:.1f} | {calls} | {waited} |"
        )


if __name__ == "__main__":
    main()
