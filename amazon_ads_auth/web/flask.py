"""The consent flow as a Flask blueprint.

    app.register_blueprint(consent_blueprint(flow, tenant=lambda: g.user.org_id))

The same routes and behaviour as the Starlette adapter: `GET {url_prefix}/connect`,
`GET {url_prefix}/callback` and `GET {url_prefix}/connected` (the built-in success page).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

try:
    from flask import Blueprint, Response, make_response, redirect, request
    from werkzeug.wrappers import Response as BaseResponse
except ImportError as exc:  # pragma: no cover - exercised in a process without Flask
    raise ImportError(
        f"amazon_ads_auth.web.flask needs Flask: pip install 'amazon-ads-auth[flask]' ({exc})",
        name=exc.name,
    ) from exc

from ._flow import ConsentFlow
from ._pages import render_default_page
from ._replies import (
    Reply,
    Urls,
    complete_or_reply,
    connect_reply,
    connected_reply,
    success_reply,
)
from ._values import ConsentPage


def consent_blueprint(
    flow: ConsentFlow,
    *,
    tenant: Callable[..., Any],
    on_connected: Callable[..., Any] | None = None,
    render_page: Callable[[ConsentPage], Any] | None = None,
    success_url: str | None = None,
    sign_in_url: str = "/",
    continue_url: str = "/",
    url_prefix: str = "/amazon-ads",
    name: str = "amazon_ads",
) -> Blueprint:
    """A blueprint with the Connect, callback and success routes (endpoints
    "{name}.connect", "{name}.callback", "{name}.connected").

    `tenant()` returns the signed-in tenant's id, a `str` or `int`, or any false value when
    nobody is signed in (it may take the request as its one argument);
    `on_connected(result)` (or `on_connected(request, result)`) may return a response
    instead of the default; `render_page(page)` renders a `ConsentPage` with your own
    template (an HTML string, or anything a Flask view may return). After a consent the
    browser goes to `next`, else `success_url`, else the built-in success page."""
    prefix = "/" + url_prefix.strip("/") if url_prefix.strip("/") else ""
    urls = Urls(prefix, sign_in_url, success_url, continue_url)
    blueprint = Blueprint(name, __name__, url_prefix=prefix or None)

    def respond(reply: Reply) -> BaseResponse:
        response: BaseResponse
        if reply.location is not None:
            response = redirect(reply.location, code=reply.status)
        elif reply.page is not None and render_page is not None:
            rendered = render_page(reply.page)
            response = (
                make_response(rendered, reply.page.status)
                if isinstance(rendered, str)
                else make_response(rendered)
            )
        else:
            assert reply.page is not None
            response = Response(
                render_default_page(reply.page), status=reply.status, mimetype="text/html"
            )
        response.headers["Cache-Control"] = "no-store"
        for header in reply.cookies:
            response.headers.add("Set-Cookie", header)
        return response

    @blueprint.get("/connect")
    def connect() -> Any:
        who = _call(tenant)
        query = request.args
        return respond(connect_reply(flow, who, query.get("next"), query.get("region"), urls))

    @blueprint.get("/callback")
    def callback() -> Any:
        cookie = request.cookies.get(flow.cookie_name)
        done = request.cookies.get(flow.done_cookie_name)
        outcome = complete_or_reply(flow, request.url, cookie, _call(tenant), urls, done)
        response: Any = None
        if isinstance(outcome, Reply):
            response = respond(outcome)
        else:
            if on_connected is not None:
                response = _call(on_connected, outcome)
            reply = connected_reply(flow, outcome, urls)
            if response is None:
                response = respond(reply)
            else:
                response = make_response(response)
                for header in reply.cookies:
                    response.headers.add("Set-Cookie", header)
        if not isinstance(response, BaseResponse):
            response = make_response(response)
        response.headers.add("Set-Cookie", flow.clear_cookie_header())
        return response

    @blueprint.get("/connected")
    def connected() -> Any:
        done = request.cookies.get(flow.done_cookie_name)
        return respond(success_reply(flow, _call(tenant), done, urls))

    return blueprint


def _call(function: Callable[..., Any], *arguments: Any) -> Any:
    """Call `function` with `arguments`, and with the request first if it takes one more
    positional parameter (so `tenant=lambda: g.user.org_id` and `lambda request: ...` both
    work)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return function(*arguments)
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    takes_more = any(p.kind is p.VAR_POSITIONAL for p in parameters)
    if len(positional) > len(arguments) and not takes_more:
        return function(request, *arguments)
    return function(*arguments)
