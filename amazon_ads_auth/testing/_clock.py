"""A clock tests move by hand, whose `sleep` moves it instead of waiting."""

from __future__ import annotations

import math
import threading
import time


class FakeClock:
    """A clock you move by hand: pass it as `clock=` to AdsAuth and Emulator, and its
    `sleep` as `sleep=` to AdsAuth (an emulator on this clock puts it in `auth_kwargs()`),
    so retry backoff moves the clock instead of taking real time. `sleeps` lists every
    wait asked for, in order."""

    def __init__(self, start: float | None = None) -> None:
        if start is not None and not _is_time(start):
            raise TypeError(f"start must be a time in seconds, got {start!r}")
        self._now = time.time() if start is None else float(start)
        self._guard = threading.Lock()
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by `seconds`.

        Raises: TypeError for a non-number; ValueError for a negative or non-finite one
        (a clock that goes back is not what tokens meet)."""
        with self._guard:
            self._now += _checked(seconds)

    def sleep(self, seconds: float) -> None:
        """What a retry's wait does on this clock: record it and move the clock, at once.

        Raises: as `advance`."""
        with self._guard:
            waited = _checked(seconds)
            self.sleeps.append(waited)
            self._now += waited

    def __repr__(self) -> str:
        return f"FakeClock({self._now!r})"


def _is_time(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _checked(seconds: object) -> float:
    if not _is_time(seconds):
        raise TypeError(f"seconds must be a number, got {type(seconds).__name__}")
    value = float(seconds)  # type: ignore[arg-type]
    if value < 0 or not math.isfinite(value):
        raise ValueError(f"seconds must be finite and not negative, got {value}")
    return value
