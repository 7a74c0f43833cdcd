"""The consent flow as two Starlette routes (FastAPI apps take them too).

    app.router.routes += consent_routes(flow, tenant=lambda request: request.state.user.org_id)

`GET {prefix}/connect?next=/path&region=eu` sends the browser to Amazon with the consent
cookie; `GET {prefix}/callback` completes the consent in a worker thread (it does blocking
I/O: the code exchange, the profile lookup, the store), clears the cookie, and answers with
`on_connected`'s response, else a redirect to `next`, else a short page.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from ._flow import ConsentFlow
from ._replies import Reply, complete_or_reply, connect_reply, connected_reply
from ._values import ConsentResult

TenantOf = Callable[[Request], "str | Awaitable[str | None] | None"]
OnConnected = Callable[[Request, ConsentResult], "Response | Awaitable[Response | None] | None"]


def consent_routes(
    flow: ConsentFlow,
    *,
    tenant: TenantOf,
    on_connected: OnConnected | None = None,
    prefix: str = "/amazon-ads",
    name: str = "amazon_ads",
) -> list[Route]:
    """The Connect and callback routes under `prefix` (named "{name}_connect" and
    "{name}_callback"). `tenant(request)` is your own sign-in: the tenant id of the user
    signed in now (sync or async); `on_connected(request, result)` may answer instead of
    the default redirect (sync or async)."""
    prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""

    async def connect(request: Request) -> Response:
        who = await _maybe_await(tenant(request))
        query = request.query_params
        reply = connect_reply(flow, who, query.get("next"), query.get("region"), prefix)
        return _response(reply)

    async def callback(request: Request) -> Response:
        who = await _maybe_await(tenant(request))
        cookie = request.cookies.get(flow.cookie_name)
        outcome = await run_in_threadpool(
            complete_or_reply, flow, str(request.url), cookie, who, prefix
        )
        response: Response | None = None
        if isinstance(outcome, Reply):
            response = _response(outcome)
        elif on_connected is not None:
            response = await _maybe_await(on_connected(request, outcome))
        if response is None:
            assert not isinstance(outcome, Reply)
            response = _response(connected_reply(outcome))
        response.headers.append("set-cookie", flow.clear_cookie_header())
        return response

    return [
        Route(f"{prefix}/connect", connect, methods=["GET"], name=f"{name}_connect"),
        Route(f"{prefix}/callback", callback, methods=["GET"], name=f"{name}_callback"),
    ]


def _response(reply: Reply) -> Response:
    response: Response
    if reply.location is not None:
        response = RedirectResponse(reply.location, status_code=reply.status)
    else:
        response = HTMLResponse(reply.body or "", status_code=reply.status)
    response.headers["cache-control"] = "no-store"
    for header in reply.cookies:
        response.headers.append("set-cookie", header)
    return response


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value
