"""The error tree: who is to blame, and what the user should do next.

Configuration mistakes (ours to fix in the caller's code) and answers from the token endpoint
(Amazon's word) are different types, so callers can tell "fix your setup" from "log in again"
from "try later". No message here ever contains a secret: callers build them from redacted text.
"""

from __future__ import annotations

from typing import Any


class AdsAuthError(Exception):
    """Root of every error this library raises.

    Picklable with its fields (`error`, `status_code`, ...), so it crosses process
    boundaries (ProcessPoolExecutor, multiprocessing) intact.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


def _rebuild(cls: type[AdsAuthError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class ConfigurationError(AdsAuthError, ValueError):
    """The caller's arguments or environment are wrong; the message names what to change."""


class NoTokenError(AdsAuthError):
    """No refresh token is available anywhere: the user has to log in first."""


class StateMismatchError(AdsAuthError):
    """The redirect's `state` is not the one we sent: a stale or forged redirect."""


class ConsentError(AdsAuthError):
    """A web consent callback that cannot be trusted: no consent cookie, a forged or
    expired one (`reason` "cookie"), or one started by another tenant (`reason` "tenant").
    The person has to start again from Connect, in the same browser."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class AuthorizationDeniedError(AdsAuthError):
    """The consent redirect carried `error=` (the user refused, or the client is not allowed)."""

    def __init__(self, message: str, *, error: str, description: str | None = None) -> None:
        super().__init__(message)
        self.error = error
        self.description = description


class TokenRequestError(AdsAuthError):
    """Login with Amazon answered a token request with an OAuth error (`error` in the JSON body)."""

    def __init__(
        self,
        message: str,
        *,
        error: str,
        description: str | None = None,
        status_code: int | None = None,
        grant_type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.error = error
        self.description = description
        self.status_code = status_code
        self.grant_type = grant_type  # "authorization_code" or "refresh_token"


class InvalidGrantError(TokenRequestError):
    """The code expired or was used, or the refresh token was revoked: log in again."""


class GrantExpiredError(InvalidGrantError):
    """invalid_grant at or after the refresh token's expiry: the advertiser's consent expired
    (365 days after it was given, by default): ask them to connect again. Never retried."""


class InvalidClientError(TokenRequestError):
    """Client authentication failed: the client id or secret is wrong (or was rotated)."""


class TokenEndpointError(AdsAuthError):
    """The token endpoint could not be used: network failure, timeout, 429/5xx, or an answer
    that is not a token, after the configured retries."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retry_after = retry_after


class ProxyAuthenticationError(ConfigurationError):
    """The HTTP proxy (HTTPS_PROXY / HTTP_PROXY) answered 407: its credentials were refused.
    Never retried; the proxy password is never shown."""


class StoreError(AdsAuthError):
    """A token store could not load, save, delete or lock; the message names the place."""


class TokenFormatError(AdsAuthError, ValueError):
    """Data that should describe a token does not (bad JSON shape, wrong types)."""
