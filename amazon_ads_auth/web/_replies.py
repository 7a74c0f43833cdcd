"""What the web adapters answer, with no web framework: a `Reply` (status, redirect or
page, cookies) for each outcome of Connect, the callback and the success page, so the
Starlette and Flask adapters only translate it into their own response objects.

Pages are `ConsentPage` values (see `_pages`): the adapter renders them with the app's
`render_page`, else the default one. No page shows an error's sentence: 4xx pages say what
the advertiser can do, 5xx pages a reference id that is also in the log record.
"""

from __future__ import annotations

import dataclasses
import logging

from .._errors import AdsAuthError, ConfigurationError
from ._checks import signed_in_tenant
from ._flow import ConsentFlow
from ._pages import (
    classify,
    connected_page,
    invalid_request_page,
    not_signed_in_page,
    page_for_error,
    render_default_page,
    start_again_page,
    unavailable_page,
)
from ._values import ConsentPage, ConsentResult

logger = logging.getLogger("amazon_ads_auth")


@dataclasses.dataclass(frozen=True)
class Reply:
    """One HTTP answer: a redirect to `location`, or `page` to render; plus Set-Cookie
    values."""

    status: int
    location: str | None = None
    page: ConsentPage | None = None
    cookies: tuple[str, ...] = ()

    @property
    def body(self) -> str | None:
        """The page as the built-in renderer shows it (None for a redirect)."""
        return None if self.page is None else render_default_page(self.page)


@dataclasses.dataclass(frozen=True)
class Urls:
    """Where the pages' actions and the redirect after a consent go."""

    prefix: str
    sign_in_url: str = "/"
    success_url: str | None = None
    continue_url: str = "/"

    @property
    def connect(self) -> str:
        return f"{self.prefix}/connect"

    @property
    def connected(self) -> str:
        """Where a completed consent without `next` goes: `success_url`, else the built-in
        success page."""
        return self.success_url or f"{self.prefix}/connected"


def status_for(error: AdsAuthError) -> int:
    """The HTTP status of the page an error of `complete()` answers (see `classify`)."""
    return classify(error)[1]


def _page(page: ConsentPage) -> Reply:
    return Reply(page.status, page=page)


def _urls(urls: Urls | str) -> Urls:
    return Urls(urls) if isinstance(urls, str) else urls


def _who(tenant: object, urls: Urls) -> str | Reply:
    """The signed-in tenant's id, or the page to answer: 403 "sign in" for a falsy
    `tenant()` answer, 500 (details logged) for one that is not a tenant id."""
    try:
        who = signed_in_tenant(tenant)
    except ConfigurationError as exc:
        return _page(unavailable_page(urls.connect, exc, 500))
    return _page(not_signed_in_page(urls.sign_in_url)) if who is None else who


def connect_reply(
    flow: ConsentFlow,
    tenant: object,
    return_to: str | None,
    region: str | None,
    urls: Urls | str,
) -> Reply:
    """`GET {prefix}/connect`: a 302 to Amazon with the consent cookie, 400 for an
    unknown region, 403 when nobody is signed in. `urls` may be just the prefix."""
    urls = _urls(urls)
    who = _who(tenant, urls)
    if isinstance(who, Reply):
        return who
    try:
        start = flow.begin(who, return_to=return_to, region=region)
    except ConfigurationError:  # an unknown region (the tenant id was checked above)
        return _page(invalid_request_page(urls.connect))
    return Reply(302, location=start.url, cookies=(start.set_cookie_header(),))


def complete_or_reply(
    flow: ConsentFlow,
    callback_url: str,
    cookie: str | None,
    tenant: object,
    urls: Urls | str,
    done_cookie: str | None = None,
) -> ConsentResult | Reply:
    """`GET {prefix}/callback`: the completed consent, or the reply to send: a redirect to
    the success page again for a reload of a consent this browser completed for the
    signed-in tenant (its "done" marker), else the error's page."""
    urls = _urls(urls)
    who = _who(tenant, urls)
    if isinstance(who, Reply):
        return who
    try:
        if not cookie and done_cookie:
            done = flow.completed(done_cookie, who, callback_url)
            if done is not None:
                return Reply(302, location=done.return_to or urls.connected)
        return flow.complete(callback_url, cookie, tenant=who)
    except AdsAuthError as exc:
        page = page_for_error(exc, urls.connect)
        if page.status < 500:
            logger.warning(
                "a consent callback was refused (%s): %s: %s", page.kind, type(exc).__name__, exc
            )
        return _page(page)


def connected_reply(flow: ConsentFlow, result: ConsentResult, urls: Urls) -> Reply:
    """After a consent: a redirect (the code leaves the address bar) to `next`, else to
    `success_url` or the built-in success page; with the "done" marker cookie."""
    return Reply(
        302,
        location=result.return_to or urls.connected,
        cookies=(flow.done_cookie_header(result),),
    )


def success_reply(flow: ConsentFlow, tenant: object, done_cookie: str | None, urls: Urls) -> Reply:
    """`GET {prefix}/connected`, the built-in success page: "Amazon Ads is connected" with
    the profile count, when this browser completed a consent for the signed-in tenant and
    that grant is still the tenant's; else "start again"."""
    who = _who(tenant, urls)
    if isinstance(who, Reply):
        return who
    try:
        done = flow.completed(done_cookie, who)
    except AdsAuthError as exc:
        return _page(page_for_error(exc, urls.connect))
    if done is None:
        return _page(start_again_page(urls.connect))
    return _page(connected_page(done.profiles, urls.continue_url))
