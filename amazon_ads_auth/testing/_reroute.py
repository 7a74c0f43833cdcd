"""`Emulator.amazon_hosts()`: while active, requests to Amazon's real Ads API and LwA hosts
from requests, httpx, httpx2 and AdsAuth's own token requests are answered by the
emulator, in process, so code written for production runs unchanged in a test.

It patches the libraries' transports for the whole process (every thread): the patches are
installed when the first block starts and removed when the last one ends, and each request
goes to the newest block still active, so blocks may end in any order. While any block is
active, a request to an Amazon host the emulator cannot answer for (another Amazon host,
plain http, a port other than 443) raises `UnroutableHostError` instead of reaching the
network. For tests that run in parallel, prefer the in-process transports: they patch nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib
import importlib.util
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from ._transports import Handler, httpx_transport, requests_adapter

_AMAZON_DOMAINS = ("amazon", "amazonaws")


class UnroutableHostError(RuntimeError):
    """A request for an Amazon host that `amazon_hosts()` cannot route: it was not sent."""


@dataclasses.dataclass
class _Route:
    handler: Handler

    @functools.cached_property
    def httpx(self) -> Any:
        return httpx_transport(self.handler)

    @functools.cached_property
    def httpx2(self) -> Any:
        return httpx_transport(self.handler, importlib.import_module("httpx2"))

    @functools.cached_property
    def requests(self) -> Any:
        return requests_adapter(self.handler)


_routes: list[_Route] = []
_guard = threading.Lock()
_undo: list[Callable[[], None]] = []


@contextlib.contextmanager
def amazon_hosts(handler: Handler) -> Iterator[None]:
    """Answer Amazon's hosts with `handler` until the block ends (see the module doc)."""
    route = _Route(handler)
    with _guard:
        if not _routes:
            _install()
        _routes.append(route)
    try:
        yield
    finally:
        with _guard:
            _routes[:] = [r for r in _routes if r is not route]
            if not _routes:
                while _undo:
                    _undo.pop()()


def _routed_hosts() -> Any:
    from .._regions import ADS_API_HOSTS, Region
    from .._urls import HostScope
    from ..mcp.endpoints import AMAZON_MCP

    hosts = list(ADS_API_HOSTS)
    for region in Region:
        hosts += [urlsplit(region.token_url).netloc, urlsplit(region.authorization_url).netloc]
    hosts += [urlsplit(url).netloc for url in AMAZON_MCP.hosts.values()]  # /mcp, /mcp/lite
    return HostScope(hosts)


def route_for(url: str) -> _Route | None:
    """The route answering `url`, None for a host that is not Amazon's.

    Raises: UnroutableHostError for an Amazon host that cannot be routed."""
    with _guard:
        route = _routes[-1] if _routes else None
    if route is None:
        return None
    try:
        parts = urlsplit(url)
        host, port = (parts.hostname or "").lower(), parts.port
    except ValueError:
        return None
    if not _is_amazon(host):
        return None
    if _ROUTED().matches(parts.scheme, host, port):
        return route
    raise UnroutableHostError(
        f"amazon_hosts() is active and {parts.scheme}://{parts.netloc} is an Amazon host the "
        "emulator does not answer for (it answers https on port 443 for the Ads API, token "
        "and consent hosts): the request was not sent. Use the emulator's own URLs "
        "(emu.api_url, emu.auth_kwargs()) for anything else"
    )


_ROUTED = functools.cache(_routed_hosts)


def _is_amazon(host: str) -> bool:
    """amazon.com, www.amazon.co.uk, s3.amazonaws.com...: an Amazon name, never to be
    reached from a test."""
    labels = host.split(".")
    return any(
        label in _AMAZON_DOMAINS and 1 <= len(labels) - i - 1 <= 2 for i, label in enumerate(labels)
    )


def _patch(owner: Any, name: str, make: Callable[[Any], Any]) -> None:
    original = getattr(owner, name)
    setattr(owner, name, make(original))
    _undo.append(lambda: setattr(owner, name, original))


def _install() -> None:
    """(Under the guard.) Patch requests, httpx, httpx2 (when installed) and the token POST."""
    import httpx
    import requests.adapters

    from .._lwa import post as _token_http

    def requests_send(original: Any) -> Any:
        def send(adapter: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            route = route_for(request.url or "")
            if route is None:
                return original(adapter, request, *args, **kwargs)
            return route.requests.send(request, *args, **kwargs)

        return send

    def httpx_send(attribute: str) -> Callable[[Any], Any]:
        def make(original: Any) -> Any:
            def handle(transport: Any, request: Any) -> Any:
                route = route_for(str(request.url))
                if route is None:
                    return original(transport, request)
                return getattr(route, attribute).handle_request(request)

            return handle

        return make

    def httpx_send_async(attribute: str) -> Callable[[Any], Any]:
        def make(original: Any) -> Any:
            async def handle(transport: Any, request: Any) -> Any:
                route = route_for(str(request.url))
                if route is None:
                    return await original(transport, request)
                return await getattr(route, attribute).handle_async_request(request)

            return handle

        return make

    def token_post(original: Any) -> Any:
        def post(url: str, body: bytes, headers: Any, timeout: float) -> Any:
            route = route_for(url)
            if route is None:
                return original(url, body, headers, timeout)
            return _token_http.post_via(route.httpx, url, body, headers, timeout)

        return post

    _patch(requests.adapters.HTTPAdapter, "send", requests_send)
    _patch(httpx.HTTPTransport, "handle_request", httpx_send("httpx"))
    _patch(httpx.AsyncHTTPTransport, "handle_async_request", httpx_send_async("httpx"))
    if importlib.util.find_spec("httpx2") is not None:
        httpx2 = importlib.import_module("httpx2")
        _patch(httpx2.HTTPTransport, "handle_request", httpx_send("httpx2"))
        _patch(httpx2.AsyncHTTPTransport, "handle_async_request", httpx_send_async("httpx2"))
    _patch(_token_http, "post", token_post)
