"""The background refresh runner: at most one refresh thread per grant, with a backoff.

When a caller sees its token inside the refresh margin (soft), the token manager asks this
runner to `start` (when the grant's state says an attempt is due: not stopped, no backoff
in force); it runs the manager's attempt in a daemon thread, unless one is running. The
attempt's failures are logged here, never raised: the callers still hold a valid token.
`invalid_grant` and a removed grant stop the background attempts; a successful refresh or
a new grant starts them again (both recorded in the manager's `GrantState`). The shape is
google-auth's `RefreshThreadManager`; the delays come from `decisions`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from .._errors import AdsAuthError, InvalidGrantError, NoTokenError

logger = logging.getLogger("amazon_ads_auth")


class BackgroundRefresher:
    """Runs `attempt` in a worker thread, one at a time.

    The schedule (stopped, not before, failures) is grant state, kept in the manager's
    `GrantState`: the manager calls `start` only when that state says an attempt is due, and
    the runner reports each outcome back (`failed` returns the backoff delay it recorded,
    `stop` records a failure for good). What stays here is the thread: whether one is
    running. `key` names the grant in log lines.
    """

    def __init__(
        self,
        attempt: Callable[[], None],
        failed: Callable[[], float],
        stop: Callable[[], None],
        key: str,
    ) -> None:
        self._attempt = attempt
        self._failed = failed
        self._stop = stop
        self._key = key
        self._guard = threading.Lock()
        self._running = False

    def start(self) -> None:
        """Start one attempt now unless one is running. Cheap when it does nothing (the hot
        path calls it inside the margin)."""
        if self._running:
            return
        with self._guard:
            if self._running:
                return
            self._running = True
        try:
            threading.Thread(target=self._run, name="amazon-ads-auth-refresh", daemon=True).start()
        except RuntimeError:  # interpreter shutting down: callers still have a valid token
            self._running = False

    def after_fork(self) -> None:
        """In a forked child the parent's worker thread does not exist."""
        self._guard = threading.Lock()
        self._running = False

    def _run(self) -> None:
        try:
            self._attempt()
        except InvalidGrantError as exc:
            self._stop()
            logger.error(
                "background refresh for key %r failed for good (%s); calls go on with the "
                "current token until it expires",
                self._key,
                exc,
            )
        except NoTokenError as exc:
            self._stop()
            logger.warning(
                "background refresh for key %r stopped (%s); calls go on with the current "
                "token until it expires",
                self._key,
                exc,
            )
        except AdsAuthError as exc:
            delay = self._failed()
            logger.warning(
                "background refresh for key %r failed (%s); the current token is still "
                "valid; next attempt in %.3gs",
                self._key,
                exc,
                delay,
            )
        except Exception as exc:  # a bug or a third-party store's error: never raised
            self._failed()
            logger.warning(
                "background refresh for key %r failed unexpectedly (%s)",
                self._key,
                type(exc).__name__,
            )
        finally:
            self._running = False
