"""The Token value: an immutable access/refresh token pair whose repr hides both secrets."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from typing import Any

from ._errors import TokenFormatError


@dataclasses.dataclass(frozen=True, repr=False)
class Token:
    """An LwA token. `expires_at` is in epoch seconds; `refresh_token` may be None when the
    response carried none and nothing was stored yet."""

    access_token: str
    refresh_token: str | None
    expires_at: float
    token_type: str = "bearer"
    scope: str | None = None
    # When the refresh token expires: what LwA said (`refresh_token_expires_in`, if it ever
    # sends it) on an answer, or the grant record's value on a token loaded for the token
    # manager. Stored in the grant record only, never written from here.
    refresh_expires_at: float | None = dataclasses.field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.access_token, str) or not self.access_token:
            raise TokenFormatError("access_token must be a non-empty string")
        if self.refresh_token is not None and (
            not isinstance(self.refresh_token, str) or not self.refresh_token
        ):
            raise TokenFormatError("refresh_token must be a non-empty string or None")
        if (
            isinstance(self.expires_at, bool)
            or not isinstance(self.expires_at, (int, float))
            or not _finite(self.expires_at)
        ):
            raise TokenFormatError("expires_at must be a finite number of epoch seconds")
        if not isinstance(self.token_type, str):
            raise TokenFormatError("token_type must be a string")
        if self.scope is not None and not isinstance(self.scope, str):
            raise TokenFormatError("scope must be a string or None")

    def __repr__(self) -> str:
        refresh = "set" if self.refresh_token else "none"
        return (
            f"Token(access_token=<redacted>, refresh_token=<{refresh}>, "
            f"expires_at={self.expires_at!r}, token_type={self.token_type!r}, "
            f"scope={self.scope!r})"
        )

    def is_expired(self, margin: float = 0.0, now: float | None = None) -> bool:
        """True when the token expires within `margin` seconds of `now` (default: the clock)."""
        current = time.time() if now is None else now
        return current >= self.expires_at - margin

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict that `from_dict` turns back into an equal Token."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at,
            "token_type": self.token_type,
            "scope": self.scope,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Token:
        """Build a Token from `to_dict` output; raise TokenFormatError on anything else."""
        if not isinstance(data, Mapping):
            raise TokenFormatError("token data must be a JSON object")
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise TokenFormatError(f"unknown token fields: {', '.join(sorted(map(str, unknown)))}")
        if "access_token" not in data or "expires_at" not in data:
            raise TokenFormatError("token data needs access_token and expires_at")
        return cls(
            access_token=data["access_token"],
            refresh_token=data.get("refresh_token"),
            expires_at=data["expires_at"],
            token_type=data.get("token_type", "bearer"),
            scope=data.get("scope"),
        )

    @classmethod
    def from_oauth2_dict(cls, data: Mapping[str, Any], *, now: float | None = None) -> Token:
        """A Token from the dict requests-oauthlib or Authlib saves (`access_token`,
        `refresh_token`, `token_type`, `expires_at` or `expires_in`, `scope` as a string or
        a list); other keys are ignored. Without either expiry field the token counts as
        expired, so it is refreshed before use rather than trusted. TokenFormatError if it
        is not a bearer token."""
        if not isinstance(data, Mapping):
            raise TokenFormatError("token data must be a dict")
        token_type = data.get("token_type") or "bearer"
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise TokenFormatError(f"token_type must be 'bearer', got {token_type!r}")
        current = time.time() if now is None else now
        expires_at = _number(data.get("expires_at"))
        if expires_at is None:
            expires_in = _number(data.get("expires_in"))
            expires_at = current if expires_in is None else current + expires_in
        scope = data.get("scope")
        if isinstance(scope, (list, tuple)):
            scope = " ".join(str(s) for s in scope)
        return cls(
            access_token=data.get("access_token"),  # type: ignore[arg-type]
            refresh_token=data.get("refresh_token") or None,
            expires_at=expires_at,
            token_type="bearer",
            scope=scope if isinstance(scope, str) and scope else None,
        )

    def to_oauth2_dict(self, *, now: float | None = None) -> dict[str, Any]:
        """The dict requests-oauthlib's `token_updater` and Authlib's `update_token` expect."""
        current = time.time() if now is None else now
        data: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": max(0, round(self.expires_at - current)),
            "expires_at": self.expires_at,
        }
        if self.refresh_token:
            data["refresh_token"] = self.refresh_token
        if self.scope:
            data["scope"] = self.scope.split()
        return data

    def with_refresh_token(self, refresh_token: str | None) -> Token:
        """This token with `refresh_token` filled in when it has none (never replaced by None)."""
        if self.refresh_token or not refresh_token:
            return self
        return dataclasses.replace(self, refresh_token=refresh_token)


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _number(value: object) -> float | None:
    """A finite number from a number or a numeric string; None when absent or not one."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise TokenFormatError(f"expected a number of seconds, got {value!r}") from None
    if not math.isfinite(number):
        raise TokenFormatError(f"expected a finite number of seconds, got {value!r}")
    return number
