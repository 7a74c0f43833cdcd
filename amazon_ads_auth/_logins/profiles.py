"""`GET /v2/profiles`: which advertising profiles a grant can act for.

It takes any requests auth (an AdsAuth, or anything that sets the Ads API headers), so the
login records can be filled in without this module knowing AdsAuth.
"""

from __future__ import annotations

from typing import Any

import requests

from .._errors import ConfigurationError
from .._redact import mask_url, printable


def fetch_profiles(auth: requests.auth.AuthBase, api_url: str) -> list[dict[str, Any]]:
    """The profile objects `GET {api_url}/v2/profiles` returns with `auth`.

    Raises: ConfigurationError (with the API's words) if the API refuses or is unreachable.
    """
    try:
        response = requests.get(f"{api_url.rstrip('/')}/v2/profiles", auth=auth, timeout=30)
    except requests.RequestException as exc:
        raise ConfigurationError(
            f"the Ads API at {mask_url(api_url)} could not be reached ({type(exc).__name__}): "
            "check the region and your network"
        ) from None
    if response.status_code != 200:
        try:
            details = response.json().get("details", "")
        except (ValueError, AttributeError):
            details = ""
        raise ConfigurationError(
            f"GET /v2/profiles answered HTTP {response.status_code}"
            + (f" ({printable(str(details))[:200]})" if details else "")
            + ": check the region and that the client is approved for the Ads API"
        )
    try:
        data = response.json()
    except ValueError:
        data = []
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []
