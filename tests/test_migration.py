"""Moving over without logging in again: requests-oauthlib / Authlib token dicts, a real
OAuth2Session, the docs' before/after code, and a database in two functions."""

from __future__ import annotations

import json
import logging
import multiprocessing
import pathlib
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from amazon_ads_auth import (
    AdsAuth,
    CallbackTokenStore,
    MemoryTokenStore,
    NoTokenError,
    StoreError,
    Token,
    TokenFormatError,
)
from amazon_ads_auth.testing import Emulator, FakeClock
from tests.accounts import profiles_for_tests
from tests.docs_text import blocks as docs_blocks
from tests.workers import emulator_info, sqlite_store_calls

SPAWN = multiprocessing.get_context("spawn")


def oauth2_token(emulator: Emulator) -> dict[str, Any]:
    """A token dict as requests-oauthlib saves it, from a real token request."""
    answer = requests.post(
        emulator.token_url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": emulator.issue_refresh_token(),
            "client_id": emulator.client_id,
            "client_secret": emulator.client_secret,
        },
        timeout=30,
    ).json()
    return {**answer, "expires_at": time.time() + answer["expires_in"], "scope": ["profile"]}


def test_token_from_oauth2_dict() -> None:
    now = 1_000_000.0
    data = {
        "access_token": "Atza|a",
        "refresh_token": "Atzr|r",
        "token_type": "Bearer",
        "expires_in": 3600,
        "expires_at": now + 100,
        "scope": ["advertising::campaign_management", "profile"],
        "id_token": "ignored",
    }
    token = Token.from_oauth2_dict(data, now=now)
    assert token.expires_at == now + 100  # expires_at wins over expires_in
    assert token.scope == "advertising::campaign_management profile"
    del data["expires_at"]
    assert Token.from_oauth2_dict(data, now=now).expires_at == now + 3600
    del data["expires_in"]
    assert Token.from_oauth2_dict(data, now=now).is_expired(now=now)  # unknown: refresh first
    with pytest.raises(TokenFormatError):
        Token.from_oauth2_dict({**data, "token_type": "mac"})
    with pytest.raises(TokenFormatError):
        Token.from_dict(data)  # strict for our own stored data
    assert Token.from_oauth2_dict(token.to_oauth2_dict(now=now), now=now) == token


