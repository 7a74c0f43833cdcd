"""One token-endpoint POST with a hard deadline and a cap on the answer's size.

httpx's `timeout` bounds each socket operation, so a server that trickles a byte at a time
can hold a request for minutes. Here every read, write and connect gets the time left until
the attempt's deadline, through an httpcore network backend that wraps the standard one, so
the whole attempt (connect through the last body byte) ends by then. The body is read up to
`MAX_TOKEN_BODY` bytes and no further.

A fresh connection pool per attempt: token requests are rare (one per hour per grant), and a
pool that is never shared cannot hand a forked child its parent's socket.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import ssl
import time
import urllib.request
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import httpcore
import httpx

from .._limits import MAX_TOKEN_BODY
from .._urls import is_loopback


@dataclasses.dataclass(frozen=True)
class RawAnswer:
    """What came back: status, headers we use, and at most MAX_TOKEN_BODY bytes of body."""

    status_code: int
    content_type: str
    retry_after: str | None
    body: bytes
    too_large: bool


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadline: float) -> None:
        self._inner = inner
        self._deadline = deadline

    def _left(self, timeout: float | None, error: type[Exception]) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise error("the attempt's deadline passed")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        # Small writes (a token request is < 4 KiB), so one deadline check per call suffices.
        self._inner.write(buffer, self._left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(
            ssl_context, server_hostname, self._left(timeout, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(inner, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, deadline: float) -> None:
        self._inner = httpcore.SyncBackend()
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ConnectTimeout("the attempt's deadline passed")
        stream = self._inner.connect_tcp(
            host,
            port,
            left if timeout is None else min(timeout, left),
            local_address,
            socket_options,
        )
        return _DeadlineStream(stream, self._deadline)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:  # pragma: no cover - token URLs are http(s)
        raise httpcore.ConnectError("unix sockets are not used for token requests")


@functools.lru_cache(maxsize=4)
def _ssl_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """The verifying TLS context, made once per CA setting (SSL_CERT_FILE / _DIR, which
    httpx reads): loading the CA bundle costs ~40 ms of CPU, paid per token request
    otherwise (a `check` of 1,000 grants spent most of its time here)."""
    return httpx.create_ssl_context()


def _pool(url: str, backend: httpcore.NetworkBackend) -> httpcore.ConnectionPool:
    """A one-shot pool, through the environment's proxy (HTTPS_PROXY, NO_PROXY) if any;
    never through a proxy for loopback addresses."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    ssl_context = _ssl_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not is_loopback(host) and not urllib.request.proxy_bypass(host):
        proxy_url, proxy_auth = split_proxy_credentials(proxy)
        return httpcore.HTTPProxy(
            proxy_url=proxy_url,
            proxy_auth=proxy_auth,
            ssl_context=ssl_context,
            network_backend=backend,
            max_connections=1,
        )
    return httpcore.ConnectionPool(ssl_context=ssl_context, network_backend=backend)


def split_proxy_credentials(proxy: str) -> tuple[str, tuple[str, str] | None]:
    """`http://user:pass@proxy:3128` -> ("http://proxy:3128", ("user", "pass")): httpcore
    sends the pair as `Proxy-Authorization: Basic ...` (on CONNECT, for https)."""
    parts = urlsplit(proxy)
    if "@" not in parts.netloc:
        return proxy, None
    host = parts.netloc.rpartition("@")[2]
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    return urlunsplit(parts._replace(netloc=host)), (user, password)


def _read_capped(stream: Iterable[bytes]) -> tuple[bytes, bool]:
    """The body up to MAX_TOKEN_BODY bytes, and whether there was more (then not read on)."""
    chunks: list[bytes] = []
    size = 0
    for chunk in stream:
        size += len(chunk)
        if size > MAX_TOKEN_BODY:
            return b"".join(chunks), True
        chunks.append(chunk)
    return b"".join(chunks), False


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> RawAnswer:
    """POST and read the answer, all within `timeout` seconds (httpcore.TimeoutException
    after that; other httpcore errors for network failures)."""
    deadline = time.monotonic() + timeout
    pool = _pool(url, _DeadlineBackend(deadline))
    extensions = {"timeout": dict.fromkeys(("connect", "read", "write", "pool"), timeout)}
    try:
        with pool.stream(
            "POST",
            url,
            headers=[*headers.items(), ("Content-Length", str(len(body)))],
            content=body,
            extensions=extensions,
        ) as response:
            answer, too_large = _read_capped(response.iter_stream())
            found = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in response.headers}
            return RawAnswer(
                status_code=response.status,
                content_type=found.get("content-type", ""),
                retry_after=found.get("retry-after"),
                body=answer,
                too_large=too_large,
            )
    finally:
        pool.close()


def post_via(
    transport: httpx.BaseTransport,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    timeout: float,
) -> RawAnswer:
    """POST through a caller's httpx transport (`AdsAuth(token_transport=...)`, e.g. the
    emulator's in-process one) and read at most MAX_TOKEN_BODY bytes. The transport keeps
    its own time; its errors come out as the httpcore errors `post` raises."""
    request = httpx.Request(
        "POST",
        url,
        headers=dict(headers),
        content=body,
        extensions={"timeout": dict.fromkeys(("connect", "read", "write", "pool"), timeout)},
    )
    try:
        response = transport.handle_request(request)
        try:
            answer, too_large = _read_capped(response.stream)  # type: ignore[arg-type]
        finally:
            response.close()
    except httpx.TimeoutException as exc:
        raise httpcore.ReadTimeout(str(exc)) from None
    except httpx.ProxyError as exc:
        raise httpcore.ProxyError(str(exc)) from None
    except httpx.UnsupportedProtocol as exc:
        raise httpcore.UnsupportedProtocol(str(exc)) from None
    except httpx.TransportError as exc:
        raise httpcore.NetworkError(str(exc)) from None
    return RawAnswer(
        status_code=response.status_code,
        content_type=response.headers.get("content-type", ""),
        retry_after=response.headers.get("retry-after"),
        body=answer,
        too_large=too_large,
    )
