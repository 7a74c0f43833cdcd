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

from .accounts import Fixed
from .auth import McpAuth
from .endpoints import AMAZON_MCP, MCP_URL_VARIABLE, McpEndpoints, mcp_url

__all__ = ["AMAZON_MCP", "MCP_URL_VARIABLE", "Fixed", "McpAuth", "McpEndpoints", "mcp_url"]
