"""The consent step of Login with Amazon, sans I/O: the consent URL with state and PKCE, and
reading the redirect that comes back (the code, or Amazon's refusal as a typed error).

oauthlib builds the URL; each call makes a fresh client (oauthlib's mutates itself).
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Sequence

from .._errors import AdsAuthError, AuthorizationDeniedError, ConfigurationError, StateMismatchError
from .._redact import printable, redact
from .._urls import require_secure_url, with_scheme

DEFAULT_SCOPE = "advertising::campaign_management"

ERROR_HINTS = {
    "invalid_grant": (
        "log in again (authorization codes live 5 minutes and work once; a refresh token "
        "stops working when the user removes the app)"
    ),
    "invalid_client": "check the client id and client secret (a rotated secret also fails)",
    "unauthorized_client": "this client is not authorized for this grant type",
    "invalid_scope": (
        "the client is not yet approved for the Amazon Ads API, or the scope is wrong"
    ),
    "invalid_request": "the token request was malformed: please report this as a bug",
    "unsupported_grant_type": "the grant type was refused: please report this as a bug",
}


@dataclasses.dataclass(frozen=True)
class AuthorizationRequest:
    """A consent URL and what is needed to check and exchange its redirect.

    Keep it until the redirect comes back: `state` is checked against it and the PKCE
    `code_verifier` (None without PKCE) goes into the code exchange.
    """

    url: str
    state: str
    redirect_uri: str
    code_verifier: str | None = dataclasses.field(default=None, repr=False)
    scope: str = DEFAULT_SCOPE


def normalize_scope(scope: str | Sequence[str]) -> str:
    """Space-separated scopes from a string or a list of them."""
    try:
        items = scope.split() if isinstance(scope, str) else list(scope)
    except TypeError:
        items = []
    if not items or not all(isinstance(s, str) and s.strip() for s in items):
        raise ConfigurationError(f"scope must name at least one scope, got {scope!r}")
    return " ".join(items)


def build_authorization_request(
    authorization_url: str,
    client_id: str,
    redirect_uri: str,
    scope: str | Sequence[str] = DEFAULT_SCOPE,
    *,
    pkce: bool = True,
    state: str | None = None,
    code_verifier: str | None = None,
) -> AuthorizationRequest:
    """The consent URL with a fresh `state` and, with `pkce`, an S256 code challenge.

    `state` and `code_verifier` may be given (the web flow derives the verifier from its
    secret key, so it never leaves the server); by default both are random."""
    require_secure_url(authorization_url, "authorization_url")
    if not isinstance(redirect_uri, str) or "://" not in redirect_uri:
        raise ConfigurationError(
            f"redirect_uri must be an absolute URL registered as an Allowed Return URL, "
            f"got {redirect_uri!r}"
        )
    scope_text = normalize_scope(scope)
    from oauthlib.oauth2 import WebApplicationClient  # loaded on first use, not at import

    client = WebApplicationClient(client_id)
    state = state or secrets.token_urlsafe(24)
    extra: dict[str, str] = {}
    verifier: str | None = None
    if pkce:
        verifier = code_verifier or secrets.token_urlsafe(64)[:96]
        extra = {
            "code_challenge": client.create_code_challenge(verifier, "S256"),
            "code_challenge_method": "S256",
        }
    # oauthlib only knows https; require_secure_url has already allowed loopback http.
    url = client.prepare_request_uri(
        with_scheme(authorization_url, "https"),
        redirect_uri=redirect_uri,
        scope=scope_text,
        state=state,
        **extra,
    )
    if authorization_url.startswith("http://"):
        url = with_scheme(url, "http")
    return AuthorizationRequest(
        url=url, state=state, redirect_uri=redirect_uri, code_verifier=verifier, scope=scope_text
    )


def parse_redirect(redirect_url: str, expected_state: str | None) -> str:
    """The authorization code from a consent redirect URL, after checking `state`.

    Raises StateMismatchError, AuthorizationDeniedError (the redirect carried `error=`), or
    ConfigurationError when the URL carries no code at all.
    """
    if not isinstance(redirect_url, str) or "?" not in redirect_url:
        raise ConfigurationError(
            "the redirect URL has no query string: paste the whole URL the browser was sent "
            "to, including '?code=...&state=...'"
        )
    from oauthlib.oauth2 import WebApplicationClient
    from oauthlib.oauth2.rfc6749 import errors as oauth_errors

    client = WebApplicationClient("unused")
    # Errors are raised after the except blocks, so they carry no oauthlib context (which
    # holds the redirect URL, and with it the code).
    failure: AdsAuthError | None = None
    try:
        params = client.parse_request_uri_response(
            with_scheme(redirect_url, "https"), state=expected_state
        )
    except oauth_errors.MismatchingStateError:
        failure = StateMismatchError(
            "the redirect's state does not match this login attempt: it belongs to another "
            "(or a forged) consent request; start the login again"
        )
    except oauth_errors.OAuth2Error as exc:
        failure = _consent_error(exc.error or "unknown_error", exc.description)
    except ValueError:
        failure = ConfigurationError("the redirect URL could not be parsed")
    if failure is not None:
        raise failure
    code = params.get("code")
    if not isinstance(code, str) or not code:
        raise ConfigurationError("the redirect URL carries an empty authorization code")
    return code


def _consent_error(error: str, raw_description: str | None) -> AdsAuthError:
    if error in ("invalid_request", "missing_code") and "code" in (raw_description or "").lower():
        return ConfigurationError(
            "the redirect URL carries no authorization code: paste the URL the browser "
            "landed on after you approved"
        )
    error = printable(redact(error))[:100]
    description = printable(redact(raw_description or "")) or None
    return AuthorizationDeniedError(
        f"consent failed with {error!r}"
        + (f" ({description})" if description else "")
        + ": "
        + ERROR_HINTS.get(error, "the user refused or the client is not allowed"),
        error=error,
        description=description,
    )
