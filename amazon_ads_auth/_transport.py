"""Sending token requests: one HTTP client of our own, retries with backoff and Retry-After.

The token call uses its own httpx.Client, never the user's session, so an auth object can
never recurse into itself. Async callers run this in a worker thread (see `_manager`).
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
from collections.abc import Callable

import httpx

from ._errors import TokenEndpointError
from ._lwa import RetryLater, TokenHttpRequest, interpret_token_response
from ._token import Token

logger = logging.getLogger("amazon_ads_auth")


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait when the token endpoint fails transiently."""

    max_retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 30.0
    max_retry_after: float = 60.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number `attempt` (0-based): the server's Retry-After
        when given (capped), else exponential backoff with full jitter."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        ceiling = min(self.max_backoff, self.backoff * (2**attempt))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not crypto


class TokenTransport:
    """Sends token requests over a private httpx.Client, retrying transient failures."""

    def __init__(
        self,
        *,
        timeout: float,
        policy: RetryPolicy,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self._timeout = timeout
        self._policy = policy
        self._clock = clock
        self._sleep = sleep
        self._client: httpx.Client | None = None
        self._client_guard = threading.Lock()

    def close(self) -> None:
        """Close the private HTTP client (a later request opens a new one)."""
        with self._client_guard:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def _http(self) -> httpx.Client:
        with self._client_guard:
            if self._client is None:
                self._client = httpx.Client(timeout=self._timeout, follow_redirects=False)
            return self._client

    def send(self, request: TokenHttpRequest) -> Token:
        """POST `request`; return the Token or raise a typed error after the retries."""
        attempts = self._policy.max_retries + 1
        last: RetryLater | None = None
        for attempt in range(attempts):
            if last is not None:
                delay = self._policy.delay(attempt - 1, last.retry_after)
                logger.warning(
                    "token request failed (%s); retry %d of %d in %.2fs",
                    last.reason,
                    attempt,
                    self._policy.max_retries,
                    delay,
                )
                self._sleep(delay)
            outcome = self._attempt(request)
            if isinstance(outcome, Token):
                return outcome
            last = outcome
        assert last is not None
        raise TokenEndpointError(
            f"{last.reason} after {attempts} attempt(s) to {request.url}; Login with Amazon "
            "may be unavailable, try again later",
            status_code=last.status_code,
        )

    def _attempt(self, request: TokenHttpRequest) -> Token | RetryLater:
        sent_at = self._clock()
        try:
            response = self._http().post(
                request.url, content=request.body.encode(), headers=dict(request.headers)
            )
        except httpx.TimeoutException:
            return RetryLater(f"the token request timed out after {self._timeout}s")
        except httpx.TransportError as exc:
            return RetryLater(f"could not reach the token endpoint ({type(exc).__name__})")
        return interpret_token_response(
            request,
            response.status_code,
            response.headers.get("content-type", ""),
            response.content,
            response.headers.get("retry-after"),
            sent_at,
        )
