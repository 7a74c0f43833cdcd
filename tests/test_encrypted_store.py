"""EncryptedTokenStore over real stores: the contract, no token or secret at rest in any
encoding (PostgreSQL table, SQLite file, Redis keys, token files), wrong keys typed and
harmless, online rotation while worker processes call the emulator, the CLI, and
ConsentFlow and LoginDirectory working on it unchanged."""

from __future__ import annotations

import base64
import binascii
import multiprocessing
import pathlib
import threading
import time
import uuid
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
import requests
from click.testing import CliRunner

from amazon_ads_auth import (
    AdsAuth,
    ConfigurationError,
    EncryptedTokenStore,
    FileTokenStore,
    LoginDirectory,
    MemoryTokenStore,
    RedisTokenStore,
    SQLTokenStore,
    StoreError,
    Token,
    TokenStore,
    open_store,
)
from amazon_ads_auth._stores.base import GrantListingStore
from amazon_ads_auth._stores.encrypted import key_id, new_key, rekey
from amazon_ads_auth._stores.grant import (
    GrantRecord,
    GrantRecordStore,
    RefreshOutcome,
    grant_to_document,
)
from amazon_ads_auth.cli import main
from amazon_ads_auth.testing import Emulator, check_token_store
from tests.accounts import profiles_for_tests
from tests.conftest import SENTINEL_CLIENT_SECRET
from tests.test_logins import add_login
from tests.web_apps import Person, add_accounts, make_flow

SPAWN = multiprocessing.get_context("spawn")
OLD, NEW = new_key(), new_key()
ACCESS = "Atza|" + "IwEBIAccessTokenUnderTest" + "a" * 380
REFRESH = "Atzr|" + "IwEBIRefreshTokenUnderTest" + "r" * 380


def forms(secret: str) -> set[bytes]:
    """Every way a secret could sit in bytes: raw, url-encoded, hex, and base64 at each of
    the three alignments (edge characters that depend on neighbours cut off)."""
    raw = secret.encode()
    found = {raw, quote(secret, safe="").encode(), quote_plus(secret).encode()}
    found |= {binascii.hexlify(raw), binascii.hexlify(raw).upper()}
    for shift in range(3):
        padded = b"\0" * shift + raw
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(padded)
            start = (shift * 4 + 2) // 3 + 1
            found.add(text[start : len(text) - 4])
    return found


def assert_no_secret(data: bytes, where: str, secrets: list[str]) -> None:
    for secret in secrets:
        for form in forms(secret):
            assert form not in data, f"{where} holds a secret ({form[:12]!r}...)"


def seed(store: TokenStore, key: str = "amzn1.client/tenant-1", *, whole: bool = False) -> None:
    """A grant written as a token then a login record, and with `whole` (and a store that
    keeps grant records) one more written whole, as a code exchange does it."""
    store.save(key, Token(ACCESS, REFRESH, 2.0e9))
    assert isinstance(store, EncryptedTokenStore)
    store.save_login(key, {"format": 1, "client_id": "amzn1.client", "client_secret": SECRET})
    if whole:
        assert isinstance(store, GrantRecordStore)
        store.save_grant(key + "-whole", whole_record())


def whole_record() -> GrantRecord:
    return GrantRecord(
        Token(ACCESS, REFRESH, 2.0e9),
        {"format": 1, "client_id": "amzn1.client", "region": "na", "client_secret": SECRET},
        consented_at=1_790_000_000.0,
        refresh_expires_at=1_790_000_000.0 + 365 * 86400,
        expires_from="policy",
        last_refresh=RefreshOutcome("ok", 1_790_000_060.0),
    )


SECRET = SENTINEL_CLIENT_SECRET


# ----- the contract and the basics ---------------------------------------------------------


def test_the_contract_kit_passes_over_sqlite_and_memory(tmp_path: pathlib.Path) -> None:
    url = f"sqlite:///{tmp_path / 'g.db'}"
    ran = check_token_store(
        lambda: EncryptedTokenStore(SQLTokenStore(url, create=True), keys=[NEW, OLD])
    )
    assert {"lock excludes processes", "try_lock does not wait", "login records"} <= set(ran)
    memory = MemoryTokenStore()
    ran = check_token_store(lambda: EncryptedTokenStore(memory, keys=[NEW]), processes=False)
    assert "keys lists the grants" in ran


