"""The background refresh runner: at most one refresh thread per grant, with a backoff.

When a caller sees its token inside the refresh margin (soft), the token manager asks this
runner to `start`; it runs the manager's attempt in a daemon thread, unless one is running
or the backoff says not yet. The attempt's failures are logged here, never raised: the
callers still hold a valid token. `invalid_grant` and a removed grant stop the runner; a
successful refresh or a new grant (`reset`) starts it again. The shape is google-auth's
`RefreshThreadManager`; the delays come from `_decisions`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from .._errors import AdsAuthError, InvalidGrantError, NoTokenError
from .decisions import backoff_delay, busy_recheck_at

logger = logging.getLogger("amazon_ads_auth")


class BackgroundRefresher:
    """Runs `attempt` in a worker thread, one at a time, spaced out after failures.

    `expires_at` tells the runner when the current token expires (for the backoff: never
    more than half the time it has left); `key` names the grant in log lines.
    """

    def __init__(
        self,
        attempt: Callable[[], None],
        expires_at: Callable[[], float],
        clock: Callable[[], float],
        key: str,
    ) -> None:
        self._attempt = attempt
        self._expires_at = expires_at
        self._clock = clock
        self._key = key
        self._guard = threading.Lock()
        self._running = False
        self._stopped = False
        self._not_before = float("-inf")
        self._failures = 0

    def start(self, now: float) -> None:
        """Start one attempt now unless one is running, the runner is stopped, or a backoff
        is in force. Cheap when it does nothing (the hot path calls it inside the margin)."""
        if self._running or self._stopped or now < self._not_before:
            return
        with self._guard:
            if self._running:
                return
            self._running = True
        try:
            threading.Thread(target=self._run, name="amazon-ads-auth-refresh", daemon=True).start()
        except RuntimeError:  # interpreter shutting down: callers still have a valid token
            self._running = False

    @property
    def stopped(self) -> bool:
        return self._stopped

    def failed(self, expires_at: float) -> float:
        """Count a failed attempt (or save); returns the wait before the next one."""
        now = self._clock()
        delay = backoff_delay(self._failures, now, expires_at)
        self._failures = min(self._failures + 1, 32)
        self._not_before = now + delay
        return delay

    def busy(self, expires_at: float) -> None:
        """Another process is refreshing: not a failure, just look again shortly."""
        self._not_before = busy_recheck_at(self._clock(), expires_at)

    def reset(self) -> None:
        """A refresh succeeded or a new grant came: the next margin starts afresh."""
        self._failures = 0
        self._not_before = float("-inf")
        self._stopped = False

    def after_fork(self) -> None:
        """In a forked child the parent's worker thread does not exist."""
        self._guard = threading.Lock()
        self._running = False

    def _run(self) -> None:
        try:
            self._attempt()
        except InvalidGrantError as exc:
            self._stopped = True
            logger.error(
                "background refresh for key %r failed for good (%s); calls go on with the "
                "current token until it expires",
                self._key,
                exc,
            )
        except NoTokenError as exc:
            self._stopped = True
            logger.warning(
                "background refresh for key %r stopped (%s); calls go on with the current "
                "token until it expires",
                self._key,
                exc,
            )
        except AdsAuthError as exc:
            delay = self.failed(self._expires_at())
            logger.warning(
                "background refresh for key %r failed (%s); the current token is still "
                "valid; next attempt in %.3gs",
                self._key,
                exc,
                delay,
            )
        except Exception as exc:  # a bug or a third-party store's error: never raised
            self.failed(self._expires_at())
            logger.warning(
                "background refresh for key %r failed unexpectedly (%s)",
                self._key,
                type(exc).__name__,
            )
        finally:
            self._running = False
