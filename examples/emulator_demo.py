"""Run AdsAuth end to end against the local emulator: no Amazon account needed.

python examples/emulator_demo.py
"""

from __future__ import annotations

import asyncio

import httpx
import requests

from amazon_ads_auth import AdsAuth
from amazon_ads_auth.testing import Emulator


def main() -> None:
    with Emulator() as emu:
        refresh_token = emu.issue_refresh_token()  # as if the user had consented
        auth = AdsAuth(emu.client_id, emu.client_secret, refresh_token, **emu.auth_kwargs())

        profiles = requests.get(f"{emu.api_url}/v2/profiles", auth=auth, timeout=10).json()
        profile_id = profiles[0]["profileId"]
        print(f"requests: {len(profiles)} profile(s), first {profile_id}")

        with httpx.Client(auth=auth.with_profile(profile_id)) as client:
            print("httpx:", client.post(f"{emu.api_url}/sp/campaigns/list", json={}).json())

        async def run() -> None:
            async with httpx.AsyncClient(auth=auth.with_profile(profile_id)) as client:
                answers = await asyncio.gather(
                    *(client.post(f"{emu.api_url}/sp/campaigns/list", json={}) for _ in range(20))
                )
                print("httpx async:", {r.status_code for r in answers}, "x", len(answers))

        asyncio.run(run())
        print("token requests made:", emu.token_request_count)


if __name__ == "__main__":
    main()
