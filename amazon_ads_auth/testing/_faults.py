"""Faults injected into token requests, and the gate that holds them: how tests make the
token endpoint slow, flaky or down, and count what a client sent while it was."""

from __future__ import annotations

import collections
import dataclasses
import json
import threading
import time
from collections.abc import Mapping
from typing import Any

from ._wire import DROP, RESET, TIMEOUT, Answer

HOLD_LIMIT = 30.0


@dataclasses.dataclass(frozen=True)
class Fault:
    """One injected failure for the next token request. Build with the class methods."""

    kind: str
    status: int = 0
    retry_after: str | None = None
    seconds: float = 0.0
    body: bytes = b""
    content_type: str = "application/json;charset=UTF-8"

    @classmethod
    def status_code(cls, status: int, *, retry_after: float | str | None = None) -> Fault:
        """Answer with this HTTP status and an Amazon-style error body."""
        body = json.dumps(
            {
                "error": "server_error" if status >= 500 else "rate_limited",
                "error_description": f"HTTP {status} from the emulator",
            }
        ).encode()
        after = None if retry_after is None else str(retry_after)
        return cls("status", status=status, retry_after=after, body=body)

    @classmethod
    def rate_limited(cls, retry_after: float | str = 1) -> Fault:
        """429 Too Many Requests with a Retry-After header."""
        return cls.status_code(429, retry_after=retry_after)

    @classmethod
    def drop_connection(cls) -> Fault:
        """Close the connection without answering."""
        return cls("drop")

    @classmethod
    def reset_connection(cls) -> Fault:
        """Abort the connection with a TCP reset (RST) instead of an answer."""
        return cls("reset")

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Wait this long, then answer normally (longer than the client timeout = a timeout)."""
        return cls("delay", seconds=seconds)

    @classmethod
    def non_json(cls, status: int = 200) -> Fault:
        """A plain-text body that is not JSON."""
        return cls("status", status=status, body=b"not json at all", content_type="text/plain")

    @classmethod
    def html(cls, status: int = 200) -> Fault:
        """An HTML error page, as a proxy or load balancer sends."""
        body = b"<html><head><title>Service Unavailable</title></head><body>Oops</body></html>"
        return cls("status", status=status, body=body, content_type="text/html")

    @classmethod
    def json_body(cls, payload: Mapping[str, Any], status: int = 200) -> Fault:
        """Any JSON payload, e.g. a token without access_token or with a wrong token_type."""
        return cls("status", status=status, body=json.dumps(payload).encode())

    @classmethod
    def token_fields(cls, **fields: Any) -> Fault:
        """A successful token answer with fields replaced (None removes a field)."""
        return cls("fields", body=json.dumps(fields).encode())

    @classmethod
    def oauth_error(cls, error: str, description: str = "", status: int = 400) -> Fault:
        """An OAuth error answer such as invalid_request."""
        payload = {"error": error, "error_description": description or error}
        return cls("status", status=status, body=json.dumps(payload).encode())


class TokenGate:
    """What stands before the token endpoint: the fault queue, an outage, a latency and
    the hold gate, plus the counters of token requests by grant type."""

    def __init__(self) -> None:
        self.latency = 0.0
        self.outage: int | None = None  # while set, every token request answers this status
        self.requests: collections.Counter[str] = collections.Counter()
        self.times: list[float] = []  # time.monotonic() of each token request
        self.hold_timeouts = 0
        self._faults: collections.deque[Fault] = collections.deque()
        self._guard = threading.Lock()
        self._open = threading.Event()
        self._open.set()
        self._hold_limit = HOLD_LIMIT
        self._held = threading.Semaphore(0)

    def queue(self, faults: tuple[Fault, ...]) -> None:
        with self._guard:
            self._faults.extend(faults)

    def hold(self, limit: float) -> None:
        self._hold_limit = limit
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def wait_for_held(self, timeout: float) -> bool:
        return self._held.acquire(timeout=timeout)

    def reset(self) -> None:
        with self._guard:
            self.requests.clear()
            self.times.clear()

    def admit(self, grant_type: str) -> Fault | None:
        """Count one token request, wait at the gate and for the latency, and return the
        fault it meets (None: answer normally)."""
        with self._guard:
            self.requests[grant_type] += 1
            self.times.append(time.monotonic())
            fault = self._faults.popleft() if self._faults else None
            if fault is None and self.outage is not None:
                fault = Fault.status_code(self.outage)
        if not self._open.is_set():
            self._held.release()
            if not self._open.wait(self._hold_limit):
                with self._guard:
                    self.hold_timeouts += 1
        if self.latency:
            time.sleep(self.latency)
        return fault


def answer_with_fault(fault: Fault, timeout: float | None = None) -> Answer | None:
    """The answer a fault gives instead of the real one (None: the real one, maybe after a
    delay or with `fields` replaced; see `replace_fields`). `timeout` is how long an
    in-process client waits: a longer delay ends as a TIMEOUT hang-up after that long."""
    if fault.kind in (DROP, RESET):
        return Answer(hang_up=fault.kind)
    if fault.kind == "delay":
        if timeout is not None and fault.seconds > timeout:
            time.sleep(timeout)
            return Answer(hang_up=TIMEOUT)
        time.sleep(fault.seconds)
    elif fault.kind == "status":
        headers = {"Content-Type": fault.content_type}
        if fault.retry_after is not None:
            headers["Retry-After"] = fault.retry_after
        return Answer(fault.status, headers, fault.body)
    return None


def replace_fields(fault: Fault | None, payload: dict[str, Any]) -> dict[str, Any]:
    """A successful token payload with a `token_fields` fault's fields put in."""
    if fault is not None and fault.kind == "fields":
        for name, value in json.loads(fault.body).items():
            if value is None:
                payload.pop(name, None)
            else:
                payload[name] = value
    return payload


class GateControls:
    """The emulator's controls of the gate before its token endpoint (`_gate`)."""

    _gate: TokenGate

    def queue_token_faults(self, *faults: Fault) -> None:
        """The next token requests fail like this, one fault each, in order.

        Raises: TypeError for anything but a Fault (`Fault.status_code(503)`, not 503)."""
        for fault in faults:
            if not isinstance(fault, Fault):
                raise TypeError(
                    f"queue_token_faults() takes Fault values (Fault.status_code(503), "
                    f"Fault.rate_limited(), ...), got {fault!r}"
                )
        self._gate.queue(faults)

    def hold_token_requests(self, limit: float = HOLD_LIMIT) -> None:
        """Token requests wait until `release_token_requests()`, or `limit` seconds at most
        (then `hold_timeouts` counts it, so a test can tell it was never released)."""
        self._gate.hold(limit)

    def release_token_requests(self) -> None:
        self._gate.release()

    def wait_for_held_token_request(self, timeout: float = 10.0) -> bool:
        """True once a token request is waiting at the gate (False after `timeout`)."""
        return self._gate.wait_for_held(timeout)

    @property
    def token_latency(self) -> float:
        """Seconds every token request takes before it is answered."""
        return self._gate.latency

    @token_latency.setter
    def token_latency(self, seconds: float) -> None:
        self._gate.latency = seconds

    @property
    def token_outage(self) -> int | None:
        """While set, every token request answers with this status (an outage of LwA)."""
        return self._gate.outage

    @token_outage.setter
    def token_outage(self, status: int | None) -> None:
        self._gate.outage = status

    hold_timeouts = property(lambda self: self._gate.hold_timeouts)
