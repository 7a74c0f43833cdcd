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

from typing import TYPE_CHECKING

from .. import _export_lazily

_WHERE = {
    "DEMO_CLIENT_ID": "_emulator",
    "DEMO_CLIENT_SECRET": "_emulator",
    "DEMO_SIGNING_KEY": "_emulator",
    "ApiRequest": "_routes",
    "ApiResponse": "_routes",
    "Emulator": "_emulator",
    "FakeClock": "_clock",
    "Fault": "_faults",
    "Headers": "_routes",
    "RecordingServer": "_server",
    "Sandbox": "_sandbox",
    "StoreContractError": "store_contract",
    "UnroutableHostError": "_reroute",
    "account_profile": "_accounts",
    "check_token_store": "store_contract",
    "mcp_endpoint": "_mcp",
    "sandbox_profiles": "_sandbox",
}

if TYPE_CHECKING:
    from ._accounts import account_profile as account_profile
    from ._clock import FakeClock as FakeClock
    from ._emulator import DEMO_CLIENT_ID as DEMO_CLIENT_ID
    from ._emulator import DEMO_CLIENT_SECRET as DEMO_CLIENT_SECRET
    from ._emulator import DEMO_SIGNING_KEY as DEMO_SIGNING_KEY
    from ._emulator import Emulator as Emulator
    from ._faults import Fault as Fault
    from ._mcp import mcp_endpoint as mcp_endpoint
    from ._reroute import UnroutableHostError as UnroutableHostError
    from ._routes import ApiRequest as ApiRequest
    from ._routes import ApiResponse as ApiResponse
    from ._routes import Headers as Headers
    from ._sandbox import Sandbox as Sandbox
    from ._sandbox import sandbox_profiles as sandbox_profiles
    from ._server import RecordingServer as RecordingServer
    from .store_contract import StoreContractError as StoreContractError
    from .store_contract import check_token_store as check_token_store

__all__, __getattr__, __dir__ = _export_lazily(__name__, _WHERE)
