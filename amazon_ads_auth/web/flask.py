"""The consent flow as a Flask blueprint.

    app.register_blueprint(consent_blueprint(flow, tenant=lambda: g.user.org_id))

The same two routes and behaviour as the Starlette adapter: `GET {url_prefix}/connect`
and `GET {url_prefix}/callback`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, make_response, redirect, request
from werkzeug.wrappers import Response as BaseResponse

from ._flow import ConsentFlow
from ._replies import Reply, complete_or_reply, connect_reply, connected_reply


def consent_blueprint(
    flow: ConsentFlow,
    *,
    tenant: Callable[..., str | None],
    on_connected: Callable[..., Any] | None = None,
    url_prefix: str = "/amazon-ads",
    name: str = "amazon_ads",
) -> Blueprint:
    """A blueprint with the Connect and callback routes (endpoints "{name}.connect" and
    "{name}.callback"). `tenant()` returns the tenant id of the user signed in now (it may
    take the request as its one argument); `on_connected(result)` (or
    `on_connected(request, result)`) may return a response instead of the default."""
    prefix = "/" + url_prefix.strip("/") if url_prefix.strip("/") else ""
    blueprint = Blueprint(name, __name__, url_prefix=prefix or None)

    @blueprint.get("/connect")
    def connect() -> Any:
        who = _call(tenant)
        query = request.args
        return _response(connect_reply(flow, who, query.get("next"), query.get("region"), prefix))

    @blueprint.get("/callback")
    def callback() -> Any:
        cookie = request.cookies.get(flow.cookie_name)
        outcome = complete_or_reply(flow, request.url, cookie, _call(tenant), prefix)
        response: Any = None
        if isinstance(outcome, Reply):
            response = _response(outcome)
        elif on_connected is not None:
            response = _call(on_connected, outcome)
        if response is None:
            assert not isinstance(outcome, Reply)
            response = _response(connected_reply(outcome))
        if not isinstance(response, BaseResponse):
            response = make_response(response)
        response.headers.add("Set-Cookie", flow.clear_cookie_header())
        return response

    return blueprint


def _response(reply: Reply) -> BaseResponse:
    response: BaseResponse
    if reply.location is not None:
        response = redirect(reply.location, code=reply.status)
    else:
        response = Response(reply.body or "", status=reply.status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    for header in reply.cookies:
        response.headers.add("Set-Cookie", header)
    return response


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