def test_the_contract_kit_passes_over_redis(redis_url: str) -> None:
    prefix = f"enc-{uuid.uuid4().hex}:"
    ran = check_token_store(
        lambda: EncryptedTokenStore(RedisTokenStore(redis_url, prefix=prefix), keys=[NEW])
    )
    assert {"lock excludes processes", "login records"} <= set(ran)


class BareStore:
    """A store with the four methods of the contract and nothing more (as an app's own
    store may be)."""

    def __init__(self) -> None:
        self.data: dict[str, Token] = {}

    def load(self, key: str) -> Token | None:
        return self.data.get(key)

    def save(self, key: str, token: Token) -> None:
        self.data[key] = token

    def delete(self, key: str) -> None:
        self.data.pop(key, None)

    def lock(self, key: str) -> Any:
        return threading.Lock()


def test_abilities_follow_the_wrapped_store() -> None:
    from amazon_ads_auth._stores.base import ListableStore, LoginRecordStore

    bare = BareStore()
    wrapped = EncryptedTokenStore(bare, keys=[NEW])
    for ability in (ListableStore, LoginRecordStore, GrantRecordStore, GrantListingStore):
        assert not isinstance(wrapped, ability), ability
    wrapped.save("c/k", Token(ACCESS, REFRESH, 1.0))
    assert wrapped.load("c/k") == Token(ACCESS, REFRESH, 1.0)
    assert REFRESH not in str(bare.data)
    full = EncryptedTokenStore(MemoryTokenStore(), keys=[NEW])
    for ability in (ListableStore, LoginRecordStore, GrantRecordStore, GrantListingStore):
        assert isinstance(full, ability), ability


@pytest.mark.parametrize("kind", ["memory", "sqlite", "files"])
def test_a_grant_record_is_sealed_whole_and_opened_whole(kind: str, tmp_path: pathlib.Path) -> None:
    inner: Any = {
        "memory": MemoryTokenStore,
        "sqlite": lambda: SQLTokenStore(f"sqlite:///{tmp_path / 'g.db'}", create=True),
        "files": lambda: FileTokenStore(tmp_path / "tokens"),
    }[kind]()
    store = EncryptedTokenStore(inner, keys=[NEW])
    store.save_grant("amzn1.client/whole", whole_record())
    assert store.load_grant("amzn1.client/whole") == whole_record()
    sealed = inner.load_grant("amzn1.client/whole")
    assert sealed.token.access_token.startswith("enc:v1:")
    assert sealed.token.refresh_token.startswith("enc:v1:")
    assert sealed.login["client_secret"].startswith("enc:v1:")
    # What is not secret stays readable without the keys (listing, status).
    assert sealed.login["region"] == "na" and sealed.consented_at == 1_790_000_000.0
    assert sealed.last_refresh == whole_record().last_refresh
    store.save("amzn1.client/whole", Token("Atza|next", "Atzr|next", 3.0e9))  # a refresh
    after = store.load_grant("amzn1.client/whole")
    assert after == whole_record().with_token(Token("Atza|next", "Atzr|next", 3.0e9))
    listed = store.grant_records()
    assert grant_to_document(listed["amzn1.client/whole"]) == grant_to_document(after)  # type: ignore[arg-type]


def test_grant_records_with_the_wrong_key_name_the_key_and_change_nothing(
    tmp_path: pathlib.Path,
) -> None:
    inner = SQLTokenStore(f"sqlite:///{tmp_path / 'g.db'}", create=True)
    EncryptedTokenStore(inner, keys=[OLD]).save_grant("amzn1.client/a", whole_record())
    before = inner.load_grant("amzn1.client/a")
    other = EncryptedTokenStore(inner, keys=[NEW])
    found = other.grant_records()
    assert isinstance(found["amzn1.client/a"], StoreError)
    assert key_id(OLD) in str(found["amzn1.client/a"]) and OLD not in str(found["amzn1.client/a"])
    with pytest.raises(StoreError, match=key_id(OLD)):
        other.load_grant("amzn1.client/a")
    with pytest.raises(StoreError, match=key_id(OLD)):  # never overwritten by it either
        other.save_grant("amzn1.client/a", whole_record())
    assert inner.load_grant("amzn1.client/a") == before
    result = rekey(inner, [NEW], old_keys=[OLD])  # one write per grant record
    assert result.rekeyed == ["amzn1.client/a"]
    assert EncryptedTokenStore(inner, keys=[NEW]).load_grant("amzn1.client/a") == whole_record()
    assert rekey(inner, [NEW]).unchanged == ["amzn1.client/a"]


