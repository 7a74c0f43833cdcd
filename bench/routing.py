"""Agency routing: one file store with many logins, each owning several profiles.

    python bench/routing.py [--logins 1000] [--profiles 10]

It writes the logins (grant plus record) into a temporary FileTokenStore, then times
`LoginDirectory(store)` with its first listing (load), and `auth_for(profile)` for every
profile: the first call per profile (index lookup, one AdsAuth per login, one view per
profile) and the second (the cached view). No token request is made.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from amazon_ads_auth import FileTokenStore, LoginDirectory, Token
from amazon_ads_auth._logins.records import Login

CLIENT_ID = "amzn1.application-oa2-client.bench"


def fill(store: FileTokenStore, logins: int, profiles: int) -> list[int]:
    every = []
    for n in range(logins):
        key = f"advertiser-{n:04d}"
        store.save(f"{CLIENT_ID}/{key}", Token(f"Atza|{n}", f"Atzr|{n}", time.time() + 3000))
        ids = [10_000_000 + n * profiles + p for p in range(profiles)]
        every += ids
        record = Login(CLIENT_ID, key, client_secret="bench-secret").with_profiles(
            [{"profileId": pid, "countryCode": "US"} for pid in ids]
        )
        store.save_login(record.key, record.to_record())
    return every


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=1000)
    parser.add_argument("--profiles", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = FileTokenStore(folder)
        profiles = fill(store, args.logins, args.profiles)
        loads = []
        for _ in range(5):
            started = time.perf_counter()
            directory = LoginDirectory(FileTokenStore(folder))
            directory.logins()
            loads.append(time.perf_counter() - started)
        started = time.perf_counter()
        for pid in profiles:
            directory.auth_for(pid)
        first = (time.perf_counter() - started) / len(profiles)
        started = time.perf_counter()
        for pid in profiles:
            directory.auth_for(pid)
        again = (time.perf_counter() - started) / len(profiles)
    print(f"{args.logins} logins x {args.profiles} profiles in one file store")
    print(f"LoginDirectory() and its listing: median {statistics.median(loads) * 1000:.0f} ms")
    print(f"auth_for, first call per profile: {first * 1e6:.1f} us")
    print(f"auth_for, again: {again * 1e6:.2f} us")


if __name__ == "__main__":
    main()
