"""Test helpers: the Login with Amazon and Ads API emulator, and the store contract kit.

Nothing in the library itself imports this package (the CLI's `--emulator` loads it on
demand).

    with Emulator() as emu:
        refresh_token = emu.issue_refresh_token()
        auth = AdsAuth(emu.client_id, emu.client_secret, refresh_token, **emu.auth_kwargs())
        httpx.get(emu.api_url + "/v2/profiles", auth=auth)

    check_token_store(lambda: MyStore(...))   # the TokenStore contract, against your store
"""

from __future__ import annotations

from ._accounts import account_profile
from ._clock import FakeClock
from ._emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_SIGNING_KEY, Emulator
from ._faults import Fault
from ._reroute import UnroutableHostError
from ._routes import ApiRequest, ApiResponse, Headers
from ._sandbox import Sandbox, sandbox_profiles
from ._server import RecordingServer
from .store_contract import StoreContractError, check_token_store

__all__ = [
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_SIGNING_KEY",
    "ApiRequest",
    "ApiResponse",
    "Emulator",
    "FakeClock",
    "Fault",
    "Headers",
    "RecordingServer",
    "Sandbox",
    "StoreContractError",
    "UnroutableHostError",
    "account_profile",
    "check_token_store",
    "sandbox_profiles",
]
