"""Login with Amazon, sans I/O: consent URLs, token request messages, and reading answers.

oauthlib builds and parses the OAuth messages. Its Client mutates itself, so each function
makes a fresh one and copies results into our frozen values. Nothing here touches the network:
`token_transport` sends what `code_request`/`refresh_request` build and hands the answer to
`interpret_token_response`, which decides: a Token, a typed error, or "retry (after N s)".
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import time
from collections.abc import Mapping
from typing import Any

from .._errors import (
    ConfigurationError,
    InvalidClientError,
    InvalidGrantError,
    TokenEndpointError,
    TokenRequestError,
)
from .._limits import MAX_TOKEN_BODY
from .._redact import excerpt, mask_url, printable, redact
from .._token import Token
from .consent import ERROR_HINTS, AuthorizationRequest, parse_redirect

CODE_LIFETIME_SECONDS = 300
DEFAULT_EXPIRES_IN = 3600
REVOKED_HINT = (
    "the grant was revoked or the refresh token is no longer valid (the user removed the "
    "app, or it belongs to another client): log in again with `amazon-ads-auth login`"
)
MAX_EXPIRES_IN = 86400


@dataclasses.dataclass(frozen=True)
class TokenHttpRequest:
    """A token-endpoint POST ready to send. The body holds secrets: never log it."""

    url: str
    body: str = dataclasses.field(repr=False)
    grant_type: str
    secrets: tuple[str, ...] = dataclasses.field(repr=False)
    headers: Mapping[str, str] = dataclasses.field(
        default_factory=lambda: {
            "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
            "Accept": "application/json",
        }
    )


@dataclasses.dataclass(frozen=True)
class RetryLater:
    """A transient failure: try again, after `retry_after` seconds if the server said so."""

    reason: str
    status_code: int | None = None
    retry_after: float | None = None


def code_request(
    token_url: str,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    code_verifier: str | None = None,
) -> TokenHttpRequest:
    """The authorization-code exchange, credentials in the body as the Ads docs show."""
    from oauthlib.oauth2 import WebApplicationClient  # loaded on first use, not at import

    client = WebApplicationClient(client_id)
    body = client.prepare_request_body(
        code=code,
        redirect_uri=redirect_uri,
        include_client_id=True,
        client_secret=client_secret,
        code_verifier=code_verifier,
    )
    return TokenHttpRequest(
        url=token_url,
        body=body,
        grant_type="authorization_code",
        secrets=tuple(s for s in (client_secret, code, code_verifier) if s),
    )


def code_exchange_request(
    token_url: str,
    client_id: str,
    client_secret: str,
    *,
    authorization_response: str | None = None,
    request: AuthorizationRequest | None = None,
    code: str | None = None,
    redirect_uri: str | None = None,
    code_verifier: str | None = None,
) -> TokenHttpRequest:
    """The code exchange for `AdsAuth.fetch_token`: from the redirect URL (checked against
    the `request` that made the consent URL), or from a bare code and its redirect URI."""
    if authorization_response is not None:
        if request is None:
            raise ConfigurationError(
                "fetch_token(authorization_response=...) needs request=, the "
                "AuthorizationRequest that produced the consent URL (it holds state)"
            )
        code = parse_redirect(authorization_response, request.state)
        redirect_uri = request.redirect_uri
        code_verifier = request.code_verifier
    elif code is None:
        raise ConfigurationError(
            "fetch_token needs authorization_response= (with request=) or code="
        )
    elif request is not None:
        redirect_uri = redirect_uri or request.redirect_uri
        code_verifier = code_verifier or request.code_verifier
    if not code or not isinstance(code, str):
        raise ConfigurationError("the authorization code is empty")
    if not redirect_uri:
        raise ConfigurationError(
            "fetch_token(code=...) needs redirect_uri=, exactly as sent to the consent page"
        )
    return code_request(token_url, client_id, client_secret, code, redirect_uri, code_verifier)


def refresh_request(
    token_url: str, client_id: str, client_secret: str, refresh_token: str
) -> TokenHttpRequest:
    """A refresh-token grant, credentials in the body."""
    from oauthlib.oauth2 import WebApplicationClient  # loaded on first use, not at import

    client = WebApplicationClient(client_id)
    body = client.prepare_refresh_body(
        refresh_token=refresh_token, client_id=client_id, client_secret=client_secret
    )
    return TokenHttpRequest(
        url=token_url,
        body=body,
        grant_type="refresh_token",
        secrets=(client_secret, refresh_token),
    )


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds, or an HTTP date (seconds from
    `now`, default the wall clock). None when absent or unreadable."""
    import email.utils

    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.timezone.utc)
        seconds = when.timestamp() - (time.time() if now is None else now)
        return max(0.0, seconds)
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def interpret_token_response(
    request: TokenHttpRequest,
    status_code: int,
    content_type: str,
    body: bytes,
    retry_after: str | None,
    now: float,
    *,
    too_large: bool = False,
) -> Token | RetryLater:
    """Decide what a token-endpoint answer means.

    Returns a Token (refresh_token may be None: the caller merges in the stored one) or
    RetryLater for 429/5xx; raises TokenRequestError (and subclasses) for OAuth errors, which
    are never retried, and TokenEndpointError for answers that are not tokens.
    """
    shown_type = content_type.split(";")[0].strip() or "no content type"
    if status_code == 429 or status_code >= 500:
        return RetryLater(
            f"the token endpoint answered HTTP {status_code}",
            status_code=status_code,
            retry_after=parse_retry_after(retry_after),
        )
    if too_large:
        raise TokenEndpointError(
            f"the token endpoint answered HTTP {status_code} with more than "
            f"{MAX_TOKEN_BODY // 1024} KiB ({shown_type}); a token is far smaller: check "
            f"token_url ({mask_url(request.url)})",
            status_code=status_code,
        )
    data = _json_object(body)
    if data is not None and isinstance(data.get("error"), str) and status_code != 200:
        raise _oauth_error(request, data, status_code)
    if data is None:
        raise TokenEndpointError(
            f"the token endpoint answered HTTP {status_code} with {shown_type}, not a JSON "
            f"token: {excerpt(body, request.secrets)!r}; check token_url ({mask_url(request.url)})",
            status_code=status_code,
        )
    if status_code != 200:
        raise TokenEndpointError(
            f"the token endpoint answered HTTP {status_code} without an OAuth error "
            f"({shown_type}); check token_url ({mask_url(request.url)})",
            status_code=status_code,
        )
    return _token_from(request, data, now, status_code)


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _oauth_error(
    request: TokenHttpRequest, data: Mapping[str, Any], status_code: int
) -> TokenRequestError:
    error = printable(redact(str(data["error"]), request.secrets))[:100]
    raw_description = data.get("error_description")
    description = (
        printable(redact(str(raw_description), request.secrets)) if raw_description else None
    )
    hint = ERROR_HINTS.get(error, "Login with Amazon refused the token request")
    what = "code exchange" if request.grant_type == "authorization_code" else "token refresh"
    if error == "invalid_grant" and request.grant_type == "refresh_token":
        hint = REVOKED_HINT
    message = f"{what} failed with {error!r}"
    if description:
        message += f" ({description})"
    message += f": {hint}"
    cls: type[TokenRequestError] = TokenRequestError
    if error == "invalid_grant":
        cls = InvalidGrantError
    elif error == "invalid_client":
        cls = InvalidClientError
    return cls(
        message,
        error=error,
        description=description,
        status_code=status_code,
        grant_type=request.grant_type,
    )


