"""What the flow's pages say, and the default look: one small stylesheet inside the page
(no fonts, images or scripts from anywhere, so it works offline and with JavaScript off).

Each outcome is a `ConsentPage` value; `render_default_page` turns one into HTML, and an app
may render it with its own template instead (`render_page=`). 4xx pages say in plain words
what the advertiser can do; 5xx pages say only that it did not work now, with a short
reference id that is also in the log record, where the details go.
"""

from __future__ import annotations

import html
import logging
import secrets

from .._errors import (
    AdsAuthError,
    AuthorizationDeniedError,
    ConfigurationError,
    ConsentError,
    InvalidGrantError,
    StateMismatchError,
    StoreError,
    TokenEndpointError,
    TokenRequestError,
)
from ._values import ConsentPage, PageKind

logger = logging.getLogger("amazon_ads_auth")

UNAVAILABLE = "Amazon Ads could not be connected right now. Please try again in a few minutes."
START_AGAIN = "This link has expired. Start again."
CANCELLED = "You cancelled the connection. Nothing was changed."
_NEUTRAL_KINDS = ("cancelled", "not_signed_in")

STYLESHEET = """
:root{color-scheme:light dark;--fg:#1a1d21;--muted:#4a5260;--bg:#f3f4f6;--card:#fff;
--line:#d5d9e0;--accent:#0b57d0;--accent-fg:#fff;--ok:#146c2e;--bad:#b3261e}
@media (prefers-color-scheme:dark){:root{--fg:#eceef1;--muted:#b4bac4;--bg:#15171a;
--card:#202327;--line:#3a3f46;--accent:#8ab4f8;--accent-fg:#0b1d3a;--ok:#6dd58c;
--bad:#f2b8b5}}
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;
padding:1.5rem;background:var(--bg);color:var(--fg);
font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{width:100%;max-width:32rem;background:var(--card);border:1px solid var(--line);
border-radius:12px;padding:2rem;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.mark{display:inline-block;font-size:.8rem;font-weight:600;letter-spacing:.04em;
text-transform:uppercase;color:var(--muted);margin:0 0 .75rem}
h1{font-size:1.5rem;line-height:1.25;margin:0 0 .75rem}
.ok h1{color:var(--ok)}.error h1{color:var(--bad)}
p{margin:0 0 1rem;color:var(--fg)}
.ref{font-size:.875rem;color:var(--muted)}
code{font:.875rem ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.action{display:inline-block;margin-top:.5rem;padding:.625rem 1.25rem;border-radius:8px;
background:var(--accent);color:var(--accent-fg);font-weight:600;text-decoration:none}
.action:hover{filter:brightness(1.1)}
.action:focus-visible,a:focus-visible{outline:3px solid var(--accent);outline-offset:3px}
"""


def plural(count: int, one: str, many: str | None = None) -> str:
    """ "1 profile", "2 profiles", "0 profiles"."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


def new_reference() -> str:
    """A short id that ties a 5xx page to its log record (8 hex digits)."""
    return secrets.token_hex(4)


def connected_page(profiles: int, continue_url: str = "/") -> ConsentPage:
    """The page after a consent: connected, with how many advertising profiles."""
    return ConsentPage(
        kind="connected",
        status=200,
        title="Amazon Ads is connected",
        message=f"Your Amazon Ads account is connected, with {plural(profiles, 'profile')}.",
        action_label="Continue to the app",
        action_url=continue_url,
    )


def not_signed_in_page(sign_in_url: str) -> ConsentPage:
    """Nobody is signed in to the app: the action is the app's sign-in, never Connect
    (which would answer this page again)."""
    return ConsentPage(
        kind="not_signed_in",
        status=403,
        title="Please sign in",
        message="Sign in to the app first, then connect your Amazon Ads account.",
        action_label="Sign in",
        action_url=sign_in_url,
    )


def invalid_request_page(connect_url: str) -> ConsentPage:
    """Connect was asked for something this app does not offer (an unknown region)."""
    return ConsentPage(
        kind="invalid_request",
        status=400,
        title="This link is not valid",
        message="This link asks for an Amazon Ads region this app does not know. Try again "
        "from the app.",
        action_label="Try again",
        action_url=connect_url,
    )


def unavailable_page(connect_url: str, error: BaseException, status: int = 500) -> ConsentPage:
    """A 5xx page: the same sentence whatever failed; the details (the store, a host, the
    exception) go to an ERROR log record with the page's reference id."""
    reference = new_reference()
    logger.error(
        "Amazon Ads consent failed (reference %s, HTTP %d): %s: %s",
        reference,
        status,
        type(error).__name__,
        error,
        extra={"reference": reference},
    )
    return ConsentPage(
        kind="unavailable",
        status=status,
        title="Amazon Ads could not be connected",
        message=UNAVAILABLE,
        action_label="Try again",
        action_url=connect_url,
        reference=reference,
    )