def test_import_token_keeps_a_valid_access_token(
    emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    data = oauth2_token(emulator)
    emulator.reset_counters()
    store = MemoryTokenStore()
    auth = make_auth(None, store=store)
    with pytest.raises(NoTokenError, match=re.escape(f"{emulator.client_id}/default")):
        auth.ensure_token()  # the error names the key it looked under
    auth.import_token(data)
    assert requests.get(emulator.api_url + "/v2/profiles", auth=auth, timeout=30).ok
    assert emulator.token_request_count == 0
    assert store.load(f"{emulator.client_id}/default") == auth.token
    assert auth.headers()["Authorization"] == "Bearer " + data["access_token"]
    with pytest.raises(StoreError, match="Token"):
        store.save("k", data)  # type: ignore[arg-type]


def test_from_a_real_oauth2_session(emulator: Emulator, clock: FakeClock) -> None:
    from requests_oauthlib import OAuth2Session

    updates: list[dict[str, Any]] = []
    data = oauth2_token(emulator)
    session = OAuth2Session(
        emulator.client_id,
        token=data,
        auto_refresh_url=emulator.token_url,
        auto_refresh_kwargs={
            "client_id": emulator.client_id,
            "client_secret": emulator.client_secret,
        },
        token_updater=updates.append,
    )
    emulator.reset_counters()
    auth = AdsAuth.from_oauth2_session(session, api_hosts=[emulator.api_host], clock=clock)
    assert requests.get(emulator.api_url + "/v2/profiles", auth=auth, timeout=30).ok
    assert emulator.token_request_count == 0  # its valid access token was kept
    clock.advance(4000)
    assert requests.get(emulator.api_url + "/v2/profiles", auth=auth, timeout=30).ok
    assert emulator.token_requests == {"refresh_token": 1}
    assert len(updates) == 1  # the user's own persistence saw the new token
    assert updates[0]["access_token"] == auth.token.access_token  # type: ignore[union-attr]
    assert updates[0]["refresh_token"] == data["refresh_token"]
    plain = OAuth2Session(emulator.client_id)
    plain.auth = AdsAuth.from_oauth2_session(session, clock=clock)  # on its own session
    with emulator.amazon_hosts():  # requests-oauthlib insists on https
        assert plain.get("https://advertising-api.amazon.com/v2/profiles", timeout=30).ok


def test_the_docs_migration_runs_as_written(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    # requests-oauthlib itself logs whole tokens at DEBUG (its issue #536): not ours to fix.
    monkeypatch.setattr(logging.getLogger("requests_oauthlib"), "propagate", False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "token.json").write_text(json.dumps(oauth2_token(emulator)))
    blocks = [b.code for b in docs_blocks("docs/migrating.md")][:3]
    namespace: dict[str, Any] = {}
    secret = emulator.client_secret
    with emulator.amazon_hosts():
        for block in blocks[:2]:  # before, then after: the same session, moved over
            code = block.replace("amzn1.application-oa2-client.xxxx", emulator.client_id)
            exec(code.replace("amzn1.oa2-cs.v1.xxxx", secret), namespace)
        assert namespace["auth"].token.access_token == namespace["saved_token"]["access_token"]
        code = blocks[2].replace("authlib_session.token", "saved_token")
        exec(code.replace("amzn1.application-oa2-client.xxxx", emulator.client_id), namespace)
        assert requests.get(
            "https://advertising-api.amazon.com/v2/profiles", auth=namespace["auth"], timeout=30
        ).ok


def dict_store() -> tuple[CallbackTokenStore, dict[str, dict[str, Any]]]:
    rows: dict[str, dict[str, Any]] = {}
    store = CallbackTokenStore(load=rows.get, save=rows.__setitem__, delete=rows.pop)
    return store, rows


def test_callback_store_never_loses_a_refresh_token() -> None:
    store, rows = dict_store()
    auth = AdsAuth("amzn1.application-oa2-client.k", "secret", store=store, store_key="k")
    auth.import_token(Token("Atza|1", "Atzr|keep", 2e9))
    auth.import_token(Token("Atza|2", None, 2e9 + 1))  # the merge is the manager's, once
    key = auth._manager.key
    assert rows[key]["token"]["refresh_token"] == "Atzr|keep"
    assert rows[key]["token"]["access_token"] == "Atza|2"
    rows["k"] = {"not": "a token"}
    with pytest.raises(StoreError, match="not a token"):
        store.load("k")

    def broken(key: str) -> None:
        raise RuntimeError("database is down")

    with pytest.raises(StoreError, match="RuntimeError"):
        CallbackTokenStore(load=broken, save=rows.__setitem__).load("k")


def test_callback_store_without_a_lock_is_single_flight_per_process(
    emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    store, _ = dict_store()
    auth = make_auth(store=store)
    threads = [threading.Thread(target=auth.ensure_token) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert emulator.token_requests == {"refresh_token": 1}


def test_readme_sqlite_store_four_processes_one_refresh(tmp_path: pathlib.Path) -> None:
    block = docs_blocks("docs/stores.md", after="## Your own database")[0].code
    with Emulator(profiles=profiles_for_tests()) as emu:
        emu.token_latency = 0.05
        refresh_token = emu.issue_refresh_token()
        results = SPAWN.Queue()
        barrier = SPAWN.Barrier(4)
        info = emulator_info(emu, refresh_token=refresh_token)
        processes = [
            SPAWN.Process(
                target=sqlite_store_calls, args=(block, str(tmp_path), info, barrier, results)
            )
            for _ in range(4)
        ]
        for process in processes:
            process.start()
        outcomes = [results.get(timeout=120) for _ in processes]
        for process in processes:
            process.join(timeout=60)
            assert process.exitcode == 0
        assert emu.token_requests == {"refresh_token": 1}
        assert all(statuses == [200] * 4 for statuses, _ in outcomes)
        assert len({token for _, token in outcomes}) == 1