def test_keys_come_from_the_environment(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigurationError, match="AMAZON_ADS_STORE_KEYS"):
        EncryptedTokenStore(MemoryTokenStore())
    with pytest.raises(ConfigurationError, match="not a Fernet key"):
        EncryptedTokenStore(MemoryTokenStore(), keys=["too-short"])
    monkeypatch.setenv("AMAZON_ADS_STORE_KEYS", f"{NEW}, {OLD}")
    store = EncryptedTokenStore(MemoryTokenStore())
    assert store.key_ids == [key_id(NEW), key_id(OLD)]
    assert EncryptedTokenStore(MemoryTokenStore(), keys=f"{NEW},{OLD}").key_ids == store.key_ids
    assert EncryptedTokenStore(MemoryTokenStore(), keys=NEW.encode()).key_ids == [key_id(NEW)]
    opened = open_store(f"sqlite:///{tmp_path / 'env.db'}")  # the variable applies here too
    assert isinstance(opened, EncryptedTokenStore)
    assert isinstance(opened.store, SQLTokenStore)
    assert not isinstance(open_store("memory:", keys=()), EncryptedTokenStore)


def test_a_key_function_is_the_kms_hook() -> None:
    calls: list[int] = []

    def from_kms() -> list[str]:
        calls.append(1)
        return [NEW, OLD] if len(calls) > 1 else [OLD]

    store = EncryptedTokenStore(MemoryTokenStore(), keys=from_kms)
    assert calls == []  # not called until first use
    store.save("c/k", Token(ACCESS, REFRESH, 1.0))
    assert store.key_ids == [key_id(OLD)]
    store.reload_keys()
    assert store.key_ids == [key_id(NEW), key_id(OLD)]
    assert store.load("c/k") == Token(ACCESS, REFRESH, 1.0)


# ----- nothing at rest ---------------------------------------------------------------------


def test_no_secret_in_the_postgres_table(postgres_url: str) -> None:
    inner = SQLTokenStore(postgres_url, table=f"enc_{uuid.uuid4().hex[:10]}", create=True)
    store = EncryptedTokenStore(inner, keys=[NEW])
    seed(store, whole=True)
    raw = inner.engine.raw_connection()
    try:
        cursor = raw.cursor()
        dumped = b""
        with cursor.copy(f"COPY {inner.table_name} TO STDOUT") as copy:  # type: ignore[attr-defined]
            for chunk in copy:
                dumped += bytes(chunk)
    finally:
        raw.close()
    assert b"tenant-1" in dumped  # the scan sees the row
    assert_no_secret(dumped, "the PostgreSQL table", [ACCESS, REFRESH, SECRET, NEW])
    assert store.load("amzn1.client/tenant-1") == Token(ACCESS, REFRESH, 2.0e9)
    assert store.load_login("amzn1.client/tenant-1")["client_secret"] == SECRET  # type: ignore[index]


def test_no_secret_in_the_sqlite_file(tmp_path: pathlib.Path) -> None:
    inner = SQLTokenStore(f"sqlite:///{tmp_path / 'g.db'}", create=True)
    seed(EncryptedTokenStore(inner, keys=[NEW]), whole=True)
    inner.engine.dispose()
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    data = b"".join(p.read_bytes() for p in files)
    assert b"tenant-1" in data
    assert_no_secret(data, "the SQLite files", [ACCESS, REFRESH, SECRET, NEW])


def test_no_secret_in_the_redis_keys(redis_url: str) -> None:
    import redis

    prefix = f"scan-{uuid.uuid4().hex}:"
    seed(EncryptedTokenStore(RedisTokenStore(redis_url, prefix=prefix), keys=[NEW]), whole=True)
    client = redis.Redis.from_url(redis_url)
    names = list(client.scan_iter(match=prefix + "*"))
    assert len(names) == 2  # two grants, each one value (token, record and lifecycle)
    data = b"".join(name + (client.get(name) or b"") for name in names)
    assert_no_secret(data, "the Redis keys", [ACCESS, REFRESH, SECRET, NEW])


