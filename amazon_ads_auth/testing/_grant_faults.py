"""Faults for one grant: make one refresh token's token requests fail (transiently, or for
good as an expired grant), while every other grant of the emulator is answered normally.

The emulator-wide faults (`_faults`) hit whichever request comes next; these pick the
request by the refresh token it presents, so a test of many grants (`amazon-ads-auth
check`) can give each grant its own fate: revoked, expired, 503, dropped, timing out.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Mapping

from ._faults import Fault

_INVALID_GRANT = (
    "The request has an invalid grant parameter : refresh_token. User may have revoked or "
    "didn't grant the permission."
)


class GrantFaults:
    """The per-grant faults: a queue of faults per refresh token, and the expired ones."""

    def __init__(self) -> None:
        self._queued: dict[str, collections.deque[Fault]] = {}
        self._expired: set[str] = set()
        self._guard = threading.Lock()

    def fail(self, refresh_token: str, fault: Fault, times: int) -> None:
        with self._guard:
            self._queued.setdefault(refresh_token, collections.deque()).extend([fault] * times)

    def expire(self, refresh_token: str) -> None:
        with self._guard:
            self._expired.add(refresh_token)

    def fault_for(self, form: Mapping[str, str]) -> Fault | None:
        """The fault this token request meets (None: answer it normally)."""
        if form.get("grant_type") != "refresh_token":
            return None
        presented = form.get("refresh_token", "")
        with self._guard:
            if presented in self._expired:
                return Fault.oauth_error("invalid_grant", _INVALID_GRANT)
            queued = self._queued.get(presented)
            return queued.popleft() if queued else None


class GrantFaultControls:
    """The emulator's controls for per-grant faults (mixed into `Emulator`)."""

    _grant_faults: GrantFaults

    def fail_refresh(
        self,
        refresh_token: str,
        status: int | str = 503,
        *,
        times: int = 1,
        fault: Fault | None = None,
        seconds: float = 30.0,
    ) -> None:
        """The next `times` refreshes with `refresh_token` fail, other grants are answered
        normally: with HTTP `status` (an Amazon-style error body; 429 carries Retry-After:
        0), or `status` "drop" (the connection closes), "reset" (TCP reset), "timeout" (no
        answer for `seconds`, longer than the client waits), or any `fault`. Counted as
        token requests like any other."""
        if fault is None:
            fault = _fault_for(status, seconds)
        self._grant_faults.fail(refresh_token, fault, times)

    def expire_refresh_token(self, refresh_token: str) -> None:
        """The grant's refresh token has expired (365 days after consent): it gets
        invalid_grant from now on, exactly as a revoked one does on the wire (Amazon says
        nothing more; the client tells them apart by the expiry it recorded)."""
        self._grant_faults.expire(refresh_token)


def _fault_for(status: int | str, seconds: float) -> Fault:
    if status == "drop":
        return Fault.drop_connection()
    if status == "reset":
        return Fault.reset_connection()
    if status == "timeout":
        return Fault.delay(seconds)
    if isinstance(status, int) and not isinstance(status, bool) and 400 <= status <= 599:
        return Fault.rate_limited(0) if status == 429 else Fault.status_code(status)
    raise ValueError(
        f"status must be an HTTP error status, 'drop', 'reset' or 'timeout': {status!r}"
    )
