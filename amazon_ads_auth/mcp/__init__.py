"""Amazon's Ads MCP server without hourly token pasting.

- `McpAuth`: an httpx / httpx2 auth for the MCP endpoint, built from any login
  (`McpAuth.from_login()`, `from_env()`, `McpAuth(ads_auth)`); plugs into the `mcp` SDK's
  `streamable_http_client(url, http_client=httpx2.AsyncClient(auth=...))`.
- `Fixed(...)`: fixed account mode; None is Amazon's default mode.
- `McpEndpoints` / `AMAZON_MCP`: hosts, paths and header names as data (second-hand).
- `amazon-ads-auth mcp stdio | proxy | config`: the bridge, the loopback proxy and the
  assistant configuration (`amazon_ads_auth.mcp.bridge`, `.proxy`, `.config`).

Nothing here imports the `mcp` SDK; the bridge and the proxy need httpx2 (the `[mcp]` extra).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import _export_lazily

_WHERE = {
    "AMAZON_MCP": "endpoints",
    "MCP_URL_VARIABLE": "endpoints",
    "Fixed": "accounts",
    "McpAuth": "auth",
    "McpEndpoints": "endpoints",
    "mcp_url": "endpoints",
}

if TYPE_CHECKING:
    from .accounts import Fixed as Fixed
    from .auth import McpAuth as McpAuth
    from .endpoints import AMAZON_MCP as AMAZON_MCP
    from .endpoints import MCP_URL_VARIABLE as MCP_URL_VARIABLE
    from .endpoints import McpEndpoints as McpEndpoints
    from .endpoints import mcp_url as mcp_url

__all__, __getattr__, __dir__ = _export_lazily(__name__, _WHERE)
