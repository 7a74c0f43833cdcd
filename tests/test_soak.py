"""Soak: 4 processes x 4 threads for a minute on 2-second tokens, sharing a file or Redis
store. Zero failed API calls, at most one token request per refresh window, no torn file.
Marked slow: `.ci/run` runs it once, apart from the main suite."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import pathlib
import time
import uuid
from typing import Any

import pytest

from amazon_ads_auth import Token
from amazon_ads_auth.testing import Emulator
from tests.accounts import profiles_for_tests
from tests.workers import emulator_info, make_store, soak

SPAWN = multiprocessing.get_context("spawn")
SECONDS = float(os.environ.get("SOAK_SECONDS", "60"))
LIFETIME = 2.0
MARGIN = 0.5
EFFECTIVE = LIFETIME - MARGIN


@pytest.mark.slow
@pytest.mark.timeout(SECONDS * 4 + 120)
@pytest.mark.parametrize("kind", ["file", "redis"])
def test_soak(kind: str, tmp_path: pathlib.Path, request: pytest.FixtureRequest) -> None:
    if kind == "file":
        spec: tuple[Any, ...] = ("file", str(tmp_path / "tokens"))
    else:
        spec = ("redis", request.getfixturevalue("redis_url"), f"soak-{uuid.uuid4().hex}:", 30.0)
    with Emulator(access_token_lifetime=int(LIFETIME), profiles=profiles_for_tests()) as emu:
        refresh_token = emu.issue_refresh_token()
        make_store(spec).save(f"{emu.client_id}/default", Token("Atza|x", refresh_token, 0.0))
        info = emulator_info(emu, refresh_margin=MARGIN)
        barrier = SPAWN.Barrier(4)
        results = SPAWN.Queue()
        processes = [
            SPAWN.Process(target=soak, args=(spec, info, 4, SECONDS, barrier, results))
            for _ in range(4)
        ]
        for process in processes:
            process.start()
        outcomes = [results.get(timeout=SECONDS + 120) for _ in processes]
        ended = time.monotonic()
        for process in processes:
            process.join(timeout=60)
        times = list(emu.token_request_times)
    calls = sum(c for c, _ in outcomes)
    failures = sum(f for _, f in outcomes)
    assert calls > 0
    assert failures == 0
    span = ended - times[0]
    print(f"soak {kind}: {calls} calls, {len(times)} token requests over {span:.1f} s")
    # Counts, not timing: a loaded 2-core machine may run a refresh late, never early. At
    # most one request per refresh window; at least one per token lifetime, since calls go
    # on the whole time and none failed.
    assert len(times) <= span / EFFECTIVE + 1, (len(times), span)
    assert len(times) >= span / LIFETIME - 1, (len(times), span)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) > EFFECTIVE * 0.5, "two refreshes within one token lifetime"
    stored = make_store(spec).load(f"{emu.client_id}/default")  # loads: not torn
    assert stored is not None
    assert stored.refresh_token == refresh_token
