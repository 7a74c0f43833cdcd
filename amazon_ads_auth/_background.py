"""When the next background refresh of a grant may start, and whether one is running.

The token manager starts a background refresh when a caller sees the token inside its
refresh margin. This schedule makes that at most one at a time per grant, and spaces out
attempts after a failure (1 s, doubling, capped at 30 s, and never more than half the time
the token has left, so attempts come closer together as expiry nears and the last one can
still finish before it). `invalid_grant` stops it: only a
successful refresh or a new grant starts it again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

FIRST_BACKOFF = 1.0
MAX_BACKOFF = 30.0
BUSY_RECHECK = 1.0  # another process holds the store lock: look at the store again then


class SoftRefreshSchedule:
    """Single flight and backoff for background refreshes; no I/O."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._guard = threading.Lock()
        self._running = False
        self._stopped = False
        self._not_before = float("-inf")
        self._failures = 0

    def claim(self, now: float) -> bool:
        """True for exactly one caller when an attempt may start now; it must `release()`."""
        if self._running or self._stopped or now < self._not_before:
            return False
        with self._guard:
            if self._running:
                return False
            self._running = True
            return True

    def release(self) -> None:
        self._running = False

    def failed(self, expires_at: float) -> float:
        """Record a failed attempt; returns the wait before the next one: the backoff, but
        never more than half the time the token has left, so a last attempt still has time
        to finish before callers would have to wait for it."""
        now = self._clock()
        delay: float = min(MAX_BACKOFF, FIRST_BACKOFF * 2.0**self._failures)
        delay = max(0.0, min(delay, (expires_at - now) / 2))
        self._failures = min(self._failures + 1, 32)
        self._not_before = now + delay
        return delay

    def busy(self, expires_at: float) -> None:
        """Another process is refreshing: not a failure, just look again shortly."""
        self._not_before = min(self._clock() + BUSY_RECHECK, expires_at)

    def stop(self) -> None:
        """No more background attempts (the grant was refused)."""
        self._stopped = True

    def reset(self) -> None:
        """A refresh succeeded: the next margin starts with a clean slate."""
        self._failures = 0
        self._not_before = float("-inf")
        self._stopped = False

    @property
    def stopped(self) -> bool:
        return self._stopped

    def after_fork(self) -> SoftRefreshSchedule:
        """A copy for a forked child, where the parent's worker thread does not exist."""
        child = SoftRefreshSchedule(self._clock)
        child._stopped = self._stopped
        child._not_before = self._not_before
        child._failures = self._failures
        return child
