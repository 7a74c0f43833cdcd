"""One asyncio.Lock per event loop, so tasks of a loop queue for a refresh before any of
them takes a thread; renewed in a forked child, where a lock held at fork time would stay
held forever."""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

from ._fork import forget_locks_at_fork

if TYPE_CHECKING:
    import asyncio


class LoopLocks:
    """`get()` is the running loop's lock, made on first use."""

    def __init__(self) -> None:
        self._after_fork()
        forget_locks_at_fork(self)

    def get(self) -> asyncio.Lock:
        import asyncio  # only async callers get here: no asyncio for sync programs

        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            with self._guard:
                lock = self._locks.setdefault(loop, asyncio.Lock())
        return lock

    def _after_fork(self) -> None:
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._guard = threading.Lock()
