"""Locks that survive what processes do to them: fork safety (objects that hold locks get
fresh ones in a forked child) and one asyncio.Lock per event loop.

A lock held by another thread when the process forks stays held forever in the child (the
thread that would release it does not exist there). multiprocessing's default start method
on Linux and gunicorn --preload both fork, so every object of ours that owns locks
registers here and is given new ones in the child. Tasks of one loop queue on the loop's
lock for a refresh before any of them takes a thread.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import TYPE_CHECKING, Protocol


class _Forkable(Protocol):
    def _after_fork(self) -> None: ...


_registered: weakref.WeakSet[_Forkable] = weakref.WeakSet()


def forget_locks_at_fork(obj: _Forkable) -> None:
    """Call `obj._after_fork()` in every child forked after this call, while obj lives."""
    _registered.add(obj)


def _in_child() -> None:
    for obj in list(_registered):
        obj._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_in_child)

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