def test_no_secret_in_the_token_files(tmp_path: pathlib.Path) -> None:
    seed(EncryptedTokenStore(FileTokenStore(tmp_path / "tokens"), keys=[NEW]), whole=True)
    data = b"".join(p.read_bytes() for p in (tmp_path / "tokens").iterdir() if p.is_file())
    assert b"tenant-1" in data
    assert_no_secret(data, "the token files", [ACCESS, REFRESH, SECRET, NEW])


def test_the_scanner_finds_each_encoding() -> None:
    for form in (
        REFRESH.encode(),
        quote(REFRESH, safe="").encode(),
        binascii.hexlify(REFRESH.encode()),
        base64.b64encode(b"xy" + REFRESH.encode()),
        base64.urlsafe_b64encode(b"{" + REFRESH.encode() + b"}"),
    ):
        with pytest.raises(AssertionError, match="holds a secret"):
            assert_no_secret(b"..." + form + b"...", "a planted value", [REFRESH])


# ----- wrong keys --------------------------------------------------------------------------


def test_a_grant_no_key_opens_is_a_store_error_naming_the_key_id() -> None:
    inner = MemoryTokenStore()
    seed(EncryptedTokenStore(inner, keys=[OLD]))
    before = (inner.load("amzn1.client/tenant-1"), inner.load_login("amzn1.client/tenant-1"))
    other = EncryptedTokenStore(inner, keys=[NEW])
    with pytest.raises(StoreError) as caught:
        other.load("amzn1.client/tenant-1")
    message = str(caught.value)
    assert key_id(OLD) in message and key_id(NEW) in message
    assert OLD not in message and NEW not in message
    assert "left untouched" in message
    with pytest.raises(StoreError, match=key_id(OLD)):
        other.load_login("amzn1.client/tenant-1")
    with pytest.raises(StoreError, match=key_id(OLD)):  # never overwritten by it either
        other.save("amzn1.client/tenant-1", Token("Atza|mine", "Atzr|mine", 1.0))
    with pytest.raises(StoreError, match=key_id(OLD)):
        other.save_login("amzn1.client/tenant-1", {"client_secret": "mine"})
    result = rekey(inner, [NEW])
    assert list(result.failed) == ["amzn1.client/tenant-1"]
    assert key_id(OLD) in result.failed["amzn1.client/tenant-1"]
    after = (inner.load("amzn1.client/tenant-1"), inner.load_login("amzn1.client/tenant-1"))
    assert after == before  # untouched by the reads and by rekey


def test_a_value_copied_into_another_grant_is_refused() -> None:
    inner = MemoryTokenStore()
    store = EncryptedTokenStore(inner, keys=[NEW])
    store.save("c/victim", Token(ACCESS, REFRESH, 1.0))
    stolen = inner.load("c/victim")
    assert stolen is not None
    inner.save("c/attacker", stolen)
    with pytest.raises(StoreError, match="encrypted for another store key"):
        store.load("c/attacker")


def test_plaintext_grants_are_refused_read_on_request_and_encrypted_by_rekey() -> None:
    inner = MemoryTokenStore()
    inner.save("c/k", Token(ACCESS, REFRESH, 1.0))
    with pytest.raises(StoreError, match="stored unencrypted"):
        EncryptedTokenStore(inner, keys=[NEW]).load("c/k")
    migrating = EncryptedTokenStore(inner, keys=[NEW], allow_plaintext=True)
    assert migrating.load("c/k") == Token(ACCESS, REFRESH, 1.0)
    assert rekey(inner, [NEW]).rekeyed == ["c/k"]
    assert REFRESH not in str(inner.load("c/k").refresh_token)  # type: ignore[union-attr]
    assert EncryptedTokenStore(inner, keys=[NEW]).load("c/k") == Token(ACCESS, REFRESH, 1.0)


# ----- rotation ----------------------------------------------------------------------------


