"""OpenTelemetry metrics and traces for token requests and grant health (extra `[otel]`).

    from amazon_ads_auth import otel
    otel.instrument()            # the global providers; or meter_provider=, tracer_provider=

From then on every token request of the process (every AdsAuth, LoginDirectory,
ConsentFlow, `check`) is counted, timed and traced, and each `check` updates the gauge of
grants by state. The names below are stable (documented in docs/operations.md):

- `amazon_ads_auth.token.requests` (counter, `{request}`): token requests by `result`
  (ok, revoked, expired, client, unreachable), `region` and `grant_type`
  (refresh_token, authorization_code);
- `amazon_ads_auth.token.duration` (histogram, `s`): their duration, same attributes;
- `amazon_ads_auth.grants` (gauge, `{grant}`): grants by `state` as the last check saw them;
- `amazon_ads_auth.grant.checks` (counter, `{grant}`): grants checked, by `state`;
- spans `lwa.refresh` and `lwa.exchange` (kind CLIENT) with `amazon_ads_auth.region`,
  `amazon_ads_auth.result`, `amazon_ads_auth.soft` and, on failure, `error.type` (LwA's
  error code) and an ERROR status.

No secret, no profile id and no store key is ever an attribute: the grant's key
(`amazon_ads_auth.key`, on spans only) is added with `include_keys=True` (mind the
cardinality). This module is the only one that imports OpenTelemetry; without the extra,
`import amazon_ads_auth` loads none of it and the token path is unchanged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

try:
    from opentelemetry import metrics, trace
except ImportError as exc:  # pragma: no cover (tested in a subprocess without it)
    raise ImportError(
        "amazon_ads_auth.otel needs OpenTelemetry: pip install 'amazon-ads-auth[otel]'"
    ) from exc

from .._ops.check import GrantState
from .._refresh.events import (
    Event,
    GrantChecked,
    RefreshFailed,
    TokenExchanged,
    TokenRefreshed,
    add_event_listener,
)

__all__ = [
    "GRANTS",
    "GRANT_CHECKS",
    "INSTRUMENTATION_NAME",
    "SPAN_EXCHANGE",
    "SPAN_REFRESH",
    "TOKEN_DURATION",
    "TOKEN_REQUESTS",
    "Instrumentation",
    "instrument",
]

INSTRUMENTATION_NAME = "amazon_ads_auth"
TOKEN_REQUESTS = "amazon_ads_auth.token.requests"
TOKEN_DURATION = "amazon_ads_auth.token.duration"
GRANTS = "amazon_ads_auth.grants"
GRANT_CHECKS = "amazon_ads_auth.grant.checks"
SPAN_REFRESH = "lwa.refresh"
SPAN_EXCHANGE = "lwa.exchange"


class Instrumentation:
    """Records events as metrics and spans. `instrument()` makes one and has it hear
    every event of the process; it is also an `on_event=` callback on its own
    (`instrument(listen=False)`). `uninstrument()` stops listening."""

    def __init__(
        self,
        meter_provider: Any = None,
        tracer_provider: Any = None,
        *,
        include_keys: bool = False,
    ) -> None:
        version = _version()
        meter = metrics.get_meter(INSTRUMENTATION_NAME, version, meter_provider)
        self._tracer = trace.get_tracer(INSTRUMENTATION_NAME, version, tracer_provider)
        self._include_keys = include_keys
        self._requests = meter.create_counter(
            TOKEN_REQUESTS, unit="{request}", description="Token requests to Login with Amazon"
        )
        self._duration = meter.create_histogram(
            TOKEN_DURATION, unit="s", description="Duration of token requests, retries included"
        )
        self._checks = meter.create_counter(
            GRANT_CHECKS, unit="{grant}", description="Grants classified by check, by state"
        )
        meter.create_observable_gauge(
            GRANTS,
            callbacks=[self._observe_grants],
            unit="{grant}",
            description="Grants by state, as the last check saw them",
        )
        self._states: dict[str, str] = {}  # grant key -> state; in memory, never exported
        self._guard = threading.Lock()
        self._stop: Callable[[], None] | None = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, TokenRefreshed):
            self._token_request(
                SPAN_REFRESH, event.key, event.region, event.duration, "ok", soft=event.soft
            )
        elif isinstance(event, RefreshFailed):
            self._token_request(
                SPAN_REFRESH,
                event.key,
                event.region,
                event.duration,
                event.reason,
                event.error,
                soft=event.soft,
            )
        elif isinstance(event, TokenExchanged):
            self._token_request(
                SPAN_EXCHANGE, event.key, event.region, event.duration, event.result
            )
        elif isinstance(event, GrantChecked):
            self._checks.add(1, {"state": event.state})
            with self._guard:
                self._states[event.key] = event.state

    def uninstrument(self) -> None:
        """Stop recording the process's events."""
        if self._stop is not None:
            self._stop()
            self._stop = None

    def _token_request(
        self,
        name: str,
        key: str,
        region: str,
        duration: float,
        result: str,
        error: str | None = None,
        *,
        soft: bool | None = None,
    ) -> None:
        grant_type = "refresh_token" if name == SPAN_REFRESH else "authorization_code"
        attributes = {"result": result, "region": region, "grant_type": grant_type}
        self._requests.add(1, attributes)
        self._duration.record(duration, attributes)
        end = time.time_ns()
        span_attributes: dict[str, Any] = {
            "amazon_ads_auth.region": region,
            "amazon_ads_auth.result": result,
        }
        if self._include_keys:
            span_attributes["amazon_ads_auth.key"] = key
        if soft is not None:
            span_attributes["amazon_ads_auth.soft"] = soft
        if error is not None:
            span_attributes["error.type"] = error
        span = self._tracer.start_span(
            name,
            kind=trace.SpanKind.CLIENT,
            attributes=span_attributes,
            start_time=end - int(duration * 1e9),
        )
        if result != "ok":
            span.set_status(trace.Status(trace.StatusCode.ERROR, result))
        span.end(end_time=end)

    def _observe_grants(self, options: Any) -> Iterable[metrics.Observation]:
        with self._guard:
            states = list(self._states.values())
        return [
            metrics.Observation(states.count(state.value), {"state": state.value})
            for state in GrantState
        ]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("amazon-ads-auth")
    except PackageNotFoundError:
        return "0"


def instrument(
    meter_provider: Any = None,
    tracer_provider: Any = None,
    *,
    include_keys: bool = False,
    listen: bool = True,
) -> Instrumentation:
    """Record every token request and check of this process with OpenTelemetry (the
    global providers unless given). `listen=False`: record only what it is handed as an
    `on_event=` callback. Returns the Instrumentation (`.uninstrument()` stops it)."""
    instrumentation = Instrumentation(meter_provider, tracer_provider, include_keys=include_keys)
    if listen:
        instrumentation._stop = add_event_listener(instrumentation)
    return instrumentation
