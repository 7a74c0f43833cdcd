"""Amazon Ads regions and their Login with Amazon / Ads API endpoints."""

from __future__ import annotations

import enum

from ._errors import ConfigurationError


class Region(enum.Enum):
    """An Ads API region. `Region("EU")`, `Region("eu")` and `Region.EU` are the same."""

    NA = "na"
    EU = "eu"
    FE = "fe"

    @classmethod
    def _missing_(cls, value: object) -> Region | None:
        if isinstance(value, str):
            lowered = value.strip().lower()
            for member in cls:
                if member.value == lowered:
                    return member
        return None

    @classmethod
    def parse(cls, value: Region | str) -> Region:
        """Return the region for `value`, or raise ConfigurationError naming the valid ones."""
        try:
            return cls(value)
        except ValueError:
            shown = value[:20] if isinstance(value, str) else value  # it may come from a URL
            raise ConfigurationError(
                f"unknown region {shown!r}: use one of 'na', 'eu', 'fe'"
            ) from None

    @classmethod
    def is_one(cls, value: str) -> bool:
        """Whether `value` names a region (na, eu or fe, any case)."""
        try:
            cls(value.strip())
        except ValueError:
            return False
        return True

    @property
    def authorization_url(self) -> str:
        """The consent page users are sent to."""
        return _ENDPOINTS[self][0]

    @property
    def token_url(self) -> str:
        """The LwA token endpoint for code exchange and refresh."""
        return _ENDPOINTS[self][1]

    @property
    def api_url(self) -> str:
        """The Ads API base URL."""
        return _ENDPOINTS[self][2]


_ENDPOINTS: dict[Region, tuple[str, str, str]] = {
    Region.NA: (
        "https://www.amazon.com/ap/oa",
        "https://api.amazon.com/auth/o2/token",
        "https://advertising-api.amazon.com",
    ),
    Region.EU: (
        "https://eu.account.amazon.com/ap/oa",
        "https://api.amazon.co.uk/auth/o2/token",
        "https://advertising-api-eu.amazon.com",
    ),
    Region.FE: (
        "https://apac.account.amazon.com/ap/oa",
        "https://api.amazon.co.jp/auth/o2/token",
        "https://advertising-api-fe.amazon.com",
    ),
}

ADS_API_HOSTS: tuple[str, ...] = tuple(
    url.removeprefix("https://") for _, _, url in _ENDPOINTS.values()
)
