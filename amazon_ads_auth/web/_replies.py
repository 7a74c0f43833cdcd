"""What the web adapters answer, with no web framework: a `Reply` (status, redirect,
page, cookies) for each outcome of Connect and of the callback, so the Starlette and Flask
adapters only translate it into their own response objects.

Pages show the error's sentence (which never holds a secret: every message is built from
redacted text), escaped, and a link back to Connect; never a traceback.
"""

from __future__ import annotations

import dataclasses
import html
import logging

from .._errors import AdsAuthError, ConsentError, StoreError, TokenEndpointError
from ._flow import ConsentFlow
from ._values import ConsentResult

logger = logging.getLogger("amazon_ads_auth")

NOT_SIGNED_IN = "no account of this app is signed in here: sign in, then click Connect again"


@dataclasses.dataclass(frozen=True)
class Reply:
    """One HTTP answer: a redirect to `location`, or the page `body`; plus Set-Cookie
    values."""

    status: int
    location: str | None = None
    body: str | None = None
    cookies: tuple[str, ...] = ()


def connect_reply(
    flow: ConsentFlow, tenant: object, return_to: str | None, region: str | None, prefix: str
) -> Reply:
    """`GET {prefix}/connect`: a 302 to Amazon with the consent cookie, a 400 page with
    begin()'s sentence (unknown region, unusable tenant id), or 403 when nobody is signed
    in."""
    if tenant is None or tenant == "":
        return error_page(403, NOT_SIGNED_IN, prefix)
    try:  # an unknown region, like an unusable tenant id, is begin()'s ConfigurationError
        start = flow.begin(str(tenant), return_to=return_to, region=region)
    except AdsAuthError as exc:
        return error_page(400, str(exc), prefix)
    return Reply(302, location=start.url, cookies=(start.set_cookie_header(),))


def complete_or_reply(
    flow: ConsentFlow, callback_url: str, cookie: str | None, tenant: object, prefix: str
) -> ConsentResult | Reply:
    """`GET {prefix}/callback`: the completed consent, or the error page to show."""
    if tenant is None or tenant == "":
        return error_page(403, NOT_SIGNED_IN, prefix)
    try:
        return flow.complete(callback_url, cookie, tenant=str(tenant))
    except AdsAuthError as exc:
        logger.warning("a consent callback failed: %s: %s", type(exc).__name__, exc)
        return error_page(status_for(exc), str(exc), prefix)


def connected_reply(result: ConsentResult) -> Reply:
    """After a consent: back to where the person came from, else a short page."""
    if result.return_to is not None:
        return Reply(302, location=result.return_to)
    count = len(result.login.profiles)
    body = _page("Amazon Ads connected", f"<p>Amazon Ads connected: {count} profiles.</p>")
    return Reply(200, body=body)


def status_for(error: AdsAuthError) -> int:
    """403 for a consent started by another tenant, 502 when Amazon could not be reached,
    503 when the store failed, else 400 (start again)."""
    if isinstance(error, ConsentError) and error.reason == "tenant":
        return 403
    if isinstance(error, TokenEndpointError):
        return 502
    if isinstance(error, StoreError):
        return 503
    return 400


def error_page(status: int, sentence: str, prefix: str) -> Reply:
    """A page with the error's sentence and a link back to Connect."""
    connect = f"{prefix}/connect"
    body = _page(
        "Amazon Ads was not connected",
        f"<p>{html.escape(sentence)}</p>\n"
        f'<p><a href="{html.escape(connect)}">Connect Amazon Ads again</a></p>',
    )
    return Reply(status, body=body)


def _page(title: str, content: str) -> str:
    return (
        '<!doctype html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>\n"
        f"<body><h1>{html.escape(title)}</h1>\n{content}\n</body></html>\n"
    )
