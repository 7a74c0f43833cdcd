"""Lifecycle events: typed, frozen and secret-free (the suite-wide scanner reads every one),
delivered after the locks are released, and a callback that raises never breaks a refresh.
From AdsAuth (waited and soft refreshes, failures by reason), LoginDirectory, ConsentFlow
(connect, re-consent, disconnect, `expiring()`) and the CLI's login and logout."""

from __future__ import annotations

import dataclasses
import datetime
import logging
import pickle
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import CliRunner

import amazon_ads_auth
from amazon_ads_auth import (
    AdsAuth,
    ConfigurationError,
    GrantConnected,
    GrantDisconnected,
    GrantExpiring,
    InvalidGrantError,
    LoginDirectory,
    MemoryTokenStore,
    RefreshFailed,
    RefreshTokenPolicy,
    Token,
    TokenEndpointError,
    TokenExchanged,
    TokenRefreshed,
    add_event_listener,
)
from amazon_ads_auth._logins.records import Login, save_login
from amazon_ads_auth._stores.grant import GrantRecord, new_grant, write_grant
from amazon_ads_auth._stores.keys import GrantKey
from amazon_ads_auth.cli import main
from amazon_ads_auth.testing import Emulator, FakeClock
from tests.conftest import SENTINEL_CLIENT_SECRET, eventually
from tests.web_apps import Person, add_accounts, make_flow

DAY = 86400.0
LIFETIME = 365 * DAY


@pytest.fixture(autouse=True)
def every_consent_expires() -> Iterator[None]:
    """Consents a year before this machine's date predate the default cutoff (2026-06-30):
    the documented policy value moves it back, so they expire as later consents will."""
    RefreshTokenPolicy.set_default(RefreshTokenPolicy(cutoff=datetime.date(2020, 1, 1)))
    yield
    RefreshTokenPolicy.set_default(None)


def test_a_waited_refresh_is_one_event_with_key_region_and_duration(
    make_auth: Callable[..., AdsAuth],
) -> None:
    events: list[object] = []
    auth = make_auth(on_event=events.append, region="eu", store_key="acme")
    auth.ensure_token()
    assert len(events) == 1
    event = events[0]
    assert isinstance(event, TokenRefreshed)
    assert event.key == f"{auth.client_id}/acme"
    assert (event.region, event.soft, event.waited) == ("eu", False, True)
    assert event.duration > 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.key = "other"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(event)) == event


def test_an_async_refresh_is_one_event_too(make_auth: Callable[..., AdsAuth]) -> None:
    import asyncio

    events: list[object] = []
    auth = make_auth(on_event=events.append)

    async def many() -> None:
        await asyncio.gather(*(auth.async_ensure_token() for _ in range(20)))

    asyncio.run(many())
    assert [type(e).__name__ for e in events] == ["TokenRefreshed"]


def test_a_soft_refresh_says_so(
    make_auth: Callable[..., AdsAuth], emulator: Emulator, clock: FakeClock
) -> None:
    events: list[object] = []
    refresh_token = emulator.issue_refresh_token()
    auth = make_auth(refresh_token, on_event=events.append)
    emulator.accept_access_token("Atza|soon", clock() + 60, refresh_token)
    auth.import_token(Token("Atza|soon", refresh_token, clock() + 60))
    auth.headers()  # inside the margin: a background refresh, nobody waits
    eventually(lambda: events)
    assert isinstance(events[0], TokenRefreshed) and events[0].soft


def test_failures_by_reason_with_attempts_in_a_row(
    make_auth: Callable[..., AdsAuth], emulator: Emulator
) -> None:
    events: list[Any] = []
    refresh_token = emulator.issue_refresh_token()
    emulator.revoke_refresh_token(refresh_token)
    auth = make_auth(refresh_token, on_event=events.append)
    for _ in range(2):
        with pytest.raises(InvalidGrantError):
            auth.ensure_token()
    assert [(e.reason, e.attempt, e.error) for e in events] == [
        ("revoked", 1, "invalid_grant"),
        ("revoked", 2, "invalid_grant"),
    ]
    assert all(isinstance(e, RefreshFailed) and not e.soft for e in events)

    down: list[Any] = []
    emulator.token_outage = 503
    with pytest.raises(TokenEndpointError):
        make_auth(on_event=down.append, max_retries=1).ensure_token()
    emulator.token_outage = None
    assert [(e.reason, e.error) for e in down] == [("unreachable", "http_503")]

    wrong: list[Any] = []
    kwargs = emulator.auth_kwargs()
    with pytest.raises(amazon_ads_auth.InvalidClientError):
        AdsAuth(emulator.client_id, "wrong", "Atzr|x", on_event=wrong.append, **kwargs).refresh()
    assert [(e.reason, e.error) for e in wrong] == [("client", "invalid_client")]


