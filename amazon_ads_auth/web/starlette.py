"""The consent flow as Starlette routes (FastAPI apps take them too).

    app.router.routes += consent_routes(flow, tenant=lambda request: request.state.user.org_id)

`GET {prefix}/connect?next=/path&region=eu` sends the browser to Amazon with the consent
cookie; `GET {prefix}/callback` completes the consent in a worker thread (it does blocking
I/O: the code exchange, the profile lookup, the store), clears the cookie, and answers with
`on_connected`'s response, else a redirect to `next`, else to `success_url`, else to
`GET {prefix}/connected`, the built-in "Amazon Ads is connected" page.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

try:
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, RedirectResponse, Response
    from starlette.routing import Route
except ImportError as exc:  # pragma: no cover - exercised in a process without Starlette
    raise ImportError(
        "amazon_ads_auth.web.starlette needs Starlette: pip install 'amazon-ads-auth[web]' "
        f"(or 'amazon-ads-auth[starlette]') ({exc})",
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
from ._values import ConsentPage, ConsentResult

TenantOf = Callable[[Request], Any]
OnConnected = Callable[[Request, ConsentResult], "Response | Awaitable[Response | None] | None"]
RenderPage = Callable[[ConsentPage], Any]


def consent_routes(
    flow: ConsentFlow,
    *,
    tenant: TenantOf,
    on_connected: OnConnected | None = None,
    render_page: RenderPage | None = None,
    success_url: str | None = None,
    sign_in_url: str = "/",
    continue_url: str = "/",
    prefix: str = "/amazon-ads",
    name: str = "amazon_ads",
) -> list[Route]:
    """The Connect, callback and success routes under `prefix` (named "{name}_connect",
    "{name}_callback", "{name}_connected").

    `tenant(request)` is your own sign-in (sync or async): the signed-in tenant's id, a
    `str` or `int`, or any false value when nobody is signed in (a 403 page whose action
    is `sign_in_url`). `on_connected(request, result)` may answer instead of the default
    redirect (sync or async). `render_page(page)` renders a `ConsentPage` with your own
    template (sync or async; an HTML string or a Response); by default the built-in page.
    After a consent the browser goes to `next`, else `success_url`, else the built-in
    success page, whose action is `continue_url`."""
    prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
    urls = Urls(prefix, sign_in_url, success_url, continue_url)

    async def respond(reply: Reply) -> Response:
        response: Response
        if reply.location is not None:
            response = RedirectResponse(reply.location, status_code=reply.status)
        elif reply.page is not None and render_page is not None:
            rendered = await _maybe_await(render_page(reply.page))
            response = (
                rendered
                if isinstance(rendered, Response)
                else HTMLResponse(str(rendered), status_code=reply.page.status)
            )
        else:
            assert reply.page is not None
            response = HTMLResponse(render_default_page(reply.page), status_code=reply.status)
        response.headers["cache-control"] = "no-store"
        for header in reply.cookies:
            response.headers.append("set-cookie", header)
        return response

    async def connect(request: Request) -> Response:
        who = await _maybe_await(tenant(request))
        query = request.query_params
        return await respond(connect_reply(flow, who, query.get("next"), query.get("region"), urls))

    async def callback(request: Request) -> Response:
        who = await _maybe_await(tenant(request))
        cookie = request.cookies.get(flow.cookie_name)
        done = request.cookies.get(flow.done_cookie_name)
        outcome = await run_in_threadpool(
            complete_or_reply, flow, str(request.url), cookie, who, urls, done
        )
        response: Response | None = None
        if isinstance(outcome, Reply):
            response = await respond(outcome)
        else:
            if on_connected is not None:
                response = await _maybe_await(on_connected(request, outcome))
            reply = connected_reply(flow, outcome, urls)
            if response is None:
                response = await respond(reply)
            else:
                for header in reply.cookies:
                    response.headers.append("set-cookie", header)
        response.headers.append("set-cookie", flow.clear_cookie_header())
        return response

    async def connected(request: Request) -> Response:
        who = await _maybe_await(tenant(request))
        done = request.cookies.get(flow.done_cookie_name)
        return await respond(await run_in_threadpool(success_reply, flow, who, done, urls))

    return [
        Route(f"{prefix}/connect", connect, methods=["GET"], name=f"{name}_connect"),
        Route(f"{prefix}/callback", callback, methods=["GET"], name=f"{name}_callback"),
        Route(f"{prefix}/connected", connected, methods=["GET"], name=f"{name}_connected"),
    ]


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value
