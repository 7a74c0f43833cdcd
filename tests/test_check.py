"""`check_grants` and `amazon-ads-auth check`: every classification reached against the
emulator, no transient fault ever reported as revoked, one token request per grant at most
(none for a grant live workers just refreshed), and the command's table, JSON and exit codes.

The refresh token's expiry comes from the grant record: each grant is written as a code
exchange writes it (`new_grant` with its consent time), and the emulator refuses its refresh
token 365 days after that same consent (`refresh_token_lifetime=`,
`issue_refresh_token(consented_at=...)`)."""

from __future__ import annotations

import datetime
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from amazon_ads_auth import (
    AdsAuth,
    FileTokenStore,
    GrantCheck,
    GrantChecked,
    GrantExpiring,
    GrantState,
    MemoryTokenStore,
    RefreshFailed,
    RefreshTokenPolicy,
    Token,
    TokenRefreshed,
    check_grants,
)
from amazon_ads_auth._logins.records import Login, load_logins, save_login
from amazon_ads_auth._stores.grant import EXPIRED, REVOKED, RefreshOutcome, new_grant, write_grant
from amazon_ads_auth._stores.keys import GrantKey
from amazon_ads_auth.cli import main
from amazon_ads_auth.testing import Emulator, FakeClock, Fault
from tests.conftest import SENTINEL_CLIENT_SECRET

DAY = 86400.0
LIFETIME = 365 * DAY


@pytest.fixture(autouse=True)
def every_consent_expires() -> Iterator[None]:
    """Consents a year before this machine's date predate the default cutoff (2026-06-30):
    the documented policy value moves it back, so they expire as later consents will."""
    RefreshTokenPolicy.set_default(RefreshTokenPolicy(cutoff=datetime.date(2020, 1, 1)))
    yield
    RefreshTokenPolicy.set_default(None)


class Grants:
    """A store of logins, each with its own grant at the emulator."""

    def __init__(self, emulator: Emulator, clock: FakeClock, store: Any = None) -> None:
        self.emulator = emulator
        self.clock = clock
        self.store = store if store is not None else MemoryTokenStore()
        self.refresh_tokens: dict[str, str] = {}
        emulator.refresh_token_lifetime = LIFETIME  # Amazon's rule, by the emulator's clock

    def add(
        self,
        store_key: str,
        *,
        secret: str | None = SENTINEL_CLIENT_SECRET,
        fresh: bool = False,
        profiles: tuple[int, ...] = (),
        expires_in_days: float | None = None,
        last_refresh: RefreshOutcome | None = None,
    ) -> str:
        """A grant as a code exchange records it: consented so that its refresh token
        expires in `expires_in_days` (None: a grant of unknown consent, never expiring as
        far as anyone knows)."""
        emu = self.emulator
        consented_at = None
        if expires_in_days is not None:
            consented_at = self.clock() + expires_in_days * DAY - LIFETIME
        refresh_token = emu.issue_refresh_token(consented_at=consented_at)
        key = GrantKey.parse(store_key) or GrantKey(emu.client_id, store_key)
        expires_at = self.clock() + 3000 if fresh else self.clock() - 10
        access = f"Atza|stored-{key.store_key}"
        if fresh:
            emu.accept_access_token(access, expires_at, refresh_token)
        login = Login(
            client_id=emu.client_id,
            store_key=key.store_key,
            token_url=emu.token_url,
            api_url=emu.api_url,
            client_secret=secret,
        )
        items = [{"profileId": p, "countryCode": "US"} for p in profiles]
        record = new_grant(
            Token(access, refresh_token, expires_at),
            login.with_profiles(items).to_record(),
            consented_at=consented_at,
        )
        if last_refresh is not None:
            record = record.with_outcome(last_refresh)
        write_grant(self.store, str(key), record)
        self.refresh_tokens[key.store_key] = refresh_token
        return refresh_token

    def add_tenant(self, tenant: str, **kwargs: Any) -> str:
        """A web tenant's grant, in the tenants' namespace ("<client id>/tenant:<id>")."""
        return self.add(str(GrantKey.tenant(self.emulator.client_id, tenant)), **kwargs)

    def check(self, **kwargs: Any) -> dict[str, GrantCheck]:
        kwargs.setdefault("clock", self.clock)
        kwargs.setdefault("sleep", lambda seconds: None)
        kwargs.setdefault("retry_backoff", 0.0)
        kwargs.setdefault("token_transport", self.emulator.httpx_transport())
        results = check_grants(self.store, **kwargs)
        return {r.store_key: r for r in results}


