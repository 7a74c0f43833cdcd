"""Test helpers: the Login with Amazon and Ads API emulator, and the store contract kit.

Nothing in the library itself imports this package.

    with Emulator() as emu:
        refresh_token = emu.issue_refresh_token()
        auth = AdsAuth(emu.client_id, emu.client_secret, refresh_token, **emu.auth_kwargs())
        httpx.get(emu.api_url + "/v2/profiles", auth=auth)

    check_token_store(lambda: MyStore(...))   # the TokenStore contract, against your store
"""

from __future__ import annotations

from ._emulator import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_SIGNING_KEY,
    Emulator,
    FakeClock,
    Fault,
    RecordingServer,
    Sandbox,
)
from .store_contract import StoreContractError, check_token_store

__all__ = [
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_SIGNING_KEY",
    "Emulator",
    "FakeClock",
    "Fault",
    "RecordingServer",
    "Sandbox",
    "StoreContractError",
    "check_token_store",
]
