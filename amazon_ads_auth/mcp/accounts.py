"""Which advertising account an MCP session works on, as a typed value.

Amazon's MCP server has two modes: by default the assistant picks accounts through tools;
"fixed" mode pins one account with `Amazon-Ads-AI-Account-Selection-Mode: FIXED` plus one
of three headers. `Fixed(...)` is that choice; `None` is the default mode.
"""

from __future__ import annotations

import dataclasses

from .._auth.settings import account_text, profile_text
from .._errors import ConfigurationError
from .endpoints import AMAZON_MCP, McpEndpoints


@dataclasses.dataclass(frozen=True)
class Fixed:
    """Fixed account mode: exactly one of a profile id (sent as
    `Amazon-Advertising-API-Scope`), an account id (`Amazon-Ads-AccountID`) or a manager
    account id (`Amazon-Ads-Manager-AccountID`).

    Raises: ConfigurationError when not exactly one is given, or one is not usable (a
    profile id that is not digits, a value with a line break)."""

    profile_id: int | str | None = None
    account_id: str | None = None
    manager_account_id: str | None = None

    def __post_init__(self) -> None:
        given = [
            v for v in (self.profile_id, self.account_id, self.manager_account_id) if v is not None
        ]
        if len(given) != 1:
            raise ConfigurationError(
                "Fixed(...) takes exactly one of profile_id=, account_id= or "
                f"manager_account_id= (got {len(given)}); use account=None for Amazon's "
                "default mode, where the assistant picks accounts"
            )
        object.__setattr__(self, "profile_id", profile_text(self.profile_id))
        if self.account_id is not None:
            object.__setattr__(self, "account_id", account_text(self.account_id))
        if self.manager_account_id is not None:
            checked = account_text(self.manager_account_id)
            object.__setattr__(self, "manager_account_id", checked)

    def headers(self, endpoints: McpEndpoints = AMAZON_MCP) -> dict[str, str]:
        """The account-selection headers for this choice."""
        if self.profile_id is not None:
            name, value = endpoints.profile_header, str(self.profile_id)
        elif self.account_id is not None:
            name, value = endpoints.account_header, self.account_id
        else:
            name, value = endpoints.manager_account_header, str(self.manager_account_id)
        return {endpoints.mode_header: endpoints.fixed_mode, name: value}

    @property
    def label(self) -> str:
        """The chosen id, for the token manager's "a refresh did not help here" memory."""
        return str(self.profile_id or self.account_id or self.manager_account_id)


def account_headers(account: Fixed | None, endpoints: McpEndpoints = AMAZON_MCP) -> dict[str, str]:
    """The account-selection headers (none for the default mode).

    Raises: ConfigurationError when `account` is neither a `Fixed` nor None."""
    if account is None:
        return {}
    if not isinstance(account, Fixed):
        raise ConfigurationError(
            "account must be Fixed(profile_id=...), Fixed(account_id=...), "
            f"Fixed(manager_account_id=...) or None, got {type(account).__name__}"
        )
    return account.headers(endpoints)