@pytest.fixture
def grants(emulator: Emulator, clock: FakeClock) -> Grants:
    return Grants(emulator, clock)


def test_every_classification_is_reached(grants: Grants) -> None:
    emu = grants.emulator
    grants.add("ok")
    grants.add("expiring", expires_in_days=12.5)
    grants.add("later", expires_in_days=200)
    emu.revoke_refresh_token(grants.add("revoked"))
    grants.add("expired", expires_in_days=-1)  # 366 days after consent: the emulator refuses
    grants.add("client", secret="not-the-secret")
    emu.fail_refresh(grants.add("unreachable"), 503, times=4)
    grants.add("no-secret", secret=None)
    grants.store.save(f"{emu.client_id}/unreadable", Token("Atza|x", None, 1.0))
    save_login(grants.store, Login(client_id=emu.client_id, store_key="unreadable"))

    results = grants.check()

    assert {k: r.state for k, r in results.items()} == {
        "ok": GrantState.OK,
        "expiring": GrantState.EXPIRING,
        "later": GrantState.OK,
        "revoked": GrantState.REVOKED,
        "expired": GrantState.EXPIRED,
        "client": GrantState.CLIENT,
        "unreachable": GrantState.UNREACHABLE,
        "no-secret": GrantState.NO_SECRET,
        "unreadable": GrantState.UNREADABLE,
    }
    assert results["expiring"].days_left == 12
    assert results["later"].days_left == 200
    assert results["revoked"].error == "invalid_grant"
    assert "connect again" in results["revoked"].detail
    assert results["client"].error == "invalid_client"
    assert results["unreachable"].error == "http_503"
    assert not results["expired"].token_request  # the known expiry passed: no request
    assert results["no-secret"].state == "no secret"  # a str enum
    assert [r.store_key for r in check_grants(grants.store, store_key="ok", clock=grants.clock)]
    assert list(results) == sorted(results)


def test_an_invalid_grant_after_the_known_expiry_is_expired_before_it_revoked(
    grants: Grants,
) -> None:
    emu = grants.emulator
    grants.add("a", expires_in_days=100 / DAY)
    emu.revoke_refresh_token(grants.add("b", expires_in_days=100))
    emu.hold_token_requests()
    results: list[dict[str, GrantCheck]] = []
    checking = threading.Thread(target=lambda: results.append(grants.check(store_key="a")))
    checking.start()
    assert emu.wait_for_held_token_request()
    grants.clock.advance(200)  # "a" passes its expiry while its token request is in flight
    emu.release_token_requests()
    checking.join(10)
    assert results[0]["a"].state is GrantState.EXPIRED  # GrantExpiredError: invalid_grant after
    assert results[0]["a"].token_request and results[0]["a"].error == "invalid_grant"
    assert grants.check(store_key="b")["b"].state is GrantState.REVOKED  # before its expiry
    recorded = {x.store_key: x.last_refresh for x in load_logins(grants.store)}
    assert recorded == {"a": "expired", "b": "revoked"}  # what `status` shows


def test_no_refresh_reports_a_refused_grant_from_its_record_without_a_request(
    grants: Grants,
) -> None:
    emu = grants.emulator
    at = grants.clock() - DAY
    refused = {"revoked": REVOKED, "expired": EXPIRED}
    for name, outcome in refused.items():
        token = grants.add(
            name, fresh=True, last_refresh=RefreshOutcome(outcome, at, "invalid_grant")
        )
        emu.revoke_refresh_token(token)
    grants.add("gone", expires_in_days=-2, fresh=True)  # the known expiry passed
    results = grants.check(refresh=False)
    assert {k: r.state.value for k, r in results.items()} == {
        "expired": "expired",
        "gone": "expired",
        "revoked": "revoked",
    }
    assert not any(r.token_request for r in results.values())
    assert emu.token_request_count == 0
    assert results["revoked"].error == "invalid_grant"
    assert "connect again" in results["revoked"].detail
    # `status` says the same word for each grant.
    assert {x.store_key: x.state for x in load_logins(grants.store)} == {
        k: r.state.value for k, r in results.items()
    }
    # With refresh, a refused grant is proved again; a passed expiry needs no request.
    again = grants.check(store_key="revoked")["revoked"]
    assert again.state is GrantState.REVOKED and again.token_request
    assert grants.check(store_key="gone")["gone"].state is GrantState.EXPIRED
    assert emu.token_requests["refresh_token"] == 1


