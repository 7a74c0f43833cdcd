"""Fork safety with real forks: children never share the parent's sockets, and a lock a
parent thread held at fork time does not block the child forever."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import pytest

from amazon_ads_auth import AdsAuth
from amazon_ads_auth.testing import Emulator

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def fork_child(work: Callable[[], object]) -> int:
    """Fork; the child runs `work` and exits 0 on success, 1 on any error."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        code = 1
        try:
            work()
            code = 0
        finally:
            os._exit(code)
    return pid


def wait_for_exit(pid: int, timeout: float = 30) -> int:
    """The child's exit code, polling with a bound; a child still running then is killed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    raise AssertionError(f"child {pid} did not finish within {timeout}s")


def test_forked_children_refresh_on_their_own_connections(
    emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    auth = make_auth(timeout=20)
    auth.ensure_token()
    children = [fork_child(auth.refresh) for _ in range(8)]
    assert [wait_for_exit(pid) for pid in children] == [0] * 8
    assert emulator.token_requests == {"refresh_token": 9}  # no "missing grant_type"


def test_fork_during_a_refresh_does_not_block_the_child(
    emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    auth = make_auth(timeout=20)
    auth.ensure_token()
    emulator.hold_token_requests()
    refresher = threading.Thread(target=auth.refresh)
    refresher.start()
    assert emulator.wait_for_held_token_request()  # the parent thread holds the locks now
    child = fork_child(auth.refresh)
    emulator.release_token_requests()
    refresher.join(timeout=20)
    assert wait_for_exit(child) == 0
    assert emulator.token_requests == {"refresh_token": 3}
