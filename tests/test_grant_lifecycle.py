"""The grant as one record with a lifecycle: consent time written by every code exchange,
refresh-token expiry (RefreshTokenPolicy), GrantExpiredError vs a revocation, one atomic
write under failure and concurrency, tenants in a namespace of their own, unreadable
grants never replaced by another login, and records written by the previous release."""

from __future__ import annotations

import datetime
import json
import pathlib
import shutil
import threading
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from click.testing import CliRunner

from amazon_ads_auth import (
    AdsAuth,
    FileTokenStore,
    GrantExpiredError,
    InvalidGrantError,
    LoginDirectory,
    MemoryTokenStore,
    NoTokenError,
    RedisTokenStore,
    RefreshTokenPolicy,
    StoreError,
    Token,
    TokenEndpointError,
)
from amazon_ads_auth._logins.records import Login, load_logins
from amazon_ads_auth._stores.grant import (
    GrantRecord,
    new_grant,
    read_grant,
    write_grant,
)
from amazon_ads_auth._stores.keys import GrantKey
from amazon_ads_auth.cli import main
from amazon_ads_auth.testing import Emulator, FakeClock
from amazon_ads_auth.testing._faults import Fault
from amazon_ads_auth.web import ANY_TENANT, ConsentFlow
from tests.conftest import SENTINEL_CLIENT_SECRET
from tests.web_apps import ACCOUNTS, Person, add_accounts, make_flow

DATA = pathlib.Path(__file__).parent / "data" / "grants_v1"
FIXTURE_CLIENT = "amzn1.application-oa2-client.fixture"
DAY = 86400.0
AFTER_CUTOFF = datetime.datetime(2026, 9, 1, tzinfo=datetime.timezone.utc).timestamp()
PORT = 8000


@pytest.fixture
def later_clock() -> FakeClock:
    return FakeClock(AFTER_CUTOFF)


@pytest.fixture
def amazon(later_clock: FakeClock) -> Any:
    with Emulator(
        clock=later_clock,
        client_secret=SENTINEL_CLIENT_SECRET,
        refresh_token_lifetime=datetime.timedelta(days=365),
    ) as emu:
        add_accounts(emu)
        yield emu


def consent(flow: ConsentFlow, tenant: str, account: str = "alice") -> tuple[Any, str]:
    start = flow.begin(tenant)
    return start, Person("http://127.0.0.1:9", None).consent_at_amazon(start.url, account)


def fixture_files(tmp_path: pathlib.Path) -> pathlib.Path:
    folder = tmp_path / "tokens"
    shutil.copytree(DATA / "file", folder)
    folder.chmod(0o700)
    for file in folder.iterdir():
        file.chmod(0o600)
    return folder


def snapshot(folder: pathlib.Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.json"))}


# ----- the policy --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("consented", "expected_days"),
    [
        (None, None),  # unknown consent: unknown expiry, never a false warning
        (datetime.datetime(2026, 6, 29, 23, 0), None),  # before the cutoff: no expiry
        (datetime.datetime(2026, 6, 30, 0, 0), 365),
        (datetime.datetime(2027, 1, 5, 12, 0), 365),
    ],
)
def test_the_policy_expires_consents_from_the_cutoff_on(
    consented: datetime.datetime | None, expected_days: int | None
) -> None:
    when = None if consented is None else consented.replace(tzinfo=datetime.timezone.utc)
    at = None if when is None else when.timestamp()
    expires = RefreshTokenPolicy().expires_at(at)
    if expected_days is None:
        assert expires is None
    else:
        assert at is not None and expires == at + expected_days * DAY


def test_the_default_policy_can_be_changed_without_a_release() -> None:
    consented = datetime.datetime(2026, 7, 10, tzinfo=datetime.timezone.utc).timestamp()
    record = new_grant(Token("Atza|a", "Atzr|r", 1.0), None, consented_at=consented)
    store = MemoryTokenStore()
    write_grant(store, "c/k", record)
    assert record.refresh_expires_at == consented + 365 * DAY
    RefreshTokenPolicy.set_default(
        RefreshTokenPolicy(lifetime=datetime.timedelta(days=365), cutoff=datetime.date(2026, 7, 30))
    )
    try:  # a file written under the old policy is read under the new one
        files = FileTokenStore(pathlib.Path(str(uuid.uuid4())))
        try:
            write_grant(files, "c/k", record)
            assert read_grant(files, "c/k").refresh_expires_at is None  # type: ignore[union-attr]
        finally:
            shutil.rmtree(files.path)
    finally:
        RefreshTokenPolicy.set_default(None)


