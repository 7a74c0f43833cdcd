"""Every store keeps the TokenStore contract; file, keyring and Redis specifics."""

from __future__ import annotations

import json
import os
import pathlib
import stat
import threading
import uuid
from collections.abc import Callable
from typing import Any

import keyring
import keyring.backends.fail
import pytest

from amazon_ads_auth import (
    AdsAuth,
    ConfigurationError,
    FileTokenStore,
    KeyringTokenStore,
    MemoryTokenStore,
    RedisTokenStore,
    StoreError,
    Token,
    TokenStore,
    open_store,
)
from amazon_ads_auth.testing import Emulator, FakeClock
from tests.file_keyring import FileKeyring


@pytest.fixture(params=["memory", "file", "keyring", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> TokenStore:
    kind = request.param
    if kind == "memory":
        return MemoryTokenStore()
    if kind == "file":
        return FileTokenStore(tmp_path / "tokens")
    if kind == "keyring":
        request.getfixturevalue("file_keyring")
        return KeyringTokenStore(lock_folder=tmp_path / "locks")
    url = request.getfixturevalue("redis_url")
    return RedisTokenStore(url, prefix=f"test-{uuid.uuid4().hex}:")


def token(n: int, refresh: str | None = "Atzr|r") -> Token:
    return Token(f"Atza|{n}", refresh, 1000.0 + n)


def test_round_trip_and_missing_key(store: TokenStore) -> None:
    assert store.load("client/default") is None
    store.save("client/default", token(1))
    assert store.load("client/default") == token(1)


def test_never_replaces_a_refresh_token_with_none(store: TokenStore) -> None:
    # The merge is the token manager's, under the key lock, for every store alike.
    auth = AdsAuth("amzn1.application-oa2-client.m", "secret", store=store, store_key="k")
    key = auth._manager.key
    auth.import_token(token(1, "Atzr|keep"))
    auth.import_token(token(2, None))
    assert store.load(key) == token(2, "Atzr|keep")
    auth.import_token(token(3, "Atzr|new"))
    assert store.load(key) == token(3, "Atzr|new")


def test_many_clients_and_keys_without_collisions(store: TokenStore) -> None:
    keys = [f"{client}/{key}" for client in ("c1", "c2", "C1") for key in ("a", "b", "../x")]
    for n, key in enumerate(keys):
        store.save(key, token(n))
    store.delete("c2/a")
    store.delete("never-saved")
    for n, key in enumerate(keys):
        assert store.load(key) == (None if key == "c2/a" else token(n))
    if hasattr(store, "keys"):
        assert sorted(store.keys()) == sorted(k for k in keys if k != "c2/a")


def test_login_records_live_with_the_grant(store: TokenStore) -> None:
    from amazon_ads_auth._logins.records import Login, load_logins, save_login

    store.save("amzn1.client/brand-a", token(1))
    login = Login("amzn1.client", "brand-a", region="eu", client_secret="s3cret-value")
    login = login.with_profiles([{"profileId": 42, "countryCode": "DE"}])
    assert save_login(store, login)
    store.save("amzn1.client/brand-a", token(2))  # a refresh keeps the record
    store.save("amzn1.client/old", token(3))  # a grant without a record
    found = {x.store_key: x for x in load_logins(store)}
    assert found["brand-a"] == login
    assert found["brand-a"].client_secret == "s3cret-value"
    assert not found["old"].recorded and found["old"].client_id == "amzn1.client"
    assert sorted(found) == ["brand-a", "old"]  # records are not listed as grants
    store.delete("amzn1.client/brand-a")
    assert [x.store_key for x in load_logins(store)] == ["old"]
    assert getattr(store, "load_login")("amzn1.client/brand-a") is None  # noqa: B009


def test_lock_excludes_other_threads(store: TokenStore) -> None:
    store.save("counter", Token("Atza|0", "Atzr|r", 0.0))

    def increment() -> None:
        for _ in range(10):
            with store.lock("counter"):
                current = store.load("counter")
                assert current is not None
                store.save("counter", Token("Atza|x", "Atzr|r", current.expires_at + 1))

    threads = [threading.Thread(target=increment) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    final = store.load("counter")
    assert final is not None
    assert final.expires_at == 60.0


def test_adsauth_adopts_a_newer_token_from_a_shared_store(
    store: TokenStore, emulator: Emulator, make_auth: Callable[..., AdsAuth], clock: FakeClock
) -> None:
    import httpx

    refresh_token = emulator.issue_refresh_token()
    first = make_auth(refresh_token, store=store, profile_id=1)
    second = make_auth(None, store=store, profile_id=1)
    first_token = first.ensure_token()
    assert second.ensure_token() == first_token
    assert emulator.token_requests["refresh_token"] == 1
    clock.advance(3600)  # both stale: the first refreshes, the second adopts
    first.ensure_token()
    assert second.ensure_token() == first.token
    assert emulator.token_requests["refresh_token"] == 2
    emulator.revoke_access_tokens()  # both fail with 401: one refresh, one adoption
    assert httpx.get(emulator.api_url + "/v2/profiles", auth=first).status_code == 200
    assert httpx.get(emulator.api_url + "/v2/profiles", auth=second).status_code == 200
    assert emulator.token_requests["refresh_token"] == 3
    assert second.token == first.token


# ----- FileTokenStore -----------------------------------------------------------------------


def test_file_permissions(tmp_path: pathlib.Path) -> None:
    folder = tmp_path / "deep" / "tokens"
    store = FileTokenStore(folder)
    store.save("k", token(1))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = list(folder.glob("*.json"))
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert json.loads(files[0].read_text())["key"] == "k"


def test_loose_file_permissions_are_tightened_but_a_folder_is_never_chmodded(
    tmp_path: pathlib.Path,
) -> None:
    folder = tmp_path / "tokens"
    FileTokenStore(folder).save("k", token(1))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700  # a folder it creates is 0700
    target = next(folder.glob("*.json"))
    os.chmod(folder, 0o755)
    os.chmod(target, 0o644)
    store = FileTokenStore(folder)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755  # not created by the store: left alone
    assert store.load("k") == token(1)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


@pytest.mark.parametrize("content", [b"{not json", b"[]", b'{"format": 1, "token": {}}', b""])
def test_corrupt_file_is_reported_and_kept(tmp_path: pathlib.Path, content: bytes) -> None:
    store = FileTokenStore(tmp_path)
    store.save("k", token(1))
    target = next(tmp_path.glob("*.json"))
    target.write_bytes(content)
    with pytest.raises(StoreError, match=str(target.name)) as caught:
        store.load("k")
    assert "log in again" in str(caught.value)
    with pytest.raises(StoreError):
        store.save("k", token(2))
    assert target.read_bytes() == content  # never silently overwritten


def test_symlink_is_refused(tmp_path: pathlib.Path) -> None:
    store = FileTokenStore(tmp_path / "tokens")
    store.save("k", token(1))
    target = next((tmp_path / "tokens").glob("*.json"))
    elsewhere = tmp_path / "attacker.json"
    elsewhere.write_text("{}")
    target.unlink()
    target.symlink_to(elsewhere)
    with pytest.raises(StoreError, match="symbolic link"):
        store.load("k")
    with pytest.raises(StoreError, match="symbolic link"):
        store.save("k", token(2))
    assert elsewhere.read_text() == "{}"


def test_lock_timeout_names_the_lock_file(tmp_path: pathlib.Path) -> None:
    store = FileTokenStore(tmp_path, lock_timeout=0.05)
    held = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with store.lock("k"):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(10)
    try:
        with pytest.raises(StoreError, match=r"\.lock"), store.lock("k"):
            pass
    finally:
        release.set()
        thread.join()


def test_default_folder_is_under_the_user_data_dir(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    store = FileTokenStore()
    assert store.path == tmp_path / "amazon-ads-auth" / "tokens"


# ----- keyring and Redis --------------------------------------------------------------------


def test_keyring_without_backend_says_what_to_install(tmp_path: pathlib.Path) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    try:
        with pytest.raises(StoreError, match=r"keyrings\.alt"):
            KeyringTokenStore(lock_folder=tmp_path)
    finally:
        keyring.set_keyring(previous)


def test_keyring_entries_are_json_under_the_service(
    file_keyring: FileKeyring, tmp_path: pathlib.Path
) -> None:
    store = KeyringTokenStore("my-service", lock_folder=tmp_path)
    store.save("c/k", token(1))
    raw = keyring.get_password("my-service", "c/k")
    assert raw is not None
    document = json.loads(raw)  # the whole grant record, one entry
    assert document["format"] == 2 and Token.from_dict(document["token"]) == token(1)


def test_redis_connection_error_is_a_store_error() -> None:
    store = RedisTokenStore("redis://:hunter2-password@127.0.0.1:9/0")
    with pytest.raises(StoreError, match=r"127\.0\.0\.1:9") as caught:
        store.load("k")
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in repr(store)


def test_redis_value_that_is_not_a_token(redis_url: str) -> None:
    import redis

    prefix = f"bad-{uuid.uuid4().hex}:"
    redis.Redis.from_url(redis_url).set(prefix + "k", b"garbage")
    with pytest.raises(StoreError, match="not a token"):
        RedisTokenStore(redis_url, prefix=prefix).load("k")


# ----- open_store ---------------------------------------------------------------------------


def test_open_store_schemes(
    tmp_path: pathlib.Path, redis_url: str, file_keyring: FileKeyring
) -> None:
    assert isinstance(open_store("memory:"), MemoryTokenStore)
    file_store = open_store(f"file://{tmp_path}/t")
    assert isinstance(file_store, FileTokenStore)
    assert file_store.path == tmp_path / "t"
    assert isinstance(open_store("keyring:svc"), KeyringTokenStore)
    assert isinstance(open_store(redis_url), RedisTokenStore)
    assert isinstance(open_store(redis_url.replace("redis:", "rediss:")), RedisTokenStore)


@pytest.mark.parametrize("url", ["postgres://u:p@h/db", "nonsense", "", "ftp:x"])
def test_open_store_unknown_scheme_lists_the_known_ones(url: str) -> None:
    with pytest.raises(ConfigurationError, match=r"memory:.*file:.*keyring:.*redis://") as e:
        open_store(url)
    assert ":p@" not in str(e.value)


def test_from_env_reads_the_token_store(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMAZON_ADS_CLIENT_ID", "id")
    monkeypatch.setenv("AMAZON_ADS_CLIENT_SECRET", "secret")
    monkeypatch.setenv("AMAZON_ADS_TOKEN_STORE", f"file://{tmp_path}")
    auth = AdsAuth.from_env()
    store: Any = auth._manager.store
    assert isinstance(store, FileTokenStore)
    assert store.path == tmp_path
