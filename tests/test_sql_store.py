"""SQLTokenStore on a real PostgreSQL server and real SQLite files: the contract, database
locks across processes (advisory locks, BEGIN IMMEDIATE), single flight for 8 processes,
writes a SIGKILL never tears, an outage that fails no call, URLs that never show a password."""

from __future__ import annotations

import multiprocessing
import os
import pathlib
import signal
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from amazon_ads_auth import AdsAuth, SQLTokenStore, StoreError, Token, open_store
from amazon_ads_auth._stores.base import GrantListingStore
from amazon_ads_auth._stores.grant import GrantRecord, GrantRecordStore, RefreshOutcome
from amazon_ads_auth.cli import main
from amazon_ads_auth.testing import Emulator, FakeClock, check_token_store
from tests.accounts import profiles_for_tests
from tests.conftest import eventually
from tests.postgres import PASSWORD

SPAWN = multiprocessing.get_context("spawn")
ALL_CHECKS = {
    "round trip",
    "keys never collide",
    "never loses a refresh token",
    "lock excludes threads",
    "lock excludes processes",
    "try_lock does not wait",
    "keys lists the grants",
    "login records",
    "grant records",
}


def unique_table() -> str:
    return f"grants_{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'grants.db'}"
    return str(request.getfixturevalue("postgres_url"))


# ----- the contract ------------------------------------------------------------------------


def test_the_contract_kit_passes(database_url: str) -> None:
    table = unique_table()
    ran = check_token_store(lambda: SQLTokenStore(database_url, table=table, create=True))
    assert set(ran) == ALL_CHECKS


def a_record(n: int = 1) -> GrantRecord:
    return GrantRecord(
        Token(f"Atza|rec{n}", f"Atzr|rec{n}", 1.9e9),
        {"format": 1, "client_id": "amzn1.client", "region": "eu", "profiles": [{"profileId": n}]},
        consented_at=1_790_000_000.0,
        refresh_expires_at=1_790_000_000.0 + 365 * 86400,
        expires_from="policy",
        last_refresh=RefreshOutcome("ok", 1_790_000_050.0),
    )


def test_a_grant_record_is_written_by_one_statement(database_url: str) -> None:
    import sqlalchemy

    store = SQLTokenStore(database_url, table=unique_table(), create=True)
    assert isinstance(store, GrantRecordStore) and isinstance(store, GrantListingStore)
    store.save("amzn1.client/one", Token("Atza|old", "Atzr|old", 1.0))  # creates the table
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sqlalchemy.event.listen(store.engine, "before_cursor_execute", seen)
    try:
        store.save_grant("amzn1.client/one", a_record())
    finally:
        sqlalchemy.event.remove(store.engine, "before_cursor_execute", seen)
    writes = [s for s in statements if not s.lstrip().upper().startswith("SELECT")]
    assert len(writes) == 1 and writes[0].lstrip().upper().startswith("INSERT"), statements
    loaded = SQLTokenStore(database_url, table=store.table_name).load_grant("amzn1.client/one")
    assert loaded == a_record()
    store.save("amzn1.client/one", Token("Atza|new", "Atzr|new", 2.0))  # a refresh
    assert store.load_grant("amzn1.client/one") == a_record().with_token(
        Token("Atza|new", "Atzr|new", 2.0)
    )
    store.save_login("amzn1.client/one", {"format": 1, "client_id": "amzn1.client"})
    after = store.load_grant("amzn1.client/one")
    assert after is not None and after.consented_at == 1_790_000_000.0
    assert after.login == {"format": 1, "client_id": "amzn1.client"}


