"""Lifecycle events: what happened to a grant, as frozen values handed to `on_event=`.

The token manager, the web flow, the CLI and `check_grants` tell the app what happened to
a grant (refreshed, refused, connected, disconnected, about to expire) so it can alert or
count without parsing logs. Events carry the grant's key ("<client id>/<store key>"), never
a secret, a token or an error message (only LwA's error code). They are collected while a
lock is held and delivered after it is released, on the thread that did the work; a
callback that raises is logged and never breaks a refresh or a call. Listeners added with
`add_event_listener` (the OpenTelemetry adapter is one) hear every event of the process.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal, Protocol, Union

from .._errors import (
    GrantExpiredError,
    InvalidClientError,
    InvalidGrantError,
    TokenEndpointError,
    TokenRequestError,
)

logger = logging.getLogger("amazon_ads_auth")

FailureReason = Literal["revoked", "expired", "client", "unreachable"]
EXPIRING_WITHIN = datetime.timedelta(days=30)  # a running AdsAuth warns this long ahead
_NOTICE_EVERY = 86400.0  # at most one GrantExpiring per grant per day from a running AdsAuth


@dataclasses.dataclass(frozen=True)
class TokenRefreshed:
    """A refresh succeeded: `duration` seconds at the token endpoint (retries included);
    `soft` when it ran in the background inside the margin (nobody waited), else callers
    waited for it (`waited`)."""

    key: str
    region: str
    duration: float
    soft: bool

    @property
    def waited(self) -> bool:
        return not self.soft


@dataclasses.dataclass(frozen=True)
class RefreshFailed:
    """A refresh failed after the usual retries. `reason`: "revoked" or "expired"
    (invalid_grant: ask the advertiser to connect again), "client" (the client id or
    secret was refused), "unreachable" (network, timeout, 429, 5xx: try later, the grant
    is fine). `attempt` counts failures in a row for this grant in this process; `error`
    is LwA's error code (or "http_503", "timeout", ...), never a message."""

    key: str
    region: str
    reason: FailureReason
    attempt: int
    duration: float
    error: str
    soft: bool = False


@dataclasses.dataclass(frozen=True)
class TokenExchanged:
    """An authorization code was exchanged at the token endpoint (`result` "ok", or the
    reason it failed, as in RefreshFailed)."""

    key: str
    region: str
    duration: float
    result: str


@dataclasses.dataclass(frozen=True)
class GrantConnected:
    """A grant was stored after consent: `source` is "web" (ConsentFlow.complete) or "cli"
    (`amazon-ads-auth login`); `profiles` is how many advertising profiles it sees."""

    key: str
    region: str
    source: str
    profiles: int


@dataclasses.dataclass(frozen=True)
class GrantDisconnected:
    """A grant was deleted: `source` "web" (ConsentFlow.disconnect) or "cli" (logout)."""

    key: str
    source: str


@dataclasses.dataclass(frozen=True)
class GrantExpiring:
    """The grant's refresh token expires in `days_left` days (0: today or already):
    ask the advertiser to connect again before then."""

    key: str
    days_left: int
    expires_at: datetime.datetime


@dataclasses.dataclass(frozen=True)
class GrantChecked:
    """`check_grants` classified a grant: `state` is one of ok, expiring, revoked, expired,
    client, unreachable, unreadable, no secret."""

    key: str
    region: str
    state: str


Event = Union[  # noqa: UP007 (a runtime alias, Python 3.10 safe)
    TokenRefreshed,
    RefreshFailed,
    TokenExchanged,
    GrantConnected,
    GrantDisconnected,
    GrantExpiring,
    GrantChecked,
]
OnEvent = Callable[[Event], object]
EVENT_TYPES = (
    TokenRefreshed,
    RefreshFailed,
    TokenExchanged,
    GrantConnected,
    GrantDisconnected,
    GrantExpiring,
    GrantChecked,
)

_listeners: tuple[OnEvent, ...] = ()
_listeners_guard = threading.Lock()


def add_event_listener(callback: OnEvent) -> Callable[[], None]:
    """Hear every event of this process (every AdsAuth, flow, check and CLI command);
    returns a function that stops it. For instrumentation: `on_event=` is per object."""
    global _listeners
    if not callable(callback):
        from .._errors import ConfigurationError

        raise ConfigurationError("an event listener must be a function taking one event")
    with _listeners_guard:
        _listeners = (*_listeners, callback)

    def remove() -> None:
        global _listeners
        with _listeners_guard:
            _listeners = tuple(x for x in _listeners if x is not callback)

    return remove


def check_on_event(on_event: object) -> OnEvent | None:
    """`on_event` if it is None or callable.

    Raises: ConfigurationError otherwise."""
    if on_event is not None and not callable(on_event):
        from .._errors import ConfigurationError

        raise ConfigurationError("on_event must be a function taking one event")
    return on_event


