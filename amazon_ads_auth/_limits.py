"""Time limits that must agree with each other, derived from one number.

A refresh (every attempt, backoff and Retry-After wait) ends within `refresh_deadline`.
The store locks that make it single-flight are sized from that deadline: a lock's TTL
outlasts the refresh (so no second process refreshes while the first still may), a waiter
waits a little longer than the TTL (so a dead holder's lock expires before anyone gives up),
and with the defaults the TTL stays below the 300 s refresh margin (so when a crashed
holder's lock expires, everyone's access token is still valid).
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator

MAX_TOKEN_BODY = 64 * 1024  # bytes of a token answer read at most (a token is ~1 KiB)
DEFAULT_REFRESH_DEADLINE = 120.0
DEFAULT_REFRESH_MARGIN = 300.0
EXPECTED_TOKEN_LIFETIME = 3600.0  # LwA's documented access-token lifetime
_SAVE_SLACK = 30.0


def lock_ttl_for(refresh_deadline: float) -> float:
    """How long a store lock may live: the refresh, plus time to save its result."""
    return refresh_deadline + _SAVE_SLACK


def lock_wait_for(refresh_deadline: float) -> float:
    """How long to wait for another holder's lock: past its TTL."""
    return lock_ttl_for(refresh_deadline) + _SAVE_SLACK


DEFAULT_LOCK_TTL = lock_ttl_for(DEFAULT_REFRESH_DEADLINE)
DEFAULT_LOCK_WAIT = lock_wait_for(DEFAULT_REFRESH_DEADLINE)


# The deadline of the refresh in progress, for stores whose calls must not outlast it (a
# `CallbackTokenStore` whose database hangs). A context variable, so `asyncio.to_thread`
# carries it into the worker thread.
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "amazon_ads_auth_deadline", default=None
)


@contextlib.contextmanager
def deadline_scope(seconds: float) -> Iterator[None]:
    """Store calls made inside this block may take at most `seconds` from now in all."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def seconds_left(default: float) -> float:
    """What is left of the current deadline (`default` outside any), never below zero."""
    deadline = _deadline.get()
    if deadline is None:
        return default
    return max(0.0, deadline - time.monotonic())