def test_events_are_delivered_after_the_locks_are_released(
    make_auth: Callable[..., AdsAuth],
) -> None:
    seen: list[tuple[bool, bool]] = []
    auth: AdsAuth

    def callback(event: object) -> None:
        manager = auth._manager
        with auth._manager.store.lock(manager.key):  # the store lock is free: no deadlock
            seen.append((manager._lock.locked(), isinstance(event, TokenRefreshed)))
        if len(seen) == 1:
            auth.refresh()  # even a refresh from inside the callback (it takes both locks)

    auth = make_auth(on_event=callback)
    worker = threading.Thread(target=auth.ensure_token, daemon=True)
    worker.start()
    worker.join(20)
    assert not worker.is_alive(), "a callback under the lock deadlocked"
    assert seen == [(False, True), (False, True)]


def test_a_callback_that_raises_is_logged_and_the_refresh_goes_on(
    make_auth: Callable[..., AdsAuth], caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: object) -> None:
        raise RuntimeError("the app's bug")

    auth = make_auth(on_event=broken)
    with caplog.at_level(logging.WARNING, logger="amazon_ads_auth"):
        token = auth.ensure_token()
    assert token.access_token
    assert "event callback failed on TokenRefreshed" in caplog.text
    assert "RuntimeError" in caplog.text


def test_on_event_must_be_callable(make_auth: Callable[..., AdsAuth]) -> None:
    with pytest.raises(ConfigurationError, match="on_event"):
        make_auth(on_event="print")
    with pytest.raises(ConfigurationError, match="on_event"):
        LoginDirectory(MemoryTokenStore(), on_event=42)  # type: ignore[arg-type]


def consented_grant(emulator: Emulator, store: MemoryTokenStore, expires_in: float | None) -> None:
    """The "default" grant as a code exchange records it, consented so that its refresh
    token ends in `expires_in` seconds (None: consent unknown); the emulator agrees."""
    emulator.refresh_token_lifetime = LIFETIME
    consented = None if expires_in is None else emulator.clock() + expires_in - LIFETIME
    refresh_token = emulator.issue_refresh_token(consented_at=consented)
    record = new_grant(Token("Atza|old", refresh_token, 1.0), None, consented_at=consented)
    write_grant(store, str(GrantKey.login(emulator.client_id)), record)


def test_a_running_adsauth_says_a_grant_is_expiring_at_most_once_a_day(
    make_auth: Callable[..., AdsAuth], emulator: Emulator, clock: FakeClock
) -> None:
    store = MemoryTokenStore()
    consented_grant(emulator, store, 20 * DAY + 60)
    events: list[Any] = []
    auth = make_auth(None, store=store, on_event=events.append)
    auth.ensure_token()
    auth.refresh()
    clock.advance(3600)
    auth.ensure_token()
    expiring = [e for e in events if isinstance(e, GrantExpiring)]
    assert [e.days_left for e in expiring] == [20]
    assert expiring[0].key == f"{emulator.client_id}/default"
    clock.advance(DAY)
    auth.refresh()
    assert [e.days_left for e in events if isinstance(e, GrantExpiring)] == [20, 18]


def test_a_grant_of_unknown_or_distant_expiry_is_never_expiring(
    make_auth: Callable[..., AdsAuth], emulator: Emulator
) -> None:
    store = MemoryTokenStore()
    events: list[Any] = []
    consented_grant(emulator, store, None)
    make_auth(None, store=store, on_event=events.append).ensure_token()
    consented_grant(emulator, store, 200 * DAY)
    make_auth(None, store=store, on_event=events.append).refresh()
    assert [type(e).__name__ for e in events] == ["TokenRefreshed", "TokenRefreshed"]
    assert not [e for e in events if isinstance(e, GrantExpiring)]


def test_login_directory_passes_on_event_to_every_auth(emulator: Emulator) -> None:
    store = MemoryTokenStore()
    for name in ("a", "b"):
        key = f"{emulator.client_id}/{name}"
        store.save(key, Token("Atza|old", emulator.issue_refresh_token(), 1.0))
        login = Login(
            client_id=emulator.client_id,
            store_key=name,
            token_url=emulator.token_url,
            client_secret=emulator.client_secret,
        )
        save_login(store, login)
    events: list[Any] = []
    with LoginDirectory(store, on_event=events.append) as logins:
        for login in logins:
            logins.auth(login.store_key).ensure_token()
    assert sorted(e.key.rpartition("/")[2] for e in events) == ["a", "b"]


# ----- the web flow ----------------------------------------------------------------------------


