"""Checking AdsAuth's arguments and reading them from the environment.

Bad input is refused at construction with a ConfigurationError that names the setting,
rather than failing later on the wire (a CR, LF or NUL in a header value) or, worse, being
sent (a profile id "-5").
"""

from __future__ import annotations

import math
import os
from typing import Any

from ._errors import ConfigurationError
from ._limits import EXPECTED_TOKEN_LIFETIME
from ._open_store import open_store

_ENV_SETTINGS = (
    ("client_id", "AMAZON_ADS_CLIENT_ID"),
    ("client_secret", "AMAZON_ADS_CLIENT_SECRET"),
    ("refresh_token", "AMAZON_ADS_REFRESH_TOKEN"),
    ("region", "AMAZON_ADS_REGION"),
    ("profile_id", "AMAZON_ADS_PROFILE_ID"),
    ("store_key", "AMAZON_ADS_STORE_KEY"),
)
_HEADER_BREAKERS = ("\r", "\n", "\0")


def require_text(name: str, value: object, env_var: str | None, *, header: bool = False) -> str:
    """`value` if it is a non-empty string (and, for header values, one line)."""
    if not isinstance(value, str) or not value.strip():
        where = f" (or set {env_var})" if env_var else ""
        raise ConfigurationError(f"{name} must be a non-empty string{where}")
    if header and any(c in value for c in _HEADER_BREAKERS):
        raise ConfigurationError(
            f"{name} contains a line break or NUL character: it is sent as an HTTP header, "
            "so it must be one line (check for a stray newline where it was pasted)"
        )
    return value


def require_number(name: str, value: object, *, minimum: float) -> float:
    """`value` as a float if it is a finite real number >= minimum."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(f"{name} must be a number >= {minimum}, got {value!r}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number) or not number >= minimum:
        raise ConfigurationError(f"{name} must be a finite number >= {minimum}, got {value!r}")
    return number


def require_margin(value: object) -> float:
    """The refresh margin: finite, >= 0 and below LwA's 3600 s token lifetime (a margin at
    or above the lifetime would make every fresh token count as due for refresh)."""
    margin = require_number("refresh_margin", value, minimum=0.0)
    if margin >= EXPECTED_TOKEN_LIFETIME:
        raise ConfigurationError(
            f"refresh_margin must be below the access-token lifetime "
            f"({EXPECTED_TOKEN_LIFETIME:.0f} s), got {value!r}: use a few minutes (default 300)"
        )
    return margin


def profile_text(profile_id: int | str | None) -> str | None:
    """A profile id as sent in the Scope header: plain ASCII digits only."""
    if profile_id is None:
        return None
    text = str(profile_id).strip() if isinstance(profile_id, (int, str)) else ""
    if isinstance(profile_id, bool) or not (text.isascii() and text.isdigit()):
        raise ConfigurationError(
            "profile_id must be a numeric Ads profile id, digits only (see GET /v2/profiles), "
            f"got {profile_id!r}"
        )
    return text


def account_text(account_id: str | None) -> str | None:
    if account_id is None:
        return None
    if not isinstance(account_id, str) or not account_id.strip():
        raise ConfigurationError(f"account_id must be a non-empty string, got {account_id!r}")
    require_text("account_id", account_id, None, header=True)
    return account_id.strip()


def env_kwargs(overrides: dict[str, Any]) -> dict[str, Any]:
    """AdsAuth keyword arguments from AMAZON_ADS_* variables, with `overrides` on top.
    Without a client id anywhere it returns them without one: the caller then looks for a
    stored login (`AdsAuth.from_login`)."""
    env = os.environ
    kwargs: dict[str, Any] = {}
    for name, var in _ENV_SETTINGS:
        value = env.get(var, "").strip()
        if value:
            kwargs[name] = value
    store_url = env.get("AMAZON_ADS_TOKEN_STORE", "").strip()
    if store_url and "store" not in overrides:
        kwargs["store"] = open_store(store_url)
    kwargs.update(overrides)
    if not kwargs.get("client_id"):
        return kwargs
    for name, var in _ENV_SETTINGS[:2]:
        if not kwargs.get(name):
            raise ConfigurationError(
                f"{var} is not set: export it, or pass {name}= to AdsAuth.from_env()"
            )
    return kwargs


def require_count(max_retries: object) -> int:
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ConfigurationError(f"max_retries must be an int >= 0, got {max_retries!r}")
    return max_retries


def deadline_within_lock(store: object, deadline: float) -> float:
    """A store lock with a TTL must outlive the refresh it guards, or a second process
    could refresh while the first still is: a shorter TTL shortens the deadline to 80% of
    it."""
    ttl = getattr(store, "lock_ttl", None)
    if isinstance(ttl, (int, float)) and not isinstance(ttl, bool) and ttl > 0:
        return min(deadline, 0.8 * float(ttl))
    return deadline