TRANSIENT = [
    pytest.param(Fault.status_code(500), id="500"),
    pytest.param(Fault.status_code(502), id="502"),
    pytest.param(Fault.status_code(503), id="503"),
    pytest.param(Fault.status_code(504), id="504"),
    pytest.param(Fault.rate_limited(0), id="429"),
    pytest.param(Fault.html(503), id="html-503"),
    pytest.param(Fault.drop_connection(), id="dropped"),
    pytest.param(Fault.reset_connection(), id="reset"),
    pytest.param(Fault.delay(0.3), id="timeout"),
]


@pytest.mark.parametrize("fault", TRANSIENT)
def test_every_transient_fault_is_unreachable_never_revoked(grants: Grants, fault: Fault) -> None:
    emu = grants.emulator
    emu.fail_refresh(grants.add("flaky"), fault=fault, times=3)  # every attempt (2 retries)
    grants.add("fine")
    results = grants.check(max_retries=2, timeout=0.1)
    assert results["flaky"].state is GrantState.UNREACHABLE
    assert results["flaky"].state is not GrantState.REVOKED
    assert results["fine"].state is GrantState.OK
    assert emu.token_requests["refresh_token"] == 3 + 1


@pytest.mark.parametrize("kind", [429, 500, "drop", "reset", "timeout"])
def test_fail_refresh_by_name_is_unreachable(grants: Grants, kind: Any) -> None:
    grants.emulator.fail_refresh(grants.add("flaky"), kind, times=2, seconds=0.3)
    assert grants.check(max_retries=1, timeout=0.1)["flaky"].state == "unreachable"


def test_progress_counts_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib
    import io

    cli_check = importlib.import_module("amazon_ads_auth.cli.check")  # not the command

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(cli_check.sys, "stderr", terminal)
    show = cli_check._progress()
    assert show is not None
    for done in range(1, 22):
        show(done, 21)
    assert terminal.getvalue().endswith("\rchecked 21/21 grants\n")
    small = Terminal()
    monkeypatch.setattr(cli_check.sys, "stderr", small)
    cli_check._progress()(3, 3)
    assert small.getvalue() == ""  # 20 grants or fewer: no counter


def test_a_fault_that_clears_within_the_retries_is_ok(grants: Grants) -> None:
    grants.emulator.fail_refresh(grants.add("flaky"), 503, times=2)
    assert grants.check(max_retries=3)["flaky"].state is GrantState.OK


def test_one_token_request_per_grant(grants: Grants) -> None:
    for n in range(30):
        grants.add(f"g{n:02d}", fresh=n % 2 == 0)
    results = grants.check(concurrency=4)
    assert all(r.ok and r.token_request for r in results.values())
    assert grants.emulator.token_requests["refresh_token"] == 30


def test_no_refresh_uses_a_valid_stored_token_without_a_request(grants: Grants) -> None:
    grants.add("fresh", fresh=True)
    grants.add("stale")
    results = grants.check(refresh=False)
    assert results["fresh"].ok and not results["fresh"].token_request
    assert results["stale"].ok and results["stale"].token_request
    assert grants.emulator.token_requests["refresh_token"] == 1


def test_a_grant_live_workers_just_refreshed_costs_no_token_request(grants: Grants) -> None:
    emu = grants.emulator
    grants.add("busy")
    worker = AdsAuth(
        emu.client_id,
        emu.client_secret,
        store=grants.store,
        store_key="busy",
        clock=grants.clock,
        **emu.auth_kwargs(),
    )
    worker.ensure_token()
    assert emu.token_request_count == 1
    grants.clock.advance(30)
    assert grants.check()["busy"].ok
    assert emu.token_request_count == 1
    worker.close()


