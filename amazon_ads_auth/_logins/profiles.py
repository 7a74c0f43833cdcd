"""`GET /v2/profiles`: which advertising profiles a grant can act for.

It takes any requests auth (an AdsAuth, or anything that sets the Ads API headers), so the
login records can be filled in without this module knowing AdsAuth.
"""

from __future__ import annotations

from typing import Any

import requests

from .._errors import ConfigurationError
from .._redact import excerpt, mask_url


def held_secrets(auth: object, response: requests.Response | None) -> list[str | None]:
    """Every token a call held: the bearer token it sent, and the auth's access and
    refresh tokens (an error text that echoes one of them is redacted)."""
    held: list[str | None] = []
    sent = response.request.headers.get("Authorization") if response is not None else None
    if isinstance(sent, str):
        held.append(sent.partition(" ")[2] or sent)
    token = getattr(auth, "token", None)
    held.extend(
        value
        for value in (getattr(token, "access_token", None), getattr(token, "refresh_token", None))
        if isinstance(value, str)
    )
    return held


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
        # Redacted (every token the call held) before it is cut short, logged or shown.
        shown = excerpt(str(details).encode(), held_secrets(auth, response)) if details else ""
        raise ConfigurationError(
            f"GET /v2/profiles answered HTTP {response.status_code}"
            + (f" ({shown})" if shown else "")
            + ": check the region and that the client is approved for the Ads API"
        )
    try:
        data = response.json()
    except ValueError:
        data = []
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []
