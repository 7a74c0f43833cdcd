"""Sending token requests: retries with backoff and Retry-After, inside one deadline.

Each attempt ends within `timeout` seconds, connect through the last body byte
(`_token_http`). The whole cycle (attempts, backoff and Retry-After waits) ends within
`RetryPolicy.deadline`; the store locks' TTL and wait are derived from that deadline
(`_limits`), so a refresh can never outlive the lock that makes it single-flight.
The token call never uses the user's session, so an auth object cannot recurse into itself.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .._errors import ProxyAuthenticationError, TokenEndpointError
from .._limits import DEFAULT_REFRESH_DEADLINE
from .._redact import mask_url, printable
from .._token import Token
from .messages import RetryLater, TokenHttpRequest, interpret_token_response

if TYPE_CHECKING:
    import httpx

logger = logging.getLogger("amazon_ads_auth")


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait when the token endpoint fails transiently, and the
    deadline for the whole cycle."""

    max_retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 30.0
    max_retry_after: float = 60.0
    deadline: float = DEFAULT_REFRESH_DEADLINE

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number `attempt` (0-based): the server's Retry-After
        when given (capped), else exponential backoff with full jitter."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        ceiling = min(self.max_backoff, self.backoff * (2**attempt))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not crypto


class TokenTransport:
    """Sends token requests, retrying transient failures within the policy's deadline."""

    def __init__(
        self,
        *,
        timeout: float,
        policy: RetryPolicy,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        http: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = http  # None: our own deadline-bounded httpcore pool per attempt
        self._timeout = timeout
        self._policy = policy
        self._clock = clock
        self._sleep = sleep

    def close(self) -> None:
        """Nothing stays open between requests; kept so callers can always close."""

    def send(self, request: TokenHttpRequest, *, retry: bool = True) -> Token:
        """POST `request`; return the Token or raise a typed error. `retry=False` makes one
        attempt (the background refresh keeps its own, slower schedule)."""
        retries = self._policy.max_retries if retry else 0
        # Time used so far: attempts as measured, waits as asked for (an injected `sleep`
        # may not really sleep, so the monotonic clock alone would not count them).
        used = 0.0
        last: RetryLater | None = None
        attempts = 0
        for attempt in range(retries + 1):
            if last is not None:
                delay = self._policy.delay(attempt - 1, last.retry_after)
                if used + delay >= self._policy.deadline:
                    break
                logger.warning(
                    "token request failed (%s); retry %d of %d in %.2fs",
                    last.reason,
                    attempt,
                    retries,
                    delay,
                )
                self._sleep(delay)
                used += delay
            started = time.monotonic()
            outcome = self._attempt(request, min(self._timeout, self._policy.deadline - used))
            used += time.monotonic() - started
            attempts += 1
            if isinstance(outcome, Token):
                return outcome
            last = outcome
            if used >= self._policy.deadline:
                break
        assert last is not None
        raise TokenEndpointError(
            f"{last.reason} after {attempts} attempt(s) to {mask_url(request.url)}; Login with "
            "Amazon may be unavailable, try again later",
            status_code=last.status_code,
            retry_after=last.retry_after,
        )

    def _attempt(self, request: TokenHttpRequest, timeout: float) -> Token | RetryLater:
        import httpcore  # the token HTTP stack loads on the first token request

        from . import post as _token_http

        sent_at = self._clock()
        refused = False
        unsendable = ""
        try:
            body, wait = request.body.encode(), max(timeout, 0.001)
            if self._http is None:
                answer = _token_http.post(request.url, body, request.headers, wait)
            else:
                answer = _token_http.post_via(self._http, request.url, body, request.headers, wait)
        except httpcore.TimeoutException:
            return RetryLater(f"the token request timed out after {timeout:g}s")
        except (httpcore.UnsupportedProtocol, httpcore.LocalProtocolError) as exc:
            unsendable = type(exc).__name__
        except httpcore.ProxyError as exc:
            if "407" not in str(exc):
                return RetryLater(f"the proxy refused the connection ({printable(str(exc))})")
            refused = True
        except (httpcore.NetworkError, httpcore.ProtocolError, OSError) as exc:
            return RetryLater(f"could not reach the token endpoint ({type(exc).__name__})")
        else:
            return interpret_token_response(
                request,
                answer.status_code,
                answer.content_type,
                answer.body,
                answer.retry_after,
                sent_at,
                too_large=answer.too_large,
            )
        # Raised outside the except blocks, so the error carries no httpcore context.
        if refused:
            raise ProxyAuthenticationError(
                "the proxy refused the credentials in HTTPS_PROXY / HTTP_PROXY (407 Proxy "
                "Authentication Required): check the user and password in the proxy URL, or "
                "set NO_PROXY for the token endpoint's host"
            )
        raise TokenEndpointError(
            f"the token request to {mask_url(request.url)} could not be sent ({unsendable}): check "
            "token_url"
        )