def rotation_worker(
    url: str, keys: list[str], info: dict[str, Any], seconds: float, barrier: Any, results: Any
) -> None:
    """Call the API from 2 threads for `seconds` on the encrypted store; report (calls,
    failures)."""
    auth = AdsAuth(
        info["client_id"],
        info["client_secret"],
        store=EncryptedTokenStore(SQLTokenStore(url, lock_timeout=60), keys=keys),
        token_url=info["token_url"],
        api_hosts=[info["api_host"]],
        profile_id=1,
        refresh_margin=1.0,
    )
    session = requests.Session()
    counts = [0, 0]
    guard = threading.Lock()
    barrier.wait(120)
    deadline = time.monotonic() + seconds

    def loop() -> None:
        while time.monotonic() < deadline:
            try:
                ok = session.get(info["api_url"] + "/v2/profiles", auth=auth, timeout=30).ok
            except Exception:
                ok = False
            with guard:
                counts[0] += 1
                counts[1] += 0 if ok else 1
            time.sleep(0.01)

    pool = [threading.Thread(target=loop) for _ in range(2)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    results.put(tuple(counts))


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_rotation_while_4_workers_call_fails_no_call(
    database: str, tmp_path: pathlib.Path, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path / 'grants.db'}"
    if database == "postgresql":
        url = request.getfixturevalue("postgres_url")
    inner = SQLTokenStore(url, create=True)
    inner.keys()  # creates the table
    with inner.engine.begin() as connection:  # the session's server: start from an empty table
        connection.execute(inner.table.delete())
    with Emulator(profiles=profiles_for_tests(), access_token_lifetime=2) as emu:
        old_store = EncryptedTokenStore(inner, keys=[OLD])
        key = f"{emu.client_id}/default"
        old_store.save(key, Token("Atza|expired", emu.issue_refresh_token(), 1.0))
        tenants = [f"{emu.client_id}/tenant-{n}" for n in range(20)]
        for tenant in tenants:
            seed(old_store, tenant)
        info = {
            "client_id": emu.client_id,
            "client_secret": emu.client_secret,
            "token_url": emu.token_url,
            "api_host": emu.api_host,
            "api_url": emu.api_url,
        }
        barrier = SPAWN.Barrier(5)
        results = SPAWN.Queue()
        # Step 2 of the runbook: every worker has the new key first, the old one after.
        workers = [
            SPAWN.Process(
                target=rotation_worker, args=(url, [NEW, OLD], info, 4.0, barrier, results)
            )
            for _ in range(4)
        ]
        for worker in workers:
            worker.start()
        barrier.wait(120)
        time.sleep(0.5)  # let the workers get going: the rotation happens mid-run
        runner = CliRunner()
        result = runner.invoke(
            main, ["store", "rekey", "--store", url], env={"AMAZON_ADS_STORE_KEYS": f"{NEW},{OLD}"}
        )
        assert result.exit_code == 0, result.output
        assert f"with key {key_id(NEW)}" in result.output
        outcomes = [results.get(timeout=120) for _ in workers]
        for worker in workers:
            worker.join(timeout=60)
            assert worker.exitcode == 0
        assert all(calls > 0 and failures == 0 for calls, failures in outcomes), outcomes
        assert emu.token_requests["refresh_token"] >= 2  # refreshes happened meanwhile
    new_only = EncryptedTokenStore(inner, keys=[NEW])
    old_only = EncryptedTokenStore(inner, keys=[OLD])
    for grant in [key, *tenants]:
        assert new_only.load(grant) is not None
        with pytest.raises(StoreError, match=key_id(NEW)):
            old_only.load(grant)
    for tenant in tenants:
        assert new_only.load_login(tenant)["client_secret"] == SECRET  # type: ignore[index]
    again = rekey(inner, [NEW])
    assert again.rekeyed == [] and len(again.unchanged) == 21


def test_rekey_cli_names_the_keys_not_their_values(tmp_path: pathlib.Path) -> None:
    url = f"sqlite:///{tmp_path / 'grants.db'}"
    seed(EncryptedTokenStore(SQLTokenStore(url, create=True), keys=[OLD]))
    runner = CliRunner()
    wrong = runner.invoke(main, ["store", "rekey", "--store", url, "--key", NEW])
    assert wrong.exit_code == 1
    assert key_id(OLD) in wrong.output and OLD not in wrong.output and NEW not in wrong.output
    done = runner.invoke(main, ["store", "rekey", "--store", url, "--key", NEW, "--old-key", OLD])
    assert done.exit_code == 0, done.output
    assert "Re-encrypted 1 grant(s)" in done.output and NEW not in done.output
    custom = SQLTokenStore(url, table="tenants_grants", create=True)
    seed(EncryptedTokenStore(custom, keys=[OLD]))
    table = ["--table", "tenants_grants", "--key", NEW, "--old-key", OLD]
    moved = runner.invoke(main, ["store", "rekey", "--store", url, *table])
    assert moved.exit_code == 0 and "Re-encrypted 1 grant(s)" in moved.output
    assert EncryptedTokenStore(custom, keys=[NEW]).load("amzn1.client/tenant-1") is not None
    made = runner.invoke(main, ["store", "new-key"])
    assert made.exit_code == 0 and len(made.stdout.strip()) == 44


# ----- the faces on top work unchanged -----------------------------------------------------


def test_consent_flow_on_an_encrypted_sql_store(emulator: Emulator, tmp_path: pathlib.Path) -> None:
    add_accounts(emulator)
    inner = SQLTokenStore(f"sqlite:///{tmp_path / 'web.db'}", create=True)
    store = EncryptedTokenStore(inner, keys=[NEW])
    flow = make_flow(emulator, 8000, store, save_secret=True)
    start = flow.begin("acme-42")
    callback = Person("http://127.0.0.1:9", None).consent_at_amazon(start.url, "bob")
    login = flow.complete(callback, start.cookie_value, tenant="acme-42").login
    assert [p.profile_id for p in login.profiles] == ["222", "223"]
    row = inner.load(login.key)
    assert row is not None and row.refresh_token and row.refresh_token.startswith("enc:v1:")
    record = inner.load_login(login.key)
    assert record is not None and record["client_secret"].startswith("enc:v1:")
    auth = flow.auth("acme-42", profile_id=222)
    result = requests.get(emulator.api_url + "/v2/profiles", auth=auth, timeout=30)
    assert result.status_code == 200


def test_login_directory_on_an_encrypted_redis_store(emulator: Emulator, redis_url: str) -> None:
    inner = RedisTokenStore(redis_url, prefix=f"dir-{uuid.uuid4().hex}:")
    store = EncryptedTokenStore(inner, keys=[NEW])
    add_login(store, emulator, "brand-a", [111])
    add_login(store, emulator, "brand-b", [222])
    directory = LoginDirectory(store)
    assert sorted(x.store_key for x in directory) == ["brand-a", "brand-b"]
    auth = directory.auth_for(222)
    assert emulator.is_valid_access_token(auth.ensure_token().access_token)
    stored = inner.load(f"{emulator.client_id}/brand-b")
    assert stored is not None and stored.access_token.startswith("enc:v1:")


def test_the_refresh_deadline_fits_the_wrapped_locks_ttl(redis_url: str) -> None:
    inner = RedisTokenStore(redis_url, prefix=f"ttl-{uuid.uuid4().hex}:", lock_ttl=10.0)
    store = EncryptedTokenStore(inner, keys=[NEW])
    assert store.lock_ttl == 10.0
    assert EncryptedTokenStore(MemoryTokenStore(), keys=[NEW]).lock_ttl is None
    auth = AdsAuth("amzn1.application-oa2-client.ttl", "secret", store=store)
    assert auth._manager._deadline == pytest.approx(8.0)  # 80% of the TTL, as unwrapped


def test_the_cli_reads_an_encrypted_sql_store_with_the_keys_variable(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    add_login(EncryptedTokenStore(SQLTokenStore(url, create=True), keys=[NEW]), emulator, "a", [1])
    runner = CliRunner()
    env = {"AMAZON_ADS_STORE_KEYS": NEW, "AMAZON_ADS_TOKEN_STORE": url}
    status = runner.invoke(main, ["status"], env=env)
    assert status.exit_code == 0, status.output
    assert "saved" in status.output and "unreadable" not in status.output
    token = runner.invoke(main, ["token"], env=env)
    assert token.exit_code == 0, token.output
    assert emulator.is_valid_access_token(token.stdout.strip())
    # With the wrong key the login is still listed (not its secret), and the grant is a
    # StoreError naming the key it needs.
    wrong_env = {
        **env,
        "AMAZON_ADS_STORE_KEYS": OLD,
        "AMAZON_ADS_CLIENT_ID": emulator.client_id,
        "AMAZON_ADS_CLIENT_SECRET": emulator.client_secret,
    }
    listed = runner.invoke(main, ["status"], env=wrong_env)
    assert "unreadable" in listed.output and key_id(NEW) in listed.output
    wrong = runner.invoke(main, ["token"], env=wrong_env)
    assert wrong.exit_code == 1 and key_id(NEW) in wrong.output
