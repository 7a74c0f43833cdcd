"""Fork safety: objects that hold locks get fresh ones in a forked child.

A lock held by another thread when the process forks stays held forever in the child (the
thread that would release it does not exist there). multiprocessing's default start method
on Linux and gunicorn --preload both fork, so every object of ours that owns locks
registers here and is given new ones in the child.
"""

from __future__ import annotations

import os
import weakref
from typing import Protocol


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