def _token_from(
    request: TokenHttpRequest, data: dict[str, Any], now: float, status_code: int
) -> Token:
    from oauthlib.oauth2 import WebApplicationClient
    from oauthlib.oauth2.rfc6749.errors import OAuth2Error

    def bad(what: str) -> TokenEndpointError:
        return TokenEndpointError(
            f"the token endpoint answered HTTP 200 with JSON that is not a usable token: {what}",
            status_code=status_code,
        )

    token_type = data.get("token_type", "bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise bad(f"token_type is {token_type!r}, expected 'bearer'")
    expires_in = data.get("expires_in", DEFAULT_EXPIRES_IN)
    if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float, str)):
        raise bad("expires_in is not a number")
    if isinstance(expires_in, float) and not math.isfinite(expires_in):
        raise bad("expires_in is not a finite number")
    if isinstance(expires_in, str) and len(expires_in) > 20:
        raise bad("expires_in is not a number of seconds")
    data = dict(data, expires_in=expires_in)
    if not isinstance(data.get("scope", ""), (str, list)):
        data.pop("scope")  # an unreadable scope is not worth refusing the token over
    try:
        # oauthlib validates the message (access_token present, expires_in numeric).
        parsed = WebApplicationClient(request.url).parse_request_body_response(json.dumps(data))
    except OAuth2Error as exc:
        raise bad(exc.description or exc.error or "rejected by oauthlib") from None
    except (ValueError, OverflowError, TypeError, AttributeError):
        raise bad("expires_in or scope is not readable") from None
    access_token = parsed.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise bad("access_token is missing or empty")
    lifetime = parsed.get("expires_in")
    if not isinstance(lifetime, int) or lifetime <= 0:
        raise bad("expires_in is not a positive number of seconds")
    refresh_token = parsed.get("refresh_token")
    if not isinstance(refresh_token, str) or not refresh_token:
        refresh_token = None
    scope = parsed.get("scope")
    scope_text = " ".join(map(str, scope)) if isinstance(scope, list) else None
    refresh_lifetime = _seconds(data.get("refresh_token_expires_in"))
    return Token(
        access_token=access_token,
        refresh_token=refresh_token,
        expires_at=now + min(lifetime, MAX_EXPIRES_IN),
        token_type="bearer",
        scope=scope_text,
        refresh_expires_at=None if refresh_lifetime is None else now + refresh_lifetime,
    )


def _seconds(value: object) -> float | None:
    """A positive, finite number of seconds (a number or its text), else None: a field LwA
    may one day send (`refresh_token_expires_in`) is honoured when readable, never fatal."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        seconds = float(value) if not isinstance(value, str) or len(value) <= 20 else math.nan
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds > 0 else None