# ----- consent time from every code exchange; expired vs revoked ---------------------------------


def test_complete_records_the_consent_and_an_expired_grant_says_so(
    amazon: Emulator, later_clock: FakeClock
) -> None:
    store = MemoryTokenStore()
    flow = make_flow(amazon, PORT, store)
    start, callback = consent(flow, "acme")
    flow.complete(callback, start.cookie_value, tenant="acme")
    [login] = list(flow.directory())
    assert login.consented_at == AFTER_CUTOFF
    assert login.refresh_expires_at == AFTER_CUTOFF + 365 * DAY
    assert login.state_at(AFTER_CUTOFF) == "ok"
    assert login.state_at(AFTER_CUTOFF + 340 * DAY) == "expiring"
    later_clock.advance(365 * DAY + 60)  # the access token too is long expired
    auth = flow.auth("acme")
    with pytest.raises(GrantExpiredError, match="consent expired 365 days after it was given"):
        auth.ensure_token()
    assert amazon.token_requests.get("refresh_token") == 1  # never retried
    [after] = list(flow.directory())
    assert (after.last_refresh, after.last_refresh_error) == ("expired", "invalid_grant")
    assert after.state == "expired"


def test_a_revocation_before_the_expiry_is_the_revoked_error(
    amazon: Emulator, later_clock: FakeClock
) -> None:
    store = MemoryTokenStore()
    flow = make_flow(amazon, PORT, store)
    start, callback = consent(flow, "acme")
    flow.complete(callback, start.cookie_value, tenant=ANY_TENANT)
    record = read_grant(store, GrantKey.tenant(amazon.client_id, "acme").__str__())
    assert record is not None and record.token.refresh_token is not None
    amazon.revoke_refresh_token(record.token.refresh_token)
    later_clock.advance(2 * 3600)
    with pytest.raises(InvalidGrantError) as caught:
        flow.auth("acme").ensure_token()
    assert not isinstance(caught.value, GrantExpiredError)
    [after] = list(flow.directory())
    assert after.last_refresh == "revoked" and after.state == "revoked"
    assert after.profiles and after.consented_at == AFTER_CUTOFF  # the rest is kept


def test_a_refresh_keeps_the_record_and_notes_the_outcome(
    amazon: Emulator, later_clock: FakeClock
) -> None:
    store = MemoryTokenStore()
    flow = make_flow(amazon, PORT, store)
    start, callback = consent(flow, "acme", "bob")
    flow.complete(callback, start.cookie_value, tenant=ANY_TENANT)
    later_clock.advance(2 * 3600)
    flow.auth("acme").ensure_token()
    [login] = list(flow.directory())
    assert (login.last_refresh, login.last_refresh_at) == ("ok", AFTER_CUTOFF + 2 * 3600)
    assert [p.profile_id for p in login.profiles] == ["222", "223"]
    assert login.consented_at == AFTER_CUTOFF


def test_fetch_token_records_the_consent_and_never_merges_a_stored_refresh_token(
    amazon: Emulator, later_clock: FakeClock
) -> None:
    store = MemoryTokenStore()
    auth = AdsAuth(
        amazon.client_id, amazon.client_secret, store=store, clock=later_clock,
        **amazon.auth_kwargs(),
    )  # fmt: skip
    auth.import_token(Token("Atza|old", "Atzr|previous-account", 1.0))
    before = read_grant(store, f"{amazon.client_id}/default")
    request = auth.authorization_request("http://127.0.0.1:9/cb")
    callback = Person("http://127.0.0.1:9", None).consent_at_amazon(request.url, "alice")
    code = parse_qs(urlsplit(callback).query)["code"][0]
    amazon.queue_token_faults(  # an exchange answer without a refresh token
        Fault.json_body({"access_token": "Atza|" + "x" * 400, "expires_in": 3600})
    )
    with pytest.raises(TokenEndpointError, match="without a refresh token"):
        auth.fetch_token(
            code=code, redirect_uri=request.redirect_uri, code_verifier=request.code_verifier
        )
    assert read_grant(store, f"{amazon.client_id}/default") == before  # untouched
    request = auth.authorization_request("http://127.0.0.1:9/cb")
    callback = Person("http://127.0.0.1:9", None).consent_at_amazon(request.url, "alice")
    auth.fetch_token(authorization_response=callback, request=request)
    record = read_grant(store, f"{amazon.client_id}/default")
    assert record is not None and record.consented_at == AFTER_CUTOFF
    assert record.token.refresh_token != "Atzr|previous-account"