def test_grant_records_lists_every_row_and_names_the_unreadable(database_url: str) -> None:
    import sqlalchemy

    store = SQLTokenStore(database_url, table=unique_table(), create=True)
    store.save_grant("amzn1.client/a", a_record(1))
    store.save("amzn1.client/b", Token("Atza|b", "Atzr|b", 1.0))  # no record: a bare grant
    store.save("amzn1.client/c", Token("Atza|c", "Atzr|c", 1.0))
    newer = '{"format": 99}'
    with store.engine.begin() as connection:
        connection.execute(
            sqlalchemy.update(store.table)
            .where(store.table.c.grant_key == "amzn1.client/c")
            .values(lifecycle=newer)
        )
    found = store.grant_records()
    assert list(found) == ["amzn1.client/a", "amzn1.client/b", "amzn1.client/c"]
    assert found["amzn1.client/a"] == a_record(1)
    assert found["amzn1.client/b"] == GrantRecord(Token("Atza|b", "Atzr|b", 1.0))
    assert isinstance(found["amzn1.client/c"], StoreError)
    assert "upgrade amazon-ads-auth" in str(found["amzn1.client/c"])
    with pytest.raises(StoreError, match="newer version"):
        store.load("amzn1.client/c")
    with store.engine.connect() as connection:  # left untouched
        kept = connection.execute(
            sqlalchemy.select(store.table.c.lifecycle).where(
                store.table.c.grant_key == "amzn1.client/c"
            )
        ).scalar()
    assert kept == newer