def test_a_check_beside_a_refresh_in_flight_waits_for_it(grants: Grants) -> None:
    emu = grants.emulator
    grants.add("busy")
    worker = AdsAuth(
        emu.client_id,
        emu.client_secret,
        store=grants.store,
        store_key="busy",
        clock=grants.clock,
        **emu.auth_kwargs(),
    )
    emu.hold_token_requests()
    refreshing = threading.Thread(target=worker.ensure_token)
    refreshing.start()
    assert emu.wait_for_held_token_request()
    results: list[dict[str, GrantCheck]] = []
    checking = threading.Thread(target=lambda: results.append(grants.check()))
    checking.start()
    checking.join(0.2)  # the check queues on the store's lock behind the worker
    emu.release_token_requests()
    refreshing.join(10)
    checking.join(10)
    assert results[0]["busy"].ok
    assert emu.token_request_count == 1
    worker.close()


def test_a_check_refreshes_a_token_older_than_a_few_minutes(grants: Grants) -> None:
    grants.add("old", fresh=True)
    grants.clock.advance(600)  # the stored token was issued ~10 minutes before now... or more
    assert grants.check()["old"].token_request
    assert grants.emulator.token_requests["refresh_token"] == 1


def test_narrowing_by_store_key_tenant_and_profile(grants: Grants) -> None:
    grants.add("a", profiles=(111,))
    grants.add("b", profiles=(222,))
    grants.add("acme")  # a CLI login named like the tenant: never the tenant
    grants.add_tenant("acme", expires_in_days=10)
    assert list(grants.check(store_key="a")) == ["a"]
    tenant = grants.check(tenant="acme")
    assert list(tenant) == ["tenant:acme"]
    assert (tenant["tenant:acme"].tenant, tenant["tenant:acme"].namespace) == ("acme", "tenant")
    assert tenant["tenant:acme"].to_dict()["tenant"] == "acme"
    assert list(grants.check(store_key="acme")) == ["acme"]
    assert grants.check(store_key="acme")["acme"].namespace == "login"
    assert list(grants.check(profile_id=222)) == ["b"]
    assert grants.check(store_key="nobody") == {}
    assert sorted(grants.check()) == ["a", "acme", "b", "tenant:acme"]  # every grant


def test_a_store_key_never_reaches_a_tenant(grants: Grants) -> None:
    from amazon_ads_auth import ConfigurationError

    grants.add_tenant("acme")
    with pytest.raises(ConfigurationError, match="tenant="):
        check_grants(grants.store, store_key="tenant:acme")
    with pytest.raises(ConfigurationError, match="different grants"):
        check_grants(grants.store, store_key="acme", tenant="acme")


def test_unreadable_token_files_are_reported(
    emulator: Emulator, clock: FakeClock, tmp_path: Any
) -> None:
    grants = Grants(emulator, clock, FileTokenStore(tmp_path / "store"))
    grants.add("good")
    (tmp_path / "store" / "broken.json").write_text("{not json")
    results = check_grants(grants.store, clock=clock)
    states = sorted(r.state.value for r in results)
    assert states == ["ok", "unreadable"]
    assert any("broken.json" in r.detail for r in results if r.state == "unreadable")


def test_events_of_a_check(grants: Grants) -> None:
    events: list[object] = []
    grants.emulator.revoke_refresh_token(grants.add("revoked"))
    grants.add("expiring", expires_in_days=5)
    grants.check(on_event=events.append)
    checked = {e.key.rpartition("/")[2]: e.state for e in events if isinstance(e, GrantChecked)}
    assert checked == {"revoked": "revoked", "expiring": "expiring"}
    expiring = [e for e in events if isinstance(e, GrantExpiring)]
    assert [e.days_left for e in expiring] == [5]
    assert [e.reason for e in events if isinstance(e, RefreshFailed)] == ["revoked"]
    assert len([e for e in events if isinstance(e, TokenRefreshed)]) == 1


def test_the_secret_from_the_environment_serves_its_client_only(
    grants: Grants, monkeypatch: pytest.MonkeyPatch
) -> None:
    grants.add("bare", secret=None)
    monkeypatch.setenv("AMAZON_ADS_CLIENT_ID", grants.emulator.client_id)
    monkeypatch.setenv("AMAZON_ADS_CLIENT_SECRET", SENTINEL_CLIENT_SECRET)
    assert grants.check()["bare"].ok
    monkeypatch.setenv("AMAZON_ADS_CLIENT_ID", "amzn1.application-oa2-client.another")
    assert grants.check()["bare"].state == "no secret"


