"""The bugs the decisions module fixed, end to end through the emulator: no refresh storm
with short tokens, `refresh()` always refreshes, the unhelped-401 memo is per token and
profile, a deleted grant stays deleted, records never race tokens, and a callback store
that hangs or misbehaves gives StoreError."""

from __future__ import annotations

import contextlib
import logging
import pathlib
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from amazon_ads_auth import (
    AdsAuth,
    CallbackTokenStore,
    ConfigurationError,
    FileTokenStore,
    KeyringTokenStore,
    NoTokenError,
    RedisTokenStore,
    StoreError,
    Token,
)
from amazon_ads_auth._logins.records import Login, save_login
from amazon_ads_auth.testing import Emulator, FakeClock
from tests.conftest import Stack, eventually


def background_idle(auth: AdsAuth) -> bool:
    return not auth._manager._background._running


# ----- the refresh storm -----------------------------------------------------------------------


def test_tokens_shorter_than_the_margin_cause_no_storm(
    emulator: Emulator,
    make_auth: Callable[..., AdsAuth],
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    emulator.access_token_lifetime = 60  # the margin (300 s) is longer than the token's life
    auth = make_auth(refresh_margin=300)
    with caplog.at_level(logging.WARNING, logger="amazon_ads_auth"):
        for _ in range(1000):  # a second of calls, one every millisecond
            auth.headers()
            clock.advance(0.001)
            eventually(lambda: background_idle(auth))
    assert emulator.token_requests == {"refresh_token": 1}  # the first request only
    warned = [r.getMessage() for r in caplog.records if "refresh margin" in r.getMessage()]
    assert len(warned) == 1 and "60s" in warned[0]
    # Half the token's own life later, one background refresh; no call waits for it.
    clock.advance(29.5)
    for _ in range(50):
        assert auth.headers()["Authorization"].startswith("Bearer ")
        eventually(lambda: background_idle(auth))
    assert emulator.token_requests == {"refresh_token": 2}
    assert len([r for r in caplog.records if "refresh margin" in r.getMessage()]) == 1


# ----- refresh() and the 401 memo ----------------------------------------------------------------


def wrong_client(stack: Stack, emulator: Emulator, auth: AdsAuth) -> int:
    headers = {"Amazon-Advertising-API-ClientId": "other"}  # every token is refused
    return stack.get(emulator.api_url + "/v2/profiles", auth, headers=headers).status


def test_refresh_always_refreshes_after_an_unhelped_401(
    stack: Stack, emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    auth = make_auth(profile_id=7)
    assert wrong_client(stack, emulator, auth) == 401  # refreshed once, did not help
    assert emulator.token_requests["refresh_token"] == 2
    before = auth.token
    assert before is not None
    refreshed = auth.refresh()
    assert refreshed.access_token != before.access_token
    assert emulator.token_requests["refresh_token"] == 3
    auth.refresh()
    assert emulator.token_requests["refresh_token"] == 4


def test_the_401_memo_is_per_profile(
    stack: Stack, emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    auth = make_auth(profile_id=7)
    other = auth.with_profile(8)
    assert wrong_client(stack, emulator, auth) == 401  # profile 7's 401s: not the token's fault
    assert emulator.token_requests["refresh_token"] == 2
    emulator.revoke_access_tokens()  # now the token really is dead
    result = stack.get(emulator.api_url + "/v2/profiles", other)  # profile 8 refreshes and recovers
    assert (result.status, result.history) == (200, [401])
    assert emulator.token_requests["refresh_token"] == 3


def test_refresh_shares_a_refresh_that_finished_while_it_waited(
    emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    auth = make_auth()
    auth.ensure_token()
    emulator.hold_token_requests()
    results: list[Token] = []
    first = threading.Thread(target=lambda: results.append(auth.refresh()))
    first.start()
    assert emulator.wait_for_held_token_request()
    second = threading.Thread(target=lambda: results.append(auth.refresh()))
    second.start()
    eventually(lambda: auth._manager._lock.locked())
    emulator.release_token_requests()
    first.join()
    second.join()
    assert results[0] == results[1]
    assert emulator.token_requests["refresh_token"] == 2  # the first, and one shared refresh


# ----- a deleted grant stays deleted -------------------------------------------------------------


def soft_auth(emulator: Emulator, store: FileTokenStore, clock: Callable[[], float]) -> AdsAuth:
    """An AdsAuth whose stored token is valid for 100 s more: inside its 300 s margin."""
    refresh_token = emulator.issue_refresh_token()
    old = Token("Atza|" + "o" * 400, refresh_token, clock() + 100)
    emulator.accept_access_token(old.access_token, old.expires_at)
    auth = AdsAuth(
        emulator.client_id,
        emulator.client_secret,
        store=store,
        clock=clock,
        **emulator.auth_kwargs(),
    )
    auth.import_token(old)
    return auth


def test_a_background_refresh_never_brings_a_deleted_grant_back(
    emulator: Emulator, clock: FakeClock, tmp_path: pathlib.Path
) -> None:
    store = FileTokenStore(tmp_path)
    auth = soft_auth(emulator, store, clock)
    key = auth._manager.key
    FileTokenStore(tmp_path).delete(key)  # `logout` in another process
    for _ in range(20):
        assert auth.headers()["Authorization"] == "Bearer " + "Atza|" + "o" * 400
        eventually(lambda: background_idle(auth))
        clock.advance(1)
    assert store.keys() == [] and store.load(key) is None
    assert emulator.token_requests == {}
    clock.advance(100)  # expired: the waiting path says what happened
    with pytest.raises(NoTokenError, match=r"the login was removed.*amazon-ads-auth login"):
        auth.headers()
    assert store.keys() == []
    auth.close()


LOGOUT_THEN_CALLS = """
import sys, time
from amazon_ads_auth import AdsAuth, FileTokenStore
store = FileTokenStore(sys.argv[1])
auth = AdsAuth(sys.argv[2], sys.argv[3], store=store, token_url=sys.argv[4],
               api_hosts=[sys.argv[5]])
header = auth.headers()["Authorization"]
print("ready", flush=True)
sys.stdin.readline()  # the other process logs out now
end = time.monotonic() + 2
calls = 0
while time.monotonic() < end:
    assert auth.headers()["Authorization"] == header
    calls += 1
    time.sleep(0.005)
print("calls", calls, "keys", store.keys(), flush=True)
"""


def test_logout_in_one_process_sticks_in_another(tmp_path: pathlib.Path) -> None:
    folder = tmp_path / "tokens"
    with Emulator() as emulator:  # real clock: two processes
        soft_auth(emulator, FileTokenStore(folder), time.time).close()
        worker = subprocess.Popen(
            [sys.executable, "-c", LOGOUT_THEN_CALLS, str(folder), emulator.client_id,
             emulator.client_secret, emulator.token_url, emulator.api_host],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert worker.stdout is not None and worker.stdin is not None
        assert worker.stdout.readline().strip() == "ready"
        logout = subprocess.run(
            [sys.executable, "-m", "amazon_ads_auth", "logout", "--store", f"file:{folder}",
             "--client-id", emulator.client_id, "--yes"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert logout.returncode == 0, logout.stderr
        worker.stdin.write("go\n")
        worker.stdin.flush()
        out, _ = worker.communicate(timeout=60)
        assert worker.returncode == 0
        assert out.strip().endswith("keys []")
        assert FileTokenStore(folder).keys() == []
        assert emulator.token_requests == {}


# ----- records never race tokens, and never collide with grants -----------------------------------


def test_login_records_and_token_saves_never_lose_each_other(tmp_path: pathlib.Path) -> None:
    store = FileTokenStore(tmp_path)
    key = "amzn1.client/race"
    store.save(key, Token("Atza|0", "Atzr|r", 0.0))
    rounds = 150

    def tokens() -> None:  # as the token manager saves: under the key lock
        for n in range(1, rounds + 1):
            with store.lock(key):
                store.save(key, Token(f"Atza|{n}", "Atzr|r", float(n)))

    def records() -> None:
        for n in range(1, rounds + 1):
            save_login(store, Login("amzn1.client", "race", scope=f"scope-{n}"))

    threads = [threading.Thread(target=tokens), threading.Thread(target=records)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    token = store.load(key)
    record = store.load_login(key)
    assert token is not None and token.access_token == f"Atza|{rounds}"
    assert record is not None and record["scope"] == f"scope-{rounds}"


def test_a_keyring_record_never_destroys_another_keys_grant(
    file_keyring: Any, tmp_path: pathlib.Path
) -> None:
    store = KeyringTokenStore(lock_folder=tmp_path / "locks")
    store.save("amzn1.client/X", Token("Atza|x", "Atzr|x", 1.0))
    store.save("amzn1.client/X#login", Token("Atza|other", "Atzr|other", 2.0))
    save_login(store, Login("amzn1.client", "X", region="eu"))
    assert store.load("amzn1.client/X#login") == Token("Atza|other", "Atzr|other", 2.0)
    assert store.load_login("amzn1.client/X") is not None
    assert store.load_login("amzn1.client/X#login") is None
    with pytest.raises(StoreError, match="reserved"):
        store.save("#login:amzn1.client/X", Token("Atza|y", None, 1.0))


def test_a_keyring_record_of_an_older_version_is_still_read(
    file_keyring: Any, tmp_path: pathlib.Path
) -> None:
    import json

    import keyring

    store = KeyringTokenStore(lock_folder=tmp_path / "locks")
    store.save("amzn1.client/Y", Token("Atza|y", "Atzr|y", 1.0))
    bare = json.dumps(Token("Atza|y", "Atzr|y", 1.0).to_dict())  # the entry an older version wrote
    keyring.set_password(store.service, "amzn1.client/Y", bare)
    old = Login("amzn1.client", "Y", region="fe").to_record()
    keyring.set_password(store.service, "amzn1.client/Y#login", json.dumps(old))
    assert store.load_login("amzn1.client/Y") == old
    save_login(store, Login("amzn1.client", "Y", region="eu"))  # moved to the new name
    assert keyring.get_password(store.service, "amzn1.client/Y#login") is None
    assert store.load_login("amzn1.client/Y")["region"] == "eu"  # type: ignore[index]


def test_redis_refuses_keys_that_could_name_a_record_or_lock(redis_url: str) -> None:
    store = RedisTokenStore(redis_url, prefix="reserved-test:")
    for key in ("login:amzn1.client/X", "lock:amzn1.client/X"):
        with pytest.raises(StoreError, match="reserves"):
            store.save(key, Token("Atza|x", "Atzr|x", 1.0))


# ----- a callback store that hangs or misbehaves --------------------------------------------------


def test_a_hung_callback_lock_gives_store_error_within_the_deadline(
    emulator: Emulator, clock: FakeClock
) -> None:
    rows: dict[str, dict[str, Any]] = {}
    release = threading.Event()

    @contextlib.contextmanager
    def hung_lock(key: str) -> Iterator[None]:
        release.wait(60)
        yield

    store = CallbackTokenStore(load=rows.get, save=rows.__setitem__, lock=hung_lock)
    auth = AdsAuth(
        emulator.client_id,
        emulator.client_secret,
        store=store,
        clock=clock,
        refresh_deadline=0.5,
        **emulator.auth_kwargs(),
    )
    rows[auth._manager.key] = Token("Atza|old", emulator.issue_refresh_token(), 0.0).to_dict()
    started = time.monotonic()
    try:
        with pytest.raises(StoreError, match=r"lock\(.*\) of the CallbackTokenStore"):
            auth.ensure_token()
    finally:
        release.set()
    assert time.monotonic() - started < 10  # bounded (the hang would last 60 s)
    auth.close()


class HostileMapping(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("boom")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("boom")

    def __len__(self) -> int:
        return 1

    def get(self, key: str, default: Any = None) -> Any:
        raise RuntimeError("boom")


@pytest.mark.parametrize("failing", ["load", "save", "delete", "lock", "mapping"])
def test_any_callback_exception_is_a_store_error_naming_it(failing: str) -> None:
    def boom(*args: object) -> Any:
        raise RuntimeError("database exploded")

    rows: dict[str, Any] = {}
    functions: dict[str, Any] = {
        "load": rows.get,
        "save": rows.__setitem__,
        "delete": rows.pop,
        "lock": lambda key: contextlib.nullcontext(),
    }
    if failing == "mapping":
        functions["load"] = lambda key: HostileMapping()
        name = "load"
    else:
        functions[failing] = boom
        name = failing
    store = CallbackTokenStore(**functions)
    token = Token("Atza|t", "Atzr|t", 1.0)
    action = {
        "load": lambda: store.load("k"),
        "save": lambda: store.save("k", token),
        "delete": lambda: store.delete("k"),
        "lock": lambda: store.lock("k").__enter__(),
    }[name]
    with pytest.raises(StoreError, match=rf"{name}\('k'\) of the CallbackTokenStore") as caught:
        action()
    assert "exploded" not in str(caught.value) and "boom" not in str(caught.value)


# ----- on_new_token ------------------------------------------------------------------------------


def test_on_new_token_hears_every_refresh_and_cannot_break_one(
    emulator: Emulator, make_auth: Callable[..., AdsAuth], captured_logs: list[str]
) -> None:
    seen: list[Token] = []
    auth = make_auth(on_new_token=seen.append)
    first = auth.ensure_token()
    second = auth.refresh()
    assert seen == [first, second]

    def broken(token: Token) -> None:
        raise RuntimeError("the user's database is down")

    failing = make_auth(on_new_token=broken)
    assert failing.ensure_token().access_token.startswith("Atza|")
    assert any("new-token callback" in line and "RuntimeError" in line for line in captured_logs)
    with pytest.raises(ConfigurationError, match="on_new_token"):
        make_auth(on_new_token="not callable")