def test_a_table_from_before_grant_records_gets_its_column(database_url: str) -> None:
    import datetime

    import sqlalchemy as sa

    name = unique_table()
    old_table = sa.Table(  # the table (and a row) as the release before made it
        name,
        sa.MetaData(),
        sa.Column("grant_key", sa.String(512), primary_key=True),
        sa.Column("token", sa.Text, nullable=False),
        sa.Column("login", sa.Text, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    engine = sa.create_engine(database_url)
    old_table.create(engine)
    with engine.begin() as connection:
        connection.execute(
            old_table.insert().values(
                grant_key="amzn1.client/old",
                token='{"access_token":"Atza|o","refresh_token":"Atzr|o","expires_at":1.0}',
                login='{"format":1,"client_id":"amzn1.client"}',
                updated_at=datetime.datetime.now(datetime.timezone.utc),
            )
        )
    engine.dispose()
    with pytest.raises(StoreError, match="ADD COLUMN lifecycle TEXT"):
        SQLTokenStore(database_url, table=name).load("amzn1.client/old")
    store = SQLTokenStore(database_url, table=name, create=True)
    old = store.load_grant("amzn1.client/old")
    assert old == GrantRecord(
        Token("Atza|o", "Atzr|o", 1.0), {"format": 1, "client_id": "amzn1.client"}
    )
    store.save_grant("amzn1.client/old", a_record())
    assert SQLTokenStore(database_url, table=name).load_grant("amzn1.client/old") == a_record()


def test_an_existing_engine_is_used_as_it_is(postgres_url: str) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(postgres_url)
    store = SQLTokenStore(engine, table=unique_table(), create=True)
    store.save("c/k", Token("Atza|e", "Atzr|e", 5.0))
    assert store.engine is engine
    assert SQLTokenStore(engine, table=store.table_name).load("c/k") == Token(
        "Atza|e", "Atzr|e", 5.0
    )


def test_tokens_of_2048_bytes_and_records_round_trip(database_url: str) -> None:
    store = SQLTokenStore(database_url, table=unique_table(), create=True)
    token = Token("Atza|" + "a" * 2043, "Atzr|" + "r" * 2043, 1.0e9)
    store.save("amzn1.client/big", token)
    store.save_login("amzn1.client/big", {"format": 1, "client_secret": "s", "profiles": []})
    assert store.load("amzn1.client/big") == token
    assert store.records() == {
        "amzn1.client/big": {"format": 1, "client_secret": "s", "profiles": []}
    }


def test_a_missing_table_without_create_says_how_to_make_it(database_url: str) -> None:
    store = SQLTokenStore(database_url, table=unique_table())
    with pytest.raises(StoreError, match="does not exist: create it with the DDL"):
        store.load("c/k")


def test_keys_no_table_can_hold_are_refused(tmp_path: pathlib.Path) -> None:
    store = SQLTokenStore(f"sqlite:///{tmp_path / 'g.db'}", create=True)
    for key in ("", "x" * 513, "nul\x00key", "\udcff"):
        with pytest.raises(StoreError):
            store.save(key, Token("Atza|a", None, 1.0))


def test_open_store_takes_sql_urls(tmp_path: pathlib.Path, postgres_url: str) -> None:
    sqlite_store = open_store(f"sqlite:///{tmp_path / 'open.db'}")
    assert isinstance(sqlite_store, SQLTokenStore)
    sqlite_store.save("c/k", Token("Atza|o", "Atzr|o", 1.0))  # created the table itself
    assert (tmp_path / "open.db").stat().st_mode & 0o777 == 0o600
    for url in (postgres_url, postgres_url.replace("postgresql+psycopg://", "postgresql://")):
        store = open_store(url)
        assert isinstance(store, SQLTokenStore)
        assert store.engine.dialect.driver == "psycopg"
        assert PASSWORD not in store.where and PASSWORD not in repr(store)
        assert "***" in store.where


def test_no_password_in_errors_or_cli_output(postgres_server: Any) -> None:
    url = postgres_server.url.replace("127.0.0.1", "127.0.0.2")  # nobody listens there
    store = SQLTokenStore(url.replace("/postgres", "/postgres?connect_timeout=2"))
    with pytest.raises(StoreError) as caught:
        store.load("c/k")
    assert PASSWORD not in str(caught.value)
    result = CliRunner().invoke(main, ["status", "--store", url])
    assert result.exit_code == 1, result.output
    assert "***" in result.output
    assert PASSWORD not in result.output  # the suite's scanner checks it too


def test_store_ddl_prints_the_table() -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["store", "ddl", "--store", "postgresql://u:pw@db.internal/x"])
    assert result.exit_code == 0, result.output
    assert "CREATE TABLE amazon_ads_auth_grants" in result.output
    assert "TIMESTAMP WITH TIME ZONE" in result.output
    assert "grant_key VARCHAR(512) NOT NULL" in result.output
    assert "lifecycle TEXT" in result.output
    custom = runner.invoke(main, ["store", "ddl", "--store", "sqlite:///x.db", "--table", "t1"])
    assert "CREATE TABLE t1" in custom.output
    assert not pathlib.Path("x.db").exists()  # no database was opened to print it
    wrong = runner.invoke(main, ["store", "ddl", "--store", "redis://localhost/0"])
    assert wrong.exit_code == 1 and "for SQL stores" in wrong.output


def test_the_printed_ddl_creates_a_working_table(tmp_path: pathlib.Path) -> None:
    import sqlite3

    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    ddl = CliRunner().invoke(main, ["store", "ddl", "--store", url]).output
    with sqlite3.connect(tmp_path / "migrated.db") as db:
        db.executescript(ddl)
    store = SQLTokenStore(url)  # create=False: the app's migration made the table
    store.save("c/k", Token("Atza|m", "Atzr|m", 1.0))
    assert store.load("c/k") == Token("Atza|m", "Atzr|m", 1.0)


# ----- locks -------------------------------------------------------------------------------


def hold_lock(url: str, table: str, key: str, acquired: Any) -> None:
    """Take the store lock and never let go (the test SIGKILLs us)."""
    store = SQLTokenStore(url, table=table)
    with store.lock(key):
        acquired.set()
        threading.Event().wait()


def test_a_lock_dies_with_its_process(database_url: str) -> None:
    table = unique_table()
    store = SQLTokenStore(database_url, table=table, create=True, lock_timeout=0.3)
    store.save("c/k", Token("Atza|1", "Atzr|1", 1.0))
    acquired = SPAWN.Event()
    holder = SPAWN.Process(target=hold_lock, args=(database_url, table, "c/k", acquired))
    holder.start()
    try:
        assert acquired.wait(60), "the holder never took the lock"
        with store.try_lock("c/k") as taken:
            assert taken is False
        with (
            pytest.raises(StoreError, match=r"timed out after 0\.3s waiting for the lock"),
            store.lock("c/k"),
        ):
            pass
        with store.try_lock("c/other") as other:  # other keys are not held
            assert other is True
    finally:
        os.kill(holder.pid or 0, signal.SIGKILL)
        holder.join(timeout=30)
    # The database released it with the session (PostgreSQL) or the file lock (SQLite).
    deadline = time.monotonic() + 20
    while True:  # the server notices the dead session within moments: poll with a bound
        with store.try_lock("c/k") as taken:
            if taken:
                break
        assert time.monotonic() < deadline, "the killed holder's lock was never released"
        time.sleep(0.05)


def test_postgres_lock_ids_are_stable_64_bit_hashes(postgres_url: str) -> None:
    store = SQLTokenStore(postgres_url, table="t")
    ids = {store.lock_id(k) for k in ("c/a", "c/b", "C/a")}
    assert len(ids) == 3 and all(-(2**63) <= i < 2**63 for i in ids)
    assert store.lock_id("c/a") == SQLTokenStore(postgres_url, table="t").lock_id("c/a")
    assert store.lock_id("c/a") != SQLTokenStore(postgres_url, table="u").lock_id("c/a")


def test_a_held_lock_past_the_deadline_refreshes_without_it(
    database_url: str, emulator: Emulator, make_auth: Callable[..., AdsAuth], captured_logs: Any
) -> None:
    table = unique_table()
    store = SQLTokenStore(database_url, table=table, create=True)
    auth = make_auth(store=store, refresh_deadline=0.5)
    acquired = SPAWN.Event()
    holder = SPAWN.Process(
        target=hold_lock, args=(database_url, table, auth._manager.key, acquired)
    )
    holder.start()
    try:
        assert acquired.wait(60)
        result = requests.get(emulator.api_url + "/v2/profiles", auth=auth, timeout=30)
        assert result.status_code == 200
    finally:
        os.kill(holder.pid or 0, signal.SIGKILL)
        holder.join(timeout=30)
    assert emulator.token_requests == {"refresh_token": 1}
    assert any("single flight across processes is off" in t for t in captured_logs)


# ----- processes ---------------------------------------------------------------------------


def stampede_worker(
    url: str, table: str, info: dict[str, Any], threads: int, barrier: Any, results: Any
) -> None:
    """One process of the stampede: its own AdsAuth on the shared table, `threads` threads
    that call the API at once; reports the statuses and the token it ended with."""
    auth = AdsAuth(
        info["client_id"],
        info["client_secret"],
        store=SQLTokenStore(url, table=table, lock_timeout=60),
        token_url=info["token_url"],
        api_hosts=[info["api_host"]],
        profile_id=1,
    )
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=threads))
    statuses: list[int] = []
    guard = threading.Lock()
    barrier.wait(120)

    def one() -> None:
        status = session.get(info["api_url"] + "/v2/profiles", auth=auth, timeout=60)
        with guard:
            statuses.append(status.status_code)

    pool = [threading.Thread(target=one) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    token = auth.token
    results.put((statuses, token.access_token if token else None))


@pytest.mark.slow
def test_8_processes_x_4_threads_make_one_token_request(database_url: str) -> None:
    processes, threads = 8, 4
    table = unique_table()
    with Emulator(profiles=profiles_for_tests()) as emu:  # real clock: shared by processes
        emu.token_latency = 0.05
        refresh_token = emu.issue_refresh_token()
        store = SQLTokenStore(database_url, table=table, create=True)
        store.save(f"{emu.client_id}/default", Token("Atza|expired", refresh_token, 1.0))
        info = {
            "client_id": emu.client_id,
            "client_secret": emu.client_secret,
            "token_url": emu.token_url,
            "api_host": emu.api_host,
            "api_url": emu.api_url,
        }
        barrier = SPAWN.Barrier(processes)
        results = SPAWN.Queue()
        pool = [
            SPAWN.Process(
                target=stampede_worker,
                args=(database_url, table, info, threads, barrier, results),
            )
            for _ in range(processes)
        ]
        for process in pool:
            process.start()
        outcomes = [results.get(timeout=240) for _ in pool]
        for process in pool:
            process.join(timeout=60)
            assert process.exitcode == 0
        assert emu.token_requests == {"refresh_token": 1}
        assert all(statuses == [200] * threads for statuses, _ in outcomes)
        tokens = {token for _, token in outcomes}
        assert len(tokens) == 1 and tokens != {"Atza|expired"}
        stored = store.load(f"{emu.client_id}/default")
        assert stored is not None and {stored.access_token} == tokens


def save_in_a_loop(url: str, table: str, written: Any) -> None:
    """Save ever-newer tokens as fast as possible (the test SIGKILLs us mid-write)."""
    store = SQLTokenStore(url, table=table)
    n = 0
    while True:
        n += 1
        store.save("c/k", Token(f"Atza|{n:08d}" + "x" * 2000, "Atzr|keep", 10.0**9 + n))
        written.value = n


def test_sigkill_during_writes_leaves_the_old_or_the_new_grant(database_url: str) -> None:
    table = unique_table()
    store = SQLTokenStore(database_url, table=table, create=True)
    store.save("c/k", Token("Atza|00000000" + "x" * 2000, "Atzr|keep", 10.0**9))
    for round_number, target in enumerate((3, 25)):
        written = SPAWN.Value("i", 0)
        writer = SPAWN.Process(target=save_in_a_loop, args=(database_url, table, written))
        writer.start()
        deadline = time.monotonic() + 60
        while written.value < target:  # poll with a bound until the writer is mid-stream
            assert time.monotonic() < deadline, "the writer made no progress"
            time.sleep(0.001)
        os.kill(writer.pid or 0, signal.SIGKILL)
        writer.join(timeout=30)
        token = store.load("c/k")  # a StoreError here would be a torn row
        assert token is not None, f"round {round_number}: the grant is gone"
        n = int(token.access_token[5:13])
        assert n >= target  # the last committed save (or the one after it), never older
        assert token == Token(f"Atza|{n:08d}" + "x" * 2000, "Atzr|keep", 10.0**9 + n)


# ----- an outage ---------------------------------------------------------------------------


def test_postgres_stopped_mid_run_fails_no_call_and_catches_up(
    postgres_server: Any,
    emulator: Emulator,
    make_auth: Callable[..., AdsAuth],
    clock: FakeClock,
    captured_logs: list[str],
) -> None:
    url = postgres_server.url.replace("/postgres", "/postgres?connect_timeout=2")
    store = SQLTokenStore(url, table=unique_table(), create=True)
    auth = make_auth(store=store)
    key = auth._manager.key
    session = requests.Session()

    def call() -> int:
        return session.get(emulator.api_url + "/v2/profiles", auth=auth, timeout=30).status_code

    assert call() == 200
    first = store.load(key)
    assert first is not None and first == auth.token
    postgres_server.stop()
    try:
        clock.advance(3700)  # expired while the database is down
        assert [call() for _ in range(5)] == [200] * 5
        assert auth.token is not None and auth.token != first
        assert emulator.token_requests == {"refresh_token": 2}  # one refresh, not one per call
        assert any("single flight across processes is off" in t for t in captured_logs)
        assert any("could not save the new token" in t for t in captured_logs)
    finally:
        postgres_server.start()
    clock.advance(120)  # past the save's backoff: the next call starts the save again
    assert call() == 200
    eventually(lambda: store.load(key) == auth.token, timeout=30)
    assert emulator.token_requests == {"refresh_token": 2}


def test_sql_logging_never_shows_a_token(
    tmp_path: pathlib.Path, captured_logs: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")  # an app debugging its SQL
    store = SQLTokenStore(f"sqlite:///{tmp_path / 'g.db'}", create=True)
    store.save("c/k", Token("Atza|logged-" + "a" * 30, "Atzr|logged-" + "r" * 30, 1.0))
    assert store.load("c/k") is not None
    assert any("INSERT INTO" in t for t in captured_logs)  # the statements were logged
    assert not any("logged-" in t for t in captured_logs)  # their parameters were not


def test_tasks_on_an_encrypted_sql_store_share_one_refresh(
    database_url: str, emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    import asyncio

    import httpx

    from amazon_ads_auth import EncryptedTokenStore
    from amazon_ads_auth._stores.encrypted import new_key

    inner = SQLTokenStore(database_url, table=unique_table(), create=True)
    auth = make_auth(store=EncryptedTokenStore(inner, keys=[new_key()]))

    async def calls() -> list[int]:
        async with httpx.AsyncClient(auth=auth, timeout=30) as client:
            answers = await asyncio.gather(
                *(client.get(emulator.api_url + "/v2/profiles") for _ in range(50))
            )
        return [answer.status_code for answer in answers]

    assert asyncio.run(calls()) == [200] * 50
    assert emulator.token_requests == {"refresh_token": 1}
    stored = inner.load(auth._manager.key)
    assert stored is not None and stored.refresh_token and stored.refresh_token.startswith("enc:")