def deliver(event: Event, on_event: OnEvent | None) -> None:
    """Hand `event` to `on_event` and to every process listener; a callback that raises is
    logged (its exception type only) and forgotten."""
    for callback in (on_event, *_listeners) if on_event is not None else _listeners:
        try:
            callback(event)
        except Exception as exc:  # the app's callback must never break a refresh or a call
            logger.warning(
                "an event callback failed on %s for key %r (%s)",
                type(event).__name__,
                event.key,
                type(exc).__name__,
            )


def failure_reason(exc: BaseException) -> FailureReason:
    """Why a token request failed, in the words of `RefreshFailed.reason`."""
    if isinstance(exc, InvalidGrantError):
        return "expired" if isinstance(exc, GrantExpiredError) else "revoked"
    if isinstance(exc, (InvalidClientError, TokenRequestError)):
        return "client"
    return "unreachable"


def error_code(exc: BaseException) -> str:
    """LwA's error code, or a short name for a transport failure; never a message."""
    if isinstance(exc, TokenRequestError):
        return exc.error
    if isinstance(exc, TokenEndpointError):
        if exc.status_code is not None:
            return f"http_{exc.status_code}"
        return "timeout" if "timed out" in str(exc) else "connection"
    return type(exc).__name__


class HasRefreshExpiry(Protocol):
    """A grant as the lifecycle record describes it: a `Login`, a `GrantRecord`, or a
    stored `Token` as the token manager loads it (its record's expiry attached)."""

    @property
    def refresh_expires_at(self) -> float | None: ...


def refresh_expires_at(grant: HasRefreshExpiry | None) -> datetime.datetime | None:
    """When the grant's refresh token expires (the grant record's `refresh_expires_at`,
    epoch seconds), as a UTC datetime; None when unknown (never a false warning)."""
    value = None if grant is None else grant.refresh_expires_at
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return datetime.datetime.fromtimestamp(value, tz=datetime.timezone.utc)
    return None


def days_left(expires_at: datetime.datetime, now: float) -> int:
    """Whole days until `expires_at` (0 once it is today or past)."""
    return max(0, math.floor((expires_at.timestamp() - now + 0.001) / 86400))  # µs rounding


class GrantEvents:
    """One grant's events inside the token manager: collected per thread while its locks
    are held, delivered by `collecting()` on the way out (after the locks are released)."""

    def __init__(self, key: str, region: str, on_event: OnEvent | None) -> None:
        self.key = key
        self.region = region
        self.on_event = on_event
        self._local = threading.local()
        self._failures = 0
        self._noticed_at = float("-inf")
        # False where another part says it instead (`check_grants` reports each grant).
        self.notices = True

    @contextmanager
    def collecting(self, *, soft: bool) -> Iterator[None]:
        """Collect this thread's events inside the block; deliver them when it ends."""
        local = self._local
        outer = getattr(local, "pending", None)
        if outer is not None:  # nested: the outermost block delivers
            yield
            return
        local.pending, local.soft = [], soft
        try:
            yield
        finally:
            pending, local.pending = local.pending, None
            for event in pending:
                deliver(event, self.on_event)

    def _add(self, event: Event) -> None:
        pending = getattr(self._local, "pending", None)
        if pending is None:
            deliver(event, self.on_event)  # outside any lock
        else:
            pending.append(event)

    @property
    def _soft(self) -> bool:
        return bool(getattr(self._local, "soft", False))

    def refreshed(self, duration: float) -> None:
        self._failures = 0
        self._add(TokenRefreshed(self.key, self.region, duration, self._soft))

    def refresh_failed(self, exc: BaseException, duration: float) -> None:
        self._failures += 1
        self._add(
            RefreshFailed(
                self.key,
                self.region,
                failure_reason(exc),
                self._failures,
                duration,
                error_code(exc),
                self._soft,
            )
        )

    def exchanged(self, duration: float, exc: BaseException | None = None) -> None:
        result = "ok" if exc is None else failure_reason(exc)
        self._add(TokenExchanged(self.key, self.region, duration, result))

    def notice(self, grant: HasRefreshExpiry | None, now: float) -> None:
        """A GrantExpiring when `grant`'s refresh token expires within 30 days, at most once
        a day (a running AdsAuth that notices, so an app hears it without a `check`).
        `grant` is the stored token as `GrantIO.load` returns it: its record's expiry."""
        if not self.notices or now - self._noticed_at < _NOTICE_EVERY:
            return
        expires_at = refresh_expires_at(grant)
        if expires_at is None or expires_at.timestamp() - now > EXPIRING_WITHIN.total_seconds():
            return
        self._noticed_at = now
        self._add(GrantExpiring(self.key, days_left(expires_at, now), expires_at))
