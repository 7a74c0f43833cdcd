"""How CLI commands fail: library errors become one line with a hint and exit code 1."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
import requests

from .._errors import (
    AdsAuthError,
    AuthorizationDeniedError,
    GrantExpiredError,
    InvalidClientError,
    InvalidGrantError,
    TokenRequestError,
)
from .._lwa.messages import REVOKED_HINT
from .._redact import redact

_F = TypeVar("_F", bound=Callable[..., Any])


def handle_errors(function: _F) -> _F:
    """Turn library errors into one line with a hint and exit code 1."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except AdsAuthError as exc:
            # Messages are built from redacted text; LwA-shaped tokens are scrubbed again here.
            click.echo(f"Error: {redact(explain(exc))}", err=True)
            sys.exit(1)
        except requests.RequestException as exc:
            click.echo(
                f"Error: the Ads API could not be reached ({type(exc).__name__}): check "
                "--region and your network",
                err=True,
            )
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def explain(exc: AdsAuthError) -> str:
    """One line that says what happened and what to do."""
    if isinstance(exc, GrantExpiredError):  # "the advertiser's consent expired N days ..."
        expired = str(exc).partition(": ")[2].partition(": ask them")[0]
        return f"{expired}: run `amazon-ads-auth login`"
    if isinstance(exc, InvalidGrantError) and exc.grant_type == "refresh_token":
        return REVOKED_HINT
    if isinstance(exc, InvalidGrantError):
        return (
            "the authorization code expired (codes live 5 minutes) or was already used: run "
            "`amazon-ads-auth login` again"
        )
    if isinstance(exc, InvalidClientError):
        return "client authentication failed: check the client id and client secret"
    if isinstance(exc, TokenRequestError) and exc.error == "invalid_scope":
        return (
            "invalid_scope: the client is not yet approved for the Amazon Ads API, or the "
            "scope is wrong"
        )
    if isinstance(exc, AuthorizationDeniedError):
        if exc.error == "access_denied":
            return "consent was denied on the Amazon page: run login again and allow access"
        if exc.error == "invalid_scope":
            return (
                "invalid_scope: the client is not yet approved for the Amazon Ads API, or "
                "the scope is wrong"
            )
    return str(exc)