def start_again_page(connect_url: str) -> ConsentPage:
    """The consent cannot be finished: an expired, used, forged or foreign link."""
    return ConsentPage(
        kind="start_again",
        status=400,
        title="This link has expired",
        message=START_AGAIN,
        action_label="Try again",
        action_url=connect_url,
    )


def classify(error: AdsAuthError) -> tuple[PageKind, int]:
    """Which page, with which status, an error of `complete()` (or `begin()`) answers:
    another account signed in (403); cancelled (400); start again (400: no, forged or
    expired cookie, another consent's callback, a used or expired code, a URL with no
    code); else unavailable: 502 when Amazon failed or refused the app, 503 when the store
    failed, 500 otherwise."""
    if isinstance(error, ConsentError) and error.reason == "tenant":
        return "other_tenant", 403
    if isinstance(error, AuthorizationDeniedError) and error.error == "access_denied":
        return "cancelled", 400
    if isinstance(error, (ConsentError, StateMismatchError, InvalidGrantError)):
        return "start_again", 400
    if isinstance(error, (TokenEndpointError, TokenRequestError, AuthorizationDeniedError)):
        return "unavailable", 502
    if isinstance(error, StoreError):
        return "unavailable", 503
    if isinstance(error, ConfigurationError):  # complete(): a URL with no code in it
        return "start_again", 400
    return "unavailable", 500


def page_for_error(error: AdsAuthError, connect_url: str) -> ConsentPage:
    """The page for an error of `ConsentFlow.complete()` (see `classify`); an unavailable
    page logs the details at ERROR with its reference id."""
    kind, status = classify(error)
    if kind == "other_tenant":
        return ConsentPage(
            kind="other_tenant",
            status=403,
            title="Signed in with another account",
            message="This connection was started while another account of this app was "
            "signed in. Sign in with the account that started it, or start again.",
            action_label="Try again",
            action_url=connect_url,
        )
    if kind == "cancelled":
        return ConsentPage(
            kind="cancelled",
            status=400,
            title="Connection cancelled",
            message=CANCELLED,
            action_label="Try again",
            action_url=connect_url,
        )
    if kind == "start_again":
        return start_again_page(connect_url)
    return unavailable_page(connect_url, error, status)


def render_default_page(page: ConsentPage) -> str:
    """`page` as a complete HTML document with the built-in stylesheet."""
    # Green for done, neutral for what the person chose or must do, red for failures.
    tone = "ok" if page.status < 400 else "info" if page.kind in _NEUTRAL_KINDS else "error"
    reference = (
        f'<p class="ref">Reference: <code id="reference">{html.escape(page.reference)}</code></p>\n'
        if page.reference
        else ""
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width,initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{html.escape(page.title)}</title>\n<style>{STYLESHEET}</style></head>\n"
        f'<body><main class="{tone}" data-kind="{html.escape(page.kind)}">\n'
        '<p class="mark">Amazon Ads</p>\n'
        f'<h1 id="title">{html.escape(page.title)}</h1>\n'
        f'<p id="message">{html.escape(page.message)}</p>\n{reference}'
        f'<a class="action" id="action" href="{html.escape(page.action_url)}">'
        f"{html.escape(page.action_label)}</a>\n</main></body></html>\n"
    )
