"""LoginDirectory and AdsAuth.from_login in one process: agencies with many logins and
profiles, routing by profile, and the errors that say what to do."""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

import pytest

from amazon_ads_auth import (
    AdsAuth,
    ConfigurationError,
    FileTokenStore,
    Login,
    LoginDirectory,
    MemoryTokenStore,
    NoTokenError,
    Token,
    TokenStore,
)
from amazon_ads_auth._logins.records import save_login
from amazon_ads_auth.testing import Emulator, FakeClock


def add_login(
    store: TokenStore,
    emulator: Emulator,
    store_key: str,
    profile_ids: list[int],
    *,
    secret: bool = True,
) -> Login:
    """A stored grant (expired access token) with its login record, as `login` leaves it."""
    refresh_token = emulator.issue_refresh_token()
    store.save(f"{emulator.client_id}/{store_key}", Token("Atza|expired", refresh_token, 1.0))
    login = Login(
        client_id=emulator.client_id,
        store_key=store_key,
        token_url=emulator.token_url,
        api_url=emulator.api_url,
        client_secret=emulator.client_secret if secret else None,
    ).with_profiles([{"profileId": pid, "countryCode": "US"} for pid in profile_ids])
    assert save_login(store, login)
    return login


def test_three_logins_a_thousand_profiles_one_token_request_each(
    emulator: Emulator, tmp_path: pathlib.Path, clock: FakeClock
) -> None:
    store = FileTokenStore(tmp_path / "tokens")
    owners: dict[int, str] = {}
    for n, name in enumerate(["brand-a", "brand-b", "brand-c"]):
        ids = [10_000 + n * 1000 + i for i in range(334 if n < 2 else 332)]
        add_login(store, emulator, name, ids)
        owners.update(dict.fromkeys(ids, name))
    assert len(owners) == 1000
    logins = LoginDirectory(store, clock=clock)
    assert sorted(x.store_key for x in logins) == ["brand-a", "brand-b", "brand-c"]
    managers = set()
    for profile_id, owner in owners.items():
        auth = logins.auth_for(profile_id)
        assert auth.profile_id == str(profile_id)
        assert auth._manager.key == f"{emulator.client_id}/{owner}"
        assert emulator.is_valid_access_token(auth.ensure_token().access_token)
        managers.add(id(auth._manager))
    assert len(managers) == 3  # one token manager per login, shared by its profiles
    assert emulator.token_requests == {"refresh_token": 3}


def test_a_profile_no_record_names_is_looked_up_once_per_login(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    store = FileTokenStore(tmp_path / "tokens")
    add_login(store, emulator, "brand-a", [1])
    other = Emulator(client_id="amzn1.application-oa2-client.other", profiles=[{"profileId": 2}])
    with other:
        add_login(store, other, "brand-b", [2])
        # Advertiser 77 was added to brand-a after its login: not in the record yet.
        emulator.profiles = [{"profileId": 77, "countryCode": "DE"}]
        auth = LoginDirectory(store).auth_for(77)
        assert auth.profile_id == "77" and auth._manager.key.endswith("/brand-a")
        assert emulator.api_requests == {200: 1} and other.api_requests == {200: 1}
        records = {x.store_key: x for x in LoginDirectory(store)}
        assert [p.profile_id for p in records["brand-a"].profiles] == ["77"]  # updated
        with pytest.raises(ConfigurationError, match=r"no login .* has profile 99.*brand-a"):
            LoginDirectory(store).auth_for(99)


def test_from_login_choices_and_errors(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    store = MemoryTokenStore()
    with pytest.raises(NoTokenError, match="amazon-ads-auth login"):
        AdsAuth.from_login(store=store)
    add_login(store, emulator, "brand-a", [1])
    only = AdsAuth.from_login(store=store)
    assert only._manager.key.endswith("/brand-a")
    add_login(store, emulator, "brand-b", [2], secret=False)
    with pytest.raises(ConfigurationError, match=r"brand-a.*brand-b.*store_key="):
        AdsAuth.from_login(store=store)
    monkeypatch.delenv("AMAZON_ADS_CLIENT_SECRET", raising=False)
    with pytest.raises(ConfigurationError, match="AMAZON_ADS_CLIENT_SECRET"):
        AdsAuth.from_login("brand-b", store=store)
    monkeypatch.setenv("AMAZON_ADS_CLIENT_SECRET", emulator.client_secret)
    with pytest.raises(ConfigurationError, match=f"AMAZON_ADS_CLIENT_ID={emulator.client_id}"):
        AdsAuth.from_login("brand-b", store=store)  # the secret came without its client id
    monkeypatch.setenv("AMAZON_ADS_CLIENT_ID", emulator.client_id)
    named = AdsAuth.from_login("brand-b", store=store, profile_id=2)
    assert named.profile_id == "2" and named._manager.key.endswith("/brand-b")
    assert emulator.is_valid_access_token(named.ensure_token().access_token)
    with pytest.raises(ConfigurationError, match="no login for client id"):
        AdsAuth.from_login("brand-a", store=store, client_id="amzn1.application-oa2-client.other")
    overridden = AdsAuth.from_login("brand-a", store=store, refresh_margin=60)
    assert overridden._manager._margin == 60


def test_from_env_prefers_the_environment_then_the_login(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch, make_auth: Callable[..., AdsAuth]
) -> None:
    for name in ("AMAZON_ADS_CLIENT_ID", "AMAZON_ADS_CLIENT_SECRET", "AMAZON_ADS_TOKEN_STORE"):
        monkeypatch.delenv(name, raising=False)
    store = MemoryTokenStore()
    add_login(store, emulator, "default", [1])
    assert AdsAuth.from_env(store=store)._manager.key.endswith("/default")
    monkeypatch.setenv("AMAZON_ADS_CLIENT_ID", "amzn1.application-oa2-client.fromenv")
    monkeypatch.setenv("AMAZON_ADS_CLIENT_SECRET", "s")
    assert AdsAuth.from_env(store=store).client_id == "amzn1.application-oa2-client.fromenv"


class CountingFileStore(FileTokenStore):
    """Counts the passes over its login records."""

    passes = 0

    def grant_records(self) -> dict[str, Any]:
        self.passes += 1
        return super().grant_records()


def test_from_env_reads_the_stored_logins_once(
    emulator: Emulator, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = CountingFileStore(tmp_path / "tokens")
    add_login(store, emulator, "default", [1])
    monkeypatch.setenv("AMAZON_ADS_CLIENT_ID", emulator.client_id)
    auth = AdsAuth.from_env(store=store)  # the client's login: checked, then chosen
    assert auth.client_id == emulator.client_id
    assert store.passes == 1