def test_a_lifetime_lwa_states_wins(amazon: Emulator) -> None:
    amazon.refresh_token_lifetime = 30 * DAY
    amazon.send_refresh_token_expires_in = True
    store = MemoryTokenStore()
    flow = make_flow(amazon, PORT, store)
    start, callback = consent(flow, "acme")
    flow.complete(callback, start.cookie_value, tenant=ANY_TENANT)
    [login] = list(flow.directory())
    assert login.refresh_expires_at == AFTER_CUTOFF + 30 * DAY


def test_the_emulator_makes_a_grant_that_expires_in_n_days(
    amazon: Emulator, later_clock: FakeClock
) -> None:
    refresh_token = amazon.issue_refresh_token(consented_at=later_clock() - 360 * DAY)
    assert amazon.refresh_token_expires_at(refresh_token) == later_clock() + 5 * DAY
    auth = AdsAuth(
        amazon.client_id, amazon.client_secret, refresh_token, clock=later_clock,
        **amazon.auth_kwargs(),
    )  # fmt: skip
    auth.ensure_token()
    later_clock.advance(5 * DAY)
    with pytest.raises(InvalidGrantError):
        auth.refresh()


# ----- one atomic write --------------------------------------------------------------------------


class FailingSaves(MemoryTokenStore):
    """A store that fails its next whole-record save (between the profile fetch and the
    save of a code exchange)."""

    fail = False

    def save_grant(self, key: str, record: GrantRecord) -> None:
        if self.fail:
            raise StoreError("the database went away")
        super().save_grant(key, record)


def test_a_store_that_fails_at_the_save_leaves_the_previous_grant(amazon: Emulator) -> None:
    store = FailingSaves()
    flow = make_flow(amazon, PORT, store)
    start, callback = consent(flow, "acme", "alice")
    flow.complete(callback, start.cookie_value, tenant=ANY_TENANT)
    key = str(GrantKey.tenant(amazon.client_id, "acme"))
    before = read_grant(store, key)
    store.fail = True
    start, callback = consent(flow, "acme", "bob")
    with pytest.raises(StoreError, match="went away"):
        flow.complete(callback, start.cookie_value, tenant=ANY_TENANT)
    assert read_grant(store, key) == before  # the old grant, whole: token and profiles