def connect(flow: Any, tenant: str, account: str = "alice") -> Any:
    start = flow.begin(tenant)
    callback = Person("http://127.0.0.1:9", None).consent_at_amazon(start.url, account)
    return flow.complete(callback, start.cookie_value, tenant=tenant)


def test_the_web_flow_connects_reconsents_and_disconnects_with_events(emulator: Emulator) -> None:
    add_accounts(emulator)
    store = MemoryTokenStore()
    events: list[Any] = []
    flow = make_flow(emulator, 8000, store, on_event=events.append)
    connect(flow, "acme")
    key = str(GrantKey.tenant(emulator.client_id, "acme"))  # the tenants' namespace
    first = store.load(key)
    connect(flow, "acme", "bob")  # begin() on a connected tenant: consent again
    second = store.load(key)
    assert first is not None and second is not None
    assert first.refresh_token != second.refresh_token
    assert flow.disconnect("acme")
    kinds = [type(e).__name__ for e in events]
    assert kinds == [
        "TokenExchanged",
        "GrantConnected",
        "TokenExchanged",
        "GrantConnected",
        "GrantDisconnected",
    ]
    connected = [e for e in events if isinstance(e, GrantConnected)]
    assert [(e.key, e.source, e.region) for e in connected] == [(key, "web", "na")] * 2
    assert connected[1].profiles == 2  # bob's
    assert all(e.result == "ok" for e in events if isinstance(e, TokenExchanged))
    assert events[-1] == GrantDisconnected(key, "web")


def test_expiring_lists_the_tenants_to_ask_again() -> None:
    # Tenants connect through the flow over a year, on one clock, as they would in an app.
    clock = FakeClock(datetime.datetime.now(datetime.timezone.utc).timestamp() - 368 * DAY)
    with Emulator(
        clock=clock,
        client_secret=SENTINEL_CLIENT_SECRET,
        refresh_token_lifetime=datetime.timedelta(days=365),
    ) as emulator:
        add_accounts(emulator)
        store = MemoryTokenStore()
        flow = make_flow(emulator, 8000, store)
        connect(flow, "gone")  # day 0: its consent ended 3 days ago
        # A CLI login of the same client that ends as soon: never a tenant to ask.
        login = Login(client_id=emulator.client_id, store_key="gone")
        cli = new_grant(Token("Atza|x", "Atzr|x", 1.0), login.to_record(), consented_at=clock())
        write_grant(store, str(GrantKey.login(emulator.client_id, "gone")), cli)
        clock.advance(13.2 * DAY)
        connect(flow, "soon", "bob")  # ends in 10.2 days
        clock.advance(79.8 * DAY)
        connect(flow, "later")  # ends in 90 days
        unknown = GrantRecord(Token("Atza|x", "Atzr|x", 1.0), {"format": 1, "kind": "tenant"})
        write_grant(store, str(GrantKey.tenant(emulator.client_id, "unknown")), unknown)
        clock.advance(275 * DAY)  # today

        listed = flow.expiring()
        assert [(t.tenant, t.days_left, t.expired) for t in listed] == [
            ("gone", 0, True),
            ("soon", 10, False),
        ]
        wide = flow.expiring(within=datetime.timedelta(days=100))
        assert [t.tenant for t in wide] == ["gone", "soon", "later"]
        connect(flow, "soon", "bob")  # reconnect: a new consent, a year more
        assert [t.tenant for t in flow.expiring()] == ["gone"]


# ----- the CLI -----------------------------------------------------------------------------------


def test_cli_login_and_logout_tell_the_process_listeners() -> None:
    events: list[Any] = []
    stop = add_event_listener(events.append)
    try:
        assert CliRunner().invoke(main, ["login", "--emulator"]).exit_code == 0
        assert CliRunner().invoke(main, ["logout", "--emulator", "--yes"]).exit_code == 0
    finally:
        stop()
    lifecycle = [e for e in events if isinstance(e, (GrantConnected, GrantDisconnected))]
    assert [(type(e).__name__, e.source) for e in lifecycle] == [
        ("GrantConnected", "cli"),
        ("GrantDisconnected", "cli"),
    ]
    assert lifecycle[0].key == lifecycle[1].key


def test_event_types_are_public_and_read_as_the_package() -> None:
    for name in (
        "TokenRefreshed",
        "RefreshFailed",
        "TokenExchanged",
        "GrantConnected",
        "GrantDisconnected",
        "GrantExpiring",
        "GrantChecked",
    ):
        cls = getattr(amazon_ads_auth, name)
        assert name in amazon_ads_auth.__all__
        assert cls.__dataclass_params__.frozen
        assert cls.__module__ == "amazon_ads_auth"
