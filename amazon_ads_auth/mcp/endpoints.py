"""Amazon's Ads MCP server as data: hosts, paths, header names, and what a token error
looks like. Everything here comes from second-hand documentation (a mirror of Amazon's MCP
pages, vendor blogs, community bridges), so it lives in one value that can be replaced
(`McpEndpoints(...)`, `dataclasses.replace(AMAZON_MCP, ...)`) instead of in the logic.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from .._logins.resolve import ENV
from .._regions import Region
from .._urls import require_secure_url

MCP_URL_VARIABLE = ENV["mcp_url"]


@dataclasses.dataclass(frozen=True)
class McpEndpoints:
    """Where Amazon's Ads MCP server is and which headers it reads."""

    hosts: Mapping[Region, str] = dataclasses.field(
        default_factory=lambda: {
            Region.NA: "https://advertising-ai.amazon.com",
            Region.EU: "https://advertising-ai-eu.amazon.com",
            Region.FE: "https://advertising-ai-fe.amazon.com",
        }
    )
    path: str = "/mcp"
    lite_path: str = "/mcp/lite"
    client_id_header: str = "Amazon-Ads-ClientId"
    mode_header: str = "Amazon-Ads-AI-Account-Selection-Mode"
    fixed_mode: str = "FIXED"
    profile_header: str = "Amazon-Advertising-API-Scope"
    account_header: str = "Amazon-Ads-AccountID"
    manager_account_header: str = "Amazon-Ads-Manager-AccountID"
    # A JSON-RPC error (HTTP 200 or 4xx) that means "the token expired or is not valid":
    # Amazon's exact answer is not documented, so both the codes and the words are data.
    token_error_codes: frozenset[int] = frozenset({-32001, 401})
    token_error_words: tuple[str, ...] = (
        "token expired",
        "expired token",
        "invalid token",
        "invalid access token",
        "access token is invalid",
        "unauthenticated",
    )

    def url(self, region: Region | str = Region.NA, *, lite: bool = False) -> str:
        """The MCP endpoint of `region` (the lite one with `lite`)."""
        return self.hosts[Region.parse(region)] + (self.lite_path if lite else self.path)

    def is_token_error(self, error: object) -> bool:
        """Whether a JSON-RPC `error` object says the access token expired or is invalid."""
        if not isinstance(error, Mapping):
            return False
        code = error.get("code")
        if isinstance(code, int) and not isinstance(code, bool) and code in self.token_error_codes:
            return True
        message = error.get("message")
        if not isinstance(message, str):
            return False
        lowered = message.lower()
        return any(word in lowered for word in self.token_error_words)


AMAZON_MCP = McpEndpoints()


def mcp_url(
    url: str | None,
    region: Region | str,
    *,
    lite: bool = False,
    endpoints: McpEndpoints = AMAZON_MCP,
) -> str:
    """The MCP URL to use: `url` when given (https, or http to loopback), else the region's
    Amazon URL.

    Raises: ConfigurationError for a URL that is not https (or loopback http)."""
    if url is None or not url.strip():
        return endpoints.url(region, lite=lite)
    checked = require_secure_url(url.strip(), "the MCP URL")
    if lite:  # a URL of your own that ends in the full path: its lite sibling
        base = checked.rstrip("/")
        if base.endswith(endpoints.path) and not base.endswith(endpoints.lite_path):
            return base[: -len(endpoints.path)] + endpoints.lite_path
    return checked