def test_two_completions_for_one_tenant_leave_one_consistent_grant(amazon: Emulator) -> None:
    store = MemoryTokenStore()
    flow = make_flow(amazon, PORT, store)
    consents = [consent(flow, "acme", who) for who in ("alice", "bob")]
    go = threading.Barrier(2)

    def complete(start: Any, callback: str) -> None:
        go.wait()
        flow.complete(callback, start.cookie_value, tenant=ANY_TENANT)

    threads = [threading.Thread(target=complete, args=pair) for pair in consents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    [login] = list(flow.directory())
    token = store.load(login.key)
    assert token is not None
    seen = requests.get(
        amazon.api_url + "/v2/profiles",
        headers={
            "Authorization": f"Bearer {token.access_token}",
            "Amazon-Advertising-API-ClientId": amazon.client_id,
        },
        timeout=30,
    ).json()
    assert [p.raw for p in login.profiles] == seen  # this token's account, not the other's
    assert seen in (ACCOUNTS["alice"], ACCOUNTS["bob"])


# ----- tenants apart from CLI logins -------------------------------------------------------------


def test_a_tenant_named_default_never_reaches_the_cli_login(
    amazon: Emulator, tmp_path: pathlib.Path
) -> None:
    store = FileTokenStore(tmp_path / "tokens")
    cli_login = AdsAuth(amazon.client_id, amazon.client_secret, amazon.issue_refresh_token(),
                        store=store, **amazon.auth_kwargs())  # fmt: skip
    cli_login.ensure_token()
    mine = store.load(f"{amazon.client_id}/default")
    flow = make_flow(amazon, PORT, store)
    with pytest.raises(NoTokenError):
        flow.auth("default")
    start, callback = consent(flow, "default", "bob")
    flow.complete(callback, start.cookie_value, tenant=ANY_TENANT)
    assert store.load(f"{amazon.client_id}/default") == mine  # untouched
    assert [x.tenant for x in flow.directory()] == ["default"]
    kinds = {x.store_key: x.namespace for x in LoginDirectory(store, client_id=amazon.client_id)}
    assert kinds == {"default": "login", "tenant:default": "tenant"}
    refused = CliRunner().invoke(
        main, ["logout", "--store", store.path.as_uri(), "--store-key", "tenant:default", "--yes"]
    )
    assert refused.exit_code == 1 and "namespace of web tenants" in refused.output
    assert store.load(f"{amazon.client_id}/tenant:default") is not None


def test_tenant_grants_of_the_previous_release_are_found_and_moved(
    tmp_path: pathlib.Path,
) -> None:
    folder = fixture_files(tmp_path)
    store = FileTokenStore(folder)
    flow = ConsentFlow(
        FIXTURE_CLIENT, "fixture-secret", store=store,
        redirect_uri="https://app.example/callback", secret_key=b"k" * 32,
    )  # fmt: skip
    assert list(flow.directory()) == []  # not moved yet
    auth = flow.auth("acme")  # found, and moved into the tenants' namespace
    assert auth.token is None and auth.client_id == FIXTURE_CLIENT
    [tenant] = list(flow.directory())
    assert tenant.tenant == "acme" and [p.profile_id for p in tenant.profiles] == ["222"]
    assert store.load(f"{FIXTURE_CLIENT}/acme") is None
    assert store.load(f"{FIXTURE_CLIENT}/tenant:acme") == Token(
        "Atza|fixture-access-acme", "Atzr|fixture-refresh-acme", 1780000000.0
    )
    assert store.load(f"{FIXTURE_CLIENT}/default") is not None  # the CLI login stays
    assert not flow.migrate_tenant("default")  # never the CLI's default login
    assert flow.disconnect("acme") and list(flow.directory()) == []


# ----- records of the previous release; bad records ----------------------------------------------


def test_file_records_of_the_previous_release_are_read_and_kept(tmp_path: pathlib.Path) -> None:
    folder = fixture_files(tmp_path)
    store = FileTokenStore(folder)
    logins = load_logins(store)
    assert [x.store_key for x in logins] == ["acme", "default", "old"]  # sorted
    default = logins[1]
    assert (default.region, default.client_secret) == ("eu", "fixture-client-secret-0001")
    assert [p.profile_id for p in default.profiles] == ["111"]
    assert default.consented_at is None and default.refresh_expires_at is None
    assert default.state == "ok" and not logins[2].recorded
    key = f"{FIXTURE_CLIENT}/default"
    with store.lock(key):
        store.save(key, Token("Atza|new", "Atzr|fixture-refresh-default", 1790000000.0))
    again = Login.from_grant(key, read_grant(store, key))  # type: ignore[arg-type]
    assert again.profiles == default.profiles and again.client_secret == default.client_secret


def test_keyring_redis_and_callback_values_of_the_previous_release(
    tmp_path: pathlib.Path, redis_url: str
) -> None:
    import keyring
    import redis

    from amazon_ads_auth import CallbackTokenStore, KeyringTokenStore
    from tests.file_keyring import FileKeyring

    copy = tmp_path / "keyring.json"
    shutil.copy(DATA / "keyring.json", copy)
    previous = keyring.get_keyring()
    keyring.set_keyring(FileKeyring(copy))
    try:
        stores: list[Any] = [KeyringTokenStore(lock_folder=tmp_path / "locks")]
        prefix = f"v1-{uuid.uuid4().hex}:"
        client = redis.Redis.from_url(redis_url)
        for name, value in json.loads((DATA / "redis.json").read_text()).items():
            client.set(prefix + name[len("fixture:") :], value)
        stores.append(RedisTokenStore(redis_url, prefix=prefix))
        for store in stores:
            logins = {x.store_key: x for x in load_logins(store)}
            assert sorted(logins) == ["acme", "default", "old"]
            assert logins["default"].region == "eu" and logins["acme"].profiles
            assert not logins["old"].recorded
            assert store.load(f"{FIXTURE_CLIENT}/old") == Token(
                "Atza|fixture-access-old", "Atzr|fixture-refresh-old", 1780000000.0
            )
        rows = json.loads((DATA / "callback.json").read_text())
        callback = CallbackTokenStore(rows.get, rows.__setitem__)
        assert callback.load(f"{FIXTURE_CLIENT}/acme") == Token(
            "Atza|fixture-access-acme", "Atzr|fixture-refresh-acme", 1780000000.0
        )
    finally:
        keyring.set_keyring(previous)


def plant(folder: pathlib.Path, **fields: Any) -> tuple[FileTokenStore, str, pathlib.Path]:
    store = FileTokenStore(folder)
    key = f"{FIXTURE_CLIENT}/default"
    login = Login(FIXTURE_CLIENT, "default", region="fe").to_record()
    write_grant(store, key, GrantRecord(Token("Atza|a", "Atzr|r", 2e9), login))
    target = next(folder.glob("*.json"))
    document = json.loads(target.read_text())
    document.update(fields)
    target.write_text(json.dumps(document))
    return store, key, target


def test_a_newer_format_says_to_upgrade_and_is_left_alone(tmp_path: pathlib.Path) -> None:
    store, key, target = plant(tmp_path / "t", format=99)
    before = target.read_bytes()
    with pytest.raises(StoreError, match=r"newer version of amazon-ads-auth.*upgrade"):
        store.load(key)
    with pytest.raises(StoreError, match="newer version"):
        store.save(key, Token("Atza|b", "Atzr|b", 3e9))
    [login] = load_logins(store)
    assert login.state == "unreadable"
    status = CliRunner().invoke(main, ["status", "--store", store.path.as_uri()])
    assert status.exit_code == 0 and "unreadable" in status.output
    assert "Traceback" not in status.output
    assert target.read_bytes() == before


@pytest.mark.parametrize("consented_at", [2e12, "yesterday", [1], True])
def test_a_consent_time_in_the_future_or_not_a_number_is_unknown(
    tmp_path: pathlib.Path, consented_at: Any
) -> None:
    store, key, target = plant(tmp_path / "t", consented_at=consented_at)
    before = target.read_bytes()
    record = read_grant(store, key)
    assert record is not None and record.consented_at is None
    assert record.refresh_expires_at is None and record.token.access_token == "Atza|a"
    assert target.read_bytes() == before


def test_a_corrupt_record_half_keeps_the_token_usable_and_is_never_dropped(
    tmp_path: pathlib.Path,
) -> None:
    store, key, target = plant(tmp_path / "t", login="}{ not a record")
    before = target.read_bytes()
    [login] = load_logins(store)
    assert not login.recorded and store.load(key) is not None
    assert target.read_bytes() == before
    with store.lock(key):
        store.save(key, Token("Atza|b", "Atzr|r", 3e9))  # a refresh
    assert json.loads(target.read_text())["login"] == "}{ not a record"


def test_hostile_redis_keys_are_problems_never_tracebacks(tmp_path: pathlib.Path) -> None:
    import redis

    from tests.conftest import running_redis

    with running_redis(tmp_path) as (_, url):  # its own server: the CLI's default prefix
        client = redis.Redis.from_url(url)
        store = RedisTokenStore(url)
        write_grant(store, "amzn1.c/good", GrantRecord(Token("Atza|g", "Atzr|g", 2e9)))
        client.set(store.prefix.encode() + b"amzn1.c/\xff\xfe", b"{}")
        write_grant(store, "amzn1.c/\x1b[31mred", GrantRecord(Token("Atza|e", "Atzr|e", 2e9)))
        assert store.keys() == ["amzn1.c/\x1b[31mred", "amzn1.c/good"]
        assert len(store.problems()) == 1 and "not UTF-8" in store.problems()[0]
        status = CliRunner().invoke(main, ["status", "--store", url])
        assert status.exit_code == 0 and "Traceback" not in status.output
        assert "\x1b" not in status.output and "\\x1b[31mred" in status.output
        assert "not UTF-8" in status.output
        assert client.get(store.prefix.encode() + b"amzn1.c/\xff\xfe") == b"{}"


# ----- unreadable default ------------------------------------------------------------------------


def test_an_unreadable_default_is_named_never_replaced_by_another_login(
    tmp_path: pathlib.Path,
) -> None:
    folder = fixture_files(tmp_path)
    store = FileTokenStore(folder)
    default = store._file(f"{FIXTURE_CLIENT}/default")
    default.write_text("{ damaged")
    before = snapshot(folder)
    runner = CliRunner()
    args = ["--store", folder.as_uri()]
    expected = "the login 'default' cannot be read"
    with pytest.raises(StoreError, match=expected):
        AdsAuth.from_login(store=store, client_secret="x")
    token = runner.invoke(main, ["token", *args])
    assert token.exit_code == 1 and expected in token.output
    assert "amazon-ads-auth logout --store-key default" in token.output
    logout = runner.invoke(main, ["logout", *args, "--yes"])
    assert logout.exit_code == 1 and expected in logout.output
    assert snapshot(folder) == before  # nothing deleted, nothing changed
    status = runner.invoke(main, ["status", *args])
    assert "unreadable" in status.output and "logout --store-key default" in status.output
    removed = runner.invoke(main, ["logout", *args, "--store-key", "default", "--yes"])
    assert removed.exit_code == 0, removed.output
    assert not default.exists() and len(snapshot(folder)) == 2


# ----- the CLI -----------------------------------------------------------------------------------


@pytest.fixture
def early_cutoff() -> Any:
    """A policy whose cutoff is long past, so grants consented a year ago expire."""
    RefreshTokenPolicy.set_default(RefreshTokenPolicy(cutoff=datetime.date(2020, 1, 1)))
    yield
    RefreshTokenPolicy.set_default(None)


def test_status_json_and_expiring_within(tmp_path: pathlib.Path, early_cutoff: None) -> None:
    import time

    store = FileTokenStore(tmp_path / "t")
    now = time.time()
    for name, days_ago in (("soon", 355), ("fresh", 10), ("older", None)):
        consented = None if days_ago is None else now - days_ago * DAY
        login = Login("amzn1.c", name, region="na").to_record()
        token = Token("Atza|a", "Atzr|" + "r" * 20, now + 3600)
        write_grant(store, f"amzn1.c/{name}", new_grant(token, login, consented_at=consented))
    runner = CliRunner()
    args = ["status", "--store", store.path.as_uri()]
    objects = json.loads(runner.invoke(main, [*args, "--json"]).output)
    assert [x["store_key"] for x in objects] == ["fresh", "older", "soon"]
    by_key = {x["store_key"]: x for x in objects}
    assert by_key["soon"]["state"] == "expiring"
    assert by_key["soon"]["refresh_expires_in_days"] in (9, 10)
    assert by_key["older"]["refresh_expires_at"] is None and by_key["older"]["state"] == "ok"
    assert "Atzr|" not in json.dumps(objects)
    table = runner.invoke(main, args).output
    assert "expiring in" in table and "unknown" in table and "in 35" in table
    expiring = runner.invoke(main, [*args, "--expiring-within", "30d"])
    assert expiring.exit_code == 1 and "soon" in expiring.output and "fresh" not in expiring.output
    assert runner.invoke(main, [*args, "--expiring-within", "5d"]).exit_code == 0
    assert runner.invoke(main, [*args, "--expiring-within", "soon"]).exit_code == 2


def test_login_saves_the_grant_when_only_the_profiles_fail(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    from tests.test_login_once import login, run

    home = tmp_path / "home"
    home.mkdir()
    result = login(home, emulator, "--api-url", "http://127.0.0.1:9")  # no Ads API there
    assert result.returncode == 0, result.stderr
    assert "profiles could not be fetched" in result.stderr
    assert "amazon-ads-auth profiles --refresh" in result.stderr
    [saved] = load_logins(FileTokenStore(home / ".local/share/amazon-ads-auth/tokens"))
    assert not saved.profiles_known and saved.consented_at is not None
    assert "?" in run(home, "status").stdout.splitlines()[1]  # profiles unknown


_WRITER = """
import sys
from amazon_ads_auth import FileTokenStore, RedisTokenStore, Token
from amazon_ads_auth._stores.grant import GrantRecord, write_grant
kind, where = sys.argv[1], sys.argv[2]
store = FileTokenStore(where) if kind == "file" else RedisTokenStore(where, prefix="kill:")
n = 0
print("ready", flush=True)
while True:
    n += 1
    name = "a" if n % 2 else "b"
    login = {"format": 1, "client_id": "amzn1.c", "region": name, "profiles": [{"profileId": n}]}
    token = Token("Atza|" + name * 500, "Atzr|" + name, float(n))
    write_grant(store, "amzn1.c/default", GrantRecord(token, login, consented_at=float(n)))
"""


@pytest.mark.parametrize("kind", ["file", "redis"])
def test_a_writer_killed_mid_write_leaves_the_old_record_or_the_new(
    kind: str, tmp_path: pathlib.Path, redis_url: str
) -> None:
    import signal
    import subprocess
    import sys
    import time

    where = str(tmp_path / "tokens") if kind == "file" else redis_url
    store = FileTokenStore(where) if kind == "file" else RedisTokenStore(where, prefix="kill:")
    for attempt in range(3):
        writer = subprocess.Popen(
            [sys.executable, "-c", _WRITER, kind, where], stdout=subprocess.PIPE, text=True
        )
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 30
        while read_grant(store, "amzn1.c/default") is None and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.02 + 0.02 * attempt)  # many writes in, then killed in one of them
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        record = read_grant(store, "amzn1.c/default")
        assert record is not None and record.login is not None
        name = record.token.refresh_token[-1]  # type: ignore[index]
        n = int(record.token.expires_at)
        assert record.login["region"] == name and record.consented_at == n
        assert record.login["profiles"] == [{"profileId": n}]
        assert record.token.access_token == "Atza|" + name * 500


def test_the_cli_says_an_expired_consent_needs_a_new_login(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    import time

    from tests.test_cli import pointing_at

    folder = tmp_path / "tokens"
    store = FileTokenStore(folder)
    now = time.time()
    refresh_token = emulator.issue_refresh_token()
    emulator.revoke_refresh_token(refresh_token)  # what LwA does after the expiry
    record = GrantRecord(
        Token("Atza|old", refresh_token, now - 60),
        Login(emulator.client_id, "default").to_record(),
        consented_at=now - 400 * DAY,
        refresh_expires_at=now - 35 * DAY,
        expires_from="lwa",
    )
    write_grant(store, f"{emulator.client_id}/default", record)
    result = CliRunner().invoke(main, ["token", *pointing_at(emulator, folder)])
    assert result.exit_code == 1
    assert "consent expired 365 days after it was given: run `amazon-ads-auth login`" in (
        result.output
    )
    [login] = load_logins(store)
    assert (login.last_refresh, login.state) == ("expired", "expired")
    assert login.consented_at == record.consented_at  # the rest of the record is kept


class TokenAndRecordStore:
    """A store of the older contract only (token, login record, a listing of records), as a
    third-party or SQL store may be: the grant record travels through it too."""

    def __init__(self) -> None:
        self.tokens: dict[str, Token] = {}
        self.logins: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def load(self, key: str) -> Token | None:
        return self.tokens.get(key)

    def save(self, key: str, token: Token) -> None:
        self.tokens[key] = token

    def delete(self, key: str) -> None:
        self.tokens.pop(key, None)
        self.logins.pop(key, None)

    def lock(self, key: str) -> Any:
        return self._lock

    def keys(self) -> list[str]:
        return sorted(self.tokens)

    def load_login(self, key: str) -> dict[str, Any] | None:
        return self.logins.get(key)

    def save_login(self, key: str, record: dict[str, Any]) -> None:
        self.logins[key] = dict(record)

    def records(self) -> dict[str, dict[str, Any] | None]:
        return {k: self.logins.get(k) for k in self.tokens}


def test_a_store_of_the_older_contract_keeps_the_lifecycle_in_the_record() -> None:
    from amazon_ads_auth.testing import check_token_store

    assert "grant records" in check_token_store(TokenAndRecordStore, processes=False)
    store = TokenAndRecordStore()
    login = Login("amzn1.c", "default").to_record()
    record = new_grant(Token("Atza|a", "Atzr|r", 2e9), login, consented_at=AFTER_CUTOFF)
    write_grant(store, "amzn1.c/default", record)
    [listed] = load_logins(store)
    assert listed.consented_at == AFTER_CUTOFF
    assert listed.refresh_expires_at == AFTER_CUTOFF + 365 * DAY


def test_disconnect_removes_a_tenant_grant_that_cannot_be_read(tmp_path: pathlib.Path) -> None:
    store = FileTokenStore(tmp_path / "t")
    flow = ConsentFlow(
        FIXTURE_CLIENT, "fixture-secret", store=store,
        redirect_uri="https://app.example/callback", secret_key=b"k" * 32,
    )  # fmt: skip
    key = str(GrantKey.tenant(FIXTURE_CLIENT, "acme"))
    write_grant(store, key, GrantRecord(Token("Atza|a", "Atzr|a", 2e9)))
    target = store._file(key)
    target.write_text('{"format": 99, "key": "' + key + '"}')
    [login] = list(flow.directory())
    assert login.state == "unreadable" and login.tenant == "acme"
    with pytest.raises(StoreError, match=r"ConsentFlow.disconnect\('acme'\) removes it"):
        flow.auth("acme")
    assert flow.disconnect("acme") and not target.exists()


def test_a_newer_redis_value_says_to_upgrade_and_is_left_alone(redis_url: str) -> None:
    import redis

    prefix = f"newer-{uuid.uuid4().hex}:"
    value = json.dumps({"format": 99, "token": {"access_token": "Atza|x"}})
    redis.Redis.from_url(redis_url).set(prefix + "amzn1.c/default", value)
    store = RedisTokenStore(redis_url, prefix=prefix)
    with pytest.raises(StoreError, match="upgrade amazon-ads-auth"):
        store.load("amzn1.c/default")
    [login] = load_logins(store)
    assert login.state == "unreadable"
    assert redis.Redis.from_url(redis_url).get(prefix + "amzn1.c/default") == value.encode()


def test_a_cli_login_that_fails_leaves_the_previous_grant(
    emulator: Emulator, tmp_path: pathlib.Path, clock: FakeClock
) -> None:
    from tests.test_cli import cli, own_consent_code, pointing_at

    def login(code: str) -> Any:
        return cli(
            "login", *pointing_at(emulator, tmp_path), "--paste", "--no-pkce", "--no-browser",
            "--redirect-uri", "https://amazon.com", input=code + "\n",
        )  # fmt: skip

    assert login(own_consent_code(emulator, "https://amazon.com")).exit_code == 0
    [first] = load_logins(FileTokenStore(tmp_path))
    import time

    assert first.consented_at is not None and abs(first.consented_at - time.time()) < 60
    assert first.namespace == "login" and first.profiles
    before = snapshot(tmp_path)
    emulator.queue_token_faults(  # an exchange answer without a refresh token
        Fault.json_body({"access_token": "Atza|" + "y" * 400, "expires_in": 3600})
    )
    missing = login(own_consent_code(emulator, "https://amazon.com"))
    assert missing.exit_code == 1 and "without a refresh token" in missing.stderr
    expired = own_consent_code(emulator, "https://amazon.com")
    clock.advance(301)
    assert login(expired).exit_code == 1  # the code expired: the exchange fails
    assert snapshot(tmp_path) == before  # the previous grant, byte for byte
