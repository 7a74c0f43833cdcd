"""A clock tests move by hand."""

from __future__ import annotations

import threading
import time


class FakeClock:
    """A clock you move by hand: pass it as `clock=` to AdsAuth and Emulator."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._guard = threading.Lock()

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        with self._guard:
            self._now += seconds
