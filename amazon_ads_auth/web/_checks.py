"""The web flow's decisions, sans I/O: which tenant ids, return paths and cookie names are
usable, and whether a callback belongs to the consent its cookie describes.

Each is a pure function of its arguments, tested by tables (`tests/test_web_checks.py`).
"""

from __future__ import annotations

import hmac
import re
import unicodedata
from urllib.parse import parse_qs, urlsplit

from .._errors import ConfigurationError, ConsentError, StateMismatchError
from .._lwa.consent import parse_redirect
from .._urls import is_loopback
from ._cookie import START_AGAIN, ConsentState

MIN_SECRET_KEY_BYTES = 32
MAX_TENANT_LENGTH = 200
MAX_RETURN_TO_LENGTH = 1000  # with the longest tenant id, the cookie stays under 4 KB
# RFC 6265's cookie-name is an RFC 7230 token.
_COOKIE_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}")


def tenant_id(tenant: object) -> str:
    """`tenant` if it can be a store key: a non-empty string of at most 200 characters,
    printable per `str.isprintable()` (no control, format or other invisible character:
    a zero-width space or a bidi override would let one tenant pass for another in a
    listing), with no white space at either end. An integer id (a database key) is taken as
    its decimal text; a bool is not an integer here. The one rule for every place a tenant
    id enters: `begin`, `complete`, `auth`, `disconnect` and the adapters.

    Raises: ConfigurationError saying what is wrong with it."""
    if isinstance(tenant, int) and not isinstance(tenant, bool):
        tenant = str(tenant)
    if not isinstance(tenant, str) or not tenant.strip():
        raise ConfigurationError(
            f"the tenant id must be a non-empty string (it is the store key of the tenant's "
            f"grant), got {_shown(tenant)}"
        )
    if len(tenant) > MAX_TENANT_LENGTH:
        raise ConfigurationError(
            f"the tenant id is {len(tenant)} characters long; at most {MAX_TENANT_LENGTH} fit "
            "in every store"
        )
    if tenant != tenant.strip():
        raise ConfigurationError("the tenant id starts or ends with white space: remove it")
    if not tenant.isprintable() or any(unicodedata.category(c) == "Cf" for c in tenant):
        raise ConfigurationError(
            "the tenant id contains a control character, line break or invisible format "
            "character (such as a zero-width space or a bidi override): tenant ids must be "
            "printable text"
        )
    return tenant


def signed_in_tenant(value: object) -> str | None:
    """What an adapter's `tenant()` answered, as a tenant id: None for any falsy value (nobody
    is signed in: None, "", 0, False, [] from the `user.is_authenticated and user.org_id`
    idiom), else the id of a `str` or `int` (not bool) answer.

    Raises: ConfigurationError for a truthy answer that is not a tenant id (True, a list,
    a user object) or an id no store can hold: the app's `tenant()` is wrong."""
    if not value:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ConfigurationError(
            f"tenant() must return the signed-in tenant's id (a str or int) or a false value "
            f"when nobody is signed in, got {type(value).__name__}"
        )
    return tenant_id(value)


def safe_return_to(value: object) -> str | None:
    """`value` if it is a path on this app ("/settings", not "//evil.example" or
    "https://..."), else None, so the callback can never redirect off the app. Only
    printable ASCII (a path's other characters come percent-encoded) and no backslash,
    which some browsers read as a slash."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//"):
        return None
    if len(value) > MAX_RETURN_TO_LENGTH or "\\" in value:
        return None
    if not all("!" <= c <= "~" for c in value):
        return None
    return value


def checked_cookie_name(name: object) -> str:
    """`name` if it is a valid cookie name (an RFC 6265 token).

    Raises: ConfigurationError."""
    if not isinstance(name, str) or not _COOKIE_NAME.fullmatch(name):
        raise ConfigurationError(
            f"cookie_name must be a cookie token (letters, digits, '-', '_', ...), got "
            f"{_shown(name)}"
        )
    return name


def check_callback(callback_url: str, consent: ConsentState, tenant: str | None) -> str:
    """The authorization code of a callback, once it is known to answer `consent` and to
    be completed by the tenant it was started for (`tenant` None: by anyone, which only
    `complete(tenant=ANY_TENANT)` asks for). The checks run in this order: state, then
    tenant, then Amazon's `error=`, then the code itself.

    Raises: StateMismatchError, ConsentError (reason "tenant"), AuthorizationDeniedError,
    ConfigurationError (no code)."""
    if not isinstance(callback_url, str):
        raise ConfigurationError("the callback URL must be a string (the request's full URL)")
    query = urlsplit(callback_url).query if "?" in callback_url else callback_url
    params = parse_qs(query.lstrip("?"), keep_blank_values=True)
    states = params.get("state", [])
    given = states[0] if len(states) == 1 else ""
    if not hmac.compare_digest(given.encode(), consent.state.encode()):
        raise StateMismatchError(
            "the callback's state does not match this browser's consent (it answers another "
            f"consent, or was forged): {START_AGAIN}"
        )
    if tenant is not None and tenant != consent.tenant:
        raise ConsentError(
            "this consent was started by another account of this app, not the one signed in "
            "now: sign in as the account that clicked Connect, or start again from Connect",
            reason="tenant",
        )
    if "error" not in params and not any(params.get("code", [])):
        raise ConfigurationError(
            "the callback carries no authorization code (it is not the URL Amazon sent the "
            "browser to): start again from Connect"
        )
    return parse_redirect(callback_url if "?" in callback_url else "?" + query, consent.state)


def secret_key_bytes(value: object) -> bytes:
    """The cookie-signing key as bytes, if it is long enough to resist guessing.

    Raises: ConfigurationError."""
    key = value.encode() if isinstance(value, str) else value
    if not isinstance(key, bytes) or len(key) < MIN_SECRET_KEY_BYTES:
        del key, value  # even a short key stays out of the error's frame locals
        raise ConfigurationError(
            f"secret_key must be at least {MIN_SECRET_KEY_BYTES} bytes (it signs the consent "
            "cookie): generate one with `python -c 'import secrets; print(secrets."
            "token_urlsafe(32))'` and keep it in your app's settings"
        )
    return key


def is_loopback_http(url: str) -> bool:
    """Whether the app is plain http on a loopback address (its cookie cannot be Secure)."""
    parts = urlsplit(url)
    return parts.scheme == "http" and is_loopback(parts.hostname or "")


def _shown(value: object) -> str:
    if isinstance(value, str):
        return repr(value[:40] + ("..." if len(value) > 40 else ""))
    return type(value).__name__
