"""`check` over many grants: 1,000 grants against the emulator (over loopback HTTP) with
50 ms of token-endpoint latency each.

    python bench/check.py [--grants 1000] [--latency 0.05] [--concurrency 8] [--store file]

Prints the wall time of `check_grants` (the target: under 60 s on a 2-core machine), the
token requests the emulator saw (the target: exactly one per grant) and the states found.
A few grants are revoked, expired or failing, so every path is exercised.
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import time

from amazon_ads_auth import FileTokenStore, MemoryTokenStore, Token, TokenStore, check_grants
from amazon_ads_auth._logins.records import Login, save_login
from amazon_ads_auth.testing import Emulator


def fill(emu: Emulator, store: TokenStore, grants: int) -> None:
    for n in range(grants):
        refresh_token = emu.issue_refresh_token()
        store_key = f"advertiser-{n:05d}"
        store.save(f"{emu.client_id}/{store_key}", Token("Atza|stale", refresh_token, 1.0))
        login = Login(
            client_id=emu.client_id,
            store_key=store_key,
            token_url=emu.token_url,
            api_url=emu.api_url,
            client_secret=emu.client_secret,
        )
        save_login(store, login)
        if n % 100 == 1:
            emu.revoke_refresh_token(refresh_token)
        elif n % 100 == 2:
            emu.fail_refresh(refresh_token, 503, times=4)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--grants", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--store", choices=("memory", "file"), default="memory")
    args = parser.parse_args()
    with Emulator() as emu, tempfile.TemporaryDirectory() as folder:
        store: TokenStore = FileTokenStore(folder) if args.store == "file" else MemoryTokenStore()
        fill(emu, store, args.grants)
        emu.token_latency = args.latency
        emu.reset_counters()
        started = time.perf_counter()
        results = check_grants(store, concurrency=args.concurrency, retry_backoff=0.0)
        elapsed = time.perf_counter() - started
        states = collections.Counter(r.state.value for r in results)
        print(
            f"{len(results)} grants, {args.store} store, {args.latency * 1000:.0f} ms token "
            f"latency, concurrency {args.concurrency}: {elapsed:.1f} s "
            f"({'under' if elapsed < 60 else 'OVER'} the 60 s target)"
        )
        print(f"token requests: {emu.token_request_count} (grants: {len(results)})")
        print("states:", dict(sorted(states.items())))


if __name__ == "__main__":
    main()