def test_bad_arguments_are_configuration_errors(grants: Grants) -> None:
    from amazon_ads_auth import ConfigurationError

    with pytest.raises(ConfigurationError, match="concurrency"):
        check_grants(grants.store, concurrency=0)
    with pytest.raises(ConfigurationError, match="within"):
        check_grants(grants.store, within=30)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="client_id"):
        check_grants(grants.store, client_secret="x")


# ----- the command ---------------------------------------------------------------------------


@pytest.fixture
def served(tmp_path: Any, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """The CLI against a file store of grants at a serving emulator."""
    emu = Emulator(client_secret=SENTINEL_CLIENT_SECRET).start()
    store = FileTokenStore(tmp_path / "store")
    monkeypatch.setenv("AMAZON_ADS_TOKEN_STORE", f"file://{tmp_path / 'store'}")
    grants = Grants(emu, FakeClock(), store)

    def run(*args: str) -> Any:
        return CliRunner().invoke(main, ["check", *args])

    run.grants = grants  # type: ignore[attr-defined]
    yield run
    emu.stop()


def test_cli_check_exit_codes_table_and_json(served: Any) -> None:
    grants: Grants = served.grants
    grants.add("alpha")
    grants.emulator.revoke_refresh_token(grants.add("beta"))
    bad = served("--json")
    assert bad.exit_code == 1, bad.output
    rows = json.loads(bad.stdout)
    assert [(r["store_key"], r["state"]) for r in rows] == [("alpha", "ok"), ("beta", "revoked")]
    assert rows[1]["error"] == "invalid_grant"
    ok = served("--store-key", "alpha")
    assert ok.exit_code == 0, ok.output
    assert "STATE" in ok.stdout and "alpha" in ok.stdout and "beta" not in ok.stdout
    table = served()
    assert table.exit_code == 1
    assert "revoked" in table.stdout and "connect again" in table.stdout
    assert served("--store-key", "nobody").exit_code == 1


def test_cli_check_usage_errors_exit_2(served: Any) -> None:
    assert served("--within", "soon").exit_code == 2
    assert served("--concurrency", "0").exit_code == 2
    assert served("--profile-id", "abc").exit_code == 2
    assert served("--tenant", "acme", "--store-key", "acme").exit_code == 2


def test_cli_within_accepts_days_weeks_hours(served: Any) -> None:
    from amazon_ads_auth.cli.check import parse_within

    assert parse_within("30d") == datetime.timedelta(days=30)
    assert parse_within("2w") == datetime.timedelta(days=14)
    assert parse_within("12h") == datetime.timedelta(hours=12)
    assert parse_within("7") == datetime.timedelta(days=7)


def test_cli_progress_never_on_a_pipe(served: Any) -> None:
    grants: Grants = served.grants
    for n in range(22):
        grants.add(f"g{n:02d}")
    result = served("--json")
    assert result.exit_code == 0
    assert "checked" not in result.output  # CliRunner is not a terminal: no counter
    assert len(json.loads(result.stdout)) == 22


def test_status_and_check_say_the_same_word_for_each_grant(served: Any) -> None:
    grants: Grants = served.grants
    grants.add("fine", expires_in_days=200)
    grants.add("soon", expires_in_days=12.5)
    grants.add("gone", expires_in_days=-1)
    refused = RefreshOutcome(REVOKED, grants.clock() - DAY, "invalid_grant")
    grants.emulator.revoke_refresh_token(grants.add("refused", fresh=True, last_refresh=refused))
    checked = served("--json", "--no-refresh")
    assert checked.exit_code == 1, checked.output
    status = CliRunner().invoke(main, ["status", "--json"])
    assert status.exit_code == 0, status.output
    by_check = {r["store_key"]: r for r in json.loads(checked.stdout)}
    by_status = {r["store_key"]: r for r in json.loads(status.stdout)}
    words = {"fine": "ok", "soon": "expiring", "gone": "expired", "refused": "revoked"}
    assert {k: r["state"] for k, r in by_check.items()} == words
    assert {k: r["state"] for k, r in by_status.items()} == words
    for key in ("fine", "soon"):
        assert by_check[key]["days_left"] == by_status[key]["refresh_expires_in_days"]
    assert by_check["soon"]["days_left"] == 12
    assert not by_check["refused"]["token_request"] and not by_check["gone"]["token_request"]
    assert by_check["fine"]["namespace"] == by_status["fine"]["namespace"] == "login"
