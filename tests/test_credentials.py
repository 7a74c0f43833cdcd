"""Every credential goes to the right place: one resolution for the CLI, `from_login()`,
`from_env()` and `LoginDirectory` (real processes where the CLI or environment variables are
involved), profile routing that cannot send another advertiser's token, and record URLs that
cannot redirect a secret."""

from __future__ import annotations

import logging
import pathlib
from collections.abc import Iterator

import pytest

from amazon_ads_auth import (
    AdsAuth,
    ConfigurationError,
    FileTokenStore,
    LoginDirectory,
    Token,
)
from amazon_ads_auth._logins.records import Login, load_logins, save_login
from amazon_ads_auth.testing import Emulator
from tests.test_login_once import login, python, run

CLIENT_A = "amzn1.application-oa2-client.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
CLIENT_B = "amzn1.application-oa2-client.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
FROM_ENV = (
    "from amazon_ads_auth import AdsAuth; print(AdsAuth.from_env().ensure_token().access_token)"
)
FROM_LOGIN_B = (
    "from amazon_ads_auth import AdsAuth; "
    "print(AdsAuth.from_login('b').ensure_token().access_token)"
)


@pytest.fixture
def home(tmp_path: pathlib.Path) -> pathlib.Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


def token_store(home: pathlib.Path) -> FileTokenStore:
    return FileTokenStore(home / ".local/share/amazon-ads-auth/tokens")


def expire_all(home: pathlib.Path) -> None:
    """Make every stored access token expired, so the next command must refresh."""
    store = token_store(home)
    keys = store.keys()
    for key in keys:
        stored = store.load(key)
        assert stored is not None
        store.save(key, Token(stored.access_token, stored.refresh_token, 0.0))


@pytest.fixture
def two_clients() -> Iterator[tuple[Emulator, Emulator]]:
    with (
        Emulator(client_id=CLIENT_A, client_secret="amzn1.oa2-cs.v1.secret-of-a") as a,
        Emulator(client_id=CLIENT_B, client_secret="amzn1.oa2-cs.v1.secret-of-b") as b,
    ):
        yield a, b


# ----- 1. one client's secret is never sent with another client's login --------------------------


def test_a_secret_from_the_environment_is_never_sent_with_another_clients_login(
    home: pathlib.Path, two_clients: tuple[Emulator, Emulator]
) -> None:
    a, b = two_clients
    login(home, a, store_key="a")
    login(home, b, store_key="b")
    expire_all(home)
    stale_env = {"AMAZON_ADS_CLIENT_SECRET": a.client_secret}  # a .env left from A
    result = run(home, "token", "--store-key", "b", **stale_env)
    assert result.returncode == 0, result.stderr
    assert b.is_valid_access_token(result.stdout.strip())
    expire_all(home)
    script = python(
        home,
        FROM_ENV,
        AMAZON_ADS_STORE_KEY="b",
        **stale_env,
    )
    assert script.returncode == 0, script.stderr
    assert b.is_valid_access_token(script.stdout.strip())
    assert b.token_requests["refresh_token"] == 2 and a.token_requests["refresh_token"] == 0
    # The matching client id makes the given secret the one used (explicit > record).
    matching = run(home, "token", "--store-key", "a", AMAZON_ADS_CLIENT_ID=CLIENT_A, **stale_env)
    assert matching.returncode == 0, matching.stderr


def test_a_login_without_its_secret_names_the_client_id_the_secret_needs(
    home: pathlib.Path, two_clients: tuple[Emulator, Emulator]
) -> None:
    a, b = two_clients
    login(home, b, "--no-save-secret", store_key="b")
    expire_all(home)
    script = python(
        home,
        "from amazon_ads_auth import AdsAuth; AdsAuth.from_login('b')",
        AMAZON_ADS_CLIENT_SECRET=a.client_secret,
    )
    assert script.returncode == 1
    assert f"AMAZON_ADS_CLIENT_ID={CLIENT_B}" in script.stderr
    assert a.client_secret not in script.stderr
    given = python(
        home,
        FROM_LOGIN_B,
        AMAZON_ADS_CLIENT_ID=CLIENT_B,
        AMAZON_ADS_CLIENT_SECRET=b.client_secret,
    )
    assert given.returncode == 0, given.stderr
    assert b.is_valid_access_token(given.stdout.strip())


# ----- 2. a profile routes to the login that owns it, or fails ----------------------------------


@pytest.fixture
def two_advertisers() -> Iterator[tuple[Emulator, Emulator]]:
    """One client id (the agency's), two advertisers: profile 1111 and profile 2222."""
    first = Emulator(profiles=[{"profileId": 1111, "countryCode": "US"}])
    with first, Emulator(profiles=[{"profileId": 2222, "countryCode": "DE"}]) as second:
        yield first, second


def test_a_profile_never_gets_another_advertisers_token(
    home: pathlib.Path, two_advertisers: tuple[Emulator, Emulator]
) -> None:
    first, second = two_advertisers
    login(home, first)  # "default"
    login(home, second, store_key="brand-b")
    for env in ({}, {"AMAZON_ADS_CLIENT_ID": first.client_id}):
        result = run(home, "token", "--headers", "--profile-id", "2222", **env)
        assert result.returncode == 0, result.stderr
        bearer = result.stdout.splitlines()[0].removeprefix("Authorization: Bearer ")
        assert second.is_valid_access_token(bearer) and not first.is_valid_access_token(bearer)
    pinned = run(home, "token", "--headers", "--profile-id", "2222", AMAZON_ADS_STORE_KEY="default")
    assert pinned.returncode == 1
    assert "brand-b" in pinned.stderr and "2222" in pinned.stderr
    script = python(
        home,
        f"""
        from amazon_ads_auth import AdsAuth
        auth = AdsAuth.from_login(profile_id=2222, client_id={first.client_id!r})
        print(auth._manager.key)
        """,
    )
    assert script.returncode == 0, script.stderr
    assert script.stdout.strip().endswith("/brand-b")


def test_two_owners_of_a_profile_are_an_error_listing_both(
    home: pathlib.Path, two_advertisers: tuple[Emulator, Emulator]
) -> None:
    first, _ = two_advertisers
    login(home, first, store_key="one")
    login(home, first, store_key="two")
    result = run(home, "token", "--profile-id", "1111")
    assert result.returncode == 1
    assert "one" in result.stderr and "two" in result.stderr and "several" in result.stderr


def stored_login(
    store: FileTokenStore, emulator: Emulator, key: str, *, secret: bool = True, **record: str
) -> None:
    refresh = emulator.issue_refresh_token()
    store.save(f"{emulator.client_id}/{key}", Token("Atza|old-" + key, refresh, 0.0))
    fields = {
        "token_url": emulator.token_url,
        "authorization_url": emulator.authorization_url,
        "api_url": emulator.api_url,
        **record,
    }
    entry = Login(
        emulator.client_id,
        key,
        client_secret=emulator.client_secret if secret else None,
        **fields,  # type: ignore[arg-type]
    )
    save_login(store, entry)


def test_a_profile_search_skips_logins_that_cannot_be_asked(
    tmp_path: pathlib.Path,
    two_advertisers: tuple[Emulator, Emulator],
    caplog: pytest.LogCaptureFixture,
) -> None:
    first, second = two_advertisers
    store = FileTokenStore(tmp_path)
    stored_login(store, first, "a-no-secret", secret=False)
    stored_login(store, first, "b-unreachable", api_url="http://127.0.0.1:9")
    stored_login(store, second, "c-owner")
    with caplog.at_level(logging.WARNING, logger="amazon_ads_auth"):
        auth = LoginDirectory(store).auth_for(2222)
    assert auth._manager.key.endswith("/c-owner") and auth.profile_id == "2222"
    skipped = [r.getMessage() for r in caplog.records if "skipped the login" in r.getMessage()]
    assert any("a-no-secret" in m for m in skipped) and any("b-unreachable" in m for m in skipped)


# ----- 3. a record cannot redirect the secret ---------------------------------------------------


@pytest.mark.parametrize("field", ["token_url", "authorization_url", "api_url"])
def test_a_record_url_that_is_not_amazons_is_refused(
    tmp_path: pathlib.Path, emulator: Emulator, field: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileTokenStore(tmp_path)
    evil = "https://collector.example/steal"
    stored_login(store, emulator, "default", secret=False, **{field: evil})
    monkeypatch.setenv("AMAZON_ADS_CLIENT_ID", emulator.client_id)
    monkeypatch.setenv("AMAZON_ADS_CLIENT_SECRET", emulator.client_secret)
    with pytest.raises(ConfigurationError, match=rf"sets {field} to .*collector\.example"):
        AdsAuth.from_env(store=store)
    with pytest.raises(ConfigurationError, match=field):
        AdsAuth.from_login(store=store)
    # The caller may still name that URL on purpose.
    argument = {"api_hosts": [evil]} if field == "api_url" else {field: evil}
    assert AdsAuth.from_login(store=store, **argument).client_id == emulator.client_id


def test_amazon_and_loopback_record_urls_are_used(tmp_path: pathlib.Path) -> None:
    store = FileTokenStore(tmp_path)
    store.save("amzn1.client/eu", Token("Atza|x", "Atzr|x", 0.0))
    save_login(
        store,
        Login(
            "amzn1.client",
            "eu",
            region="eu",
            token_url="https://api.amazon.co.uk/auth/o2/token",
            authorization_url="https://eu.account.amazon.com/ap/oa",
            api_url="https://advertising-api-eu.amazon.com",
            client_secret="s",
        ),
    )
    auth = AdsAuth.from_login("eu", store=store)
    assert auth.region.value == "eu"
    assert [x.store_key for x in load_logins(store)] == ["eu"]


# ----- 4. from_env finds the login you just made ------------------------------------------------


def test_from_env_uses_the_login_of_the_exported_client_id(
    home: pathlib.Path, emulator: Emulator
) -> None:
    login(home, emulator, "--no-save-secret")
    expire_all(home)
    script = python(
        home,
        FROM_ENV,
        AMAZON_ADS_CLIENT_ID=emulator.client_id,
        AMAZON_ADS_CLIENT_SECRET=emulator.client_secret,
    )
    assert script.returncode == 0, script.stderr
    assert emulator.is_valid_access_token(script.stdout.strip())


def test_from_env_with_nothing_set_says_what_to_set(home: pathlib.Path) -> None:
    script = python(home, "from amazon_ads_auth import AdsAuth; AdsAuth.from_env()")
    assert script.returncode == 1
    assert "AMAZON_ADS_CLIENT_ID" in script.stderr and "amazon-ads-auth login" in script.stderr


# ----- 8. a revoked refresh token is not described as an expired code ----------------------------


def test_a_revoked_grant_says_so_in_the_cli(home: pathlib.Path, emulator: Emulator) -> None:
    login(home, emulator)
    expire_all(home)
    stored = token_store(home).load(f"{emulator.client_id}/default")
    assert stored is not None and stored.refresh_token is not None
    emulator.revoke_refresh_token(stored.refresh_token)
    result = run(home, "profiles", "--refresh")
    assert result.returncode == 1
    assert "revoked or the refresh token is no longer valid" in result.stderr
    assert "login" in result.stderr and "codes live 5 minutes" not in result.stderr


# ----- 6. leaks at the edges ---------------------------------------------------------------------


def test_a_password_in_the_token_url_never_appears_in_errors(emulator: Emulator) -> None:
    from amazon_ads_auth import TokenEndpointError
    from amazon_ads_auth.testing import Fault

    password = "hunter2-in-the-url"
    token_url = emulator.token_url.replace("http://", f"http://robot:{password}@")
    auth = AdsAuth(
        emulator.client_id,
        emulator.client_secret,
        emulator.issue_refresh_token(),
        token_url=token_url,
        api_hosts=[emulator.api_host],
        max_retries=0,
    )
    emulator.queue_token_faults(Fault.status_code(503))
    with pytest.raises(TokenEndpointError) as caught:
        auth.ensure_token()
    assert password not in str(caught.value) and "robot" not in str(caught.value)
    assert "***:***@127.0.0.1" in str(caught.value)


def test_control_characters_from_the_network_or_a_paste_are_escaped() -> None:
    from amazon_ads_auth import AuthorizationDeniedError
    from amazon_ads_auth._lwa.consent import parse_redirect

    pasted = "https://amazon.com/?error=access_denied&error_description=%1B%5B2J%1B%5D0%3Bpwned%07"
    with pytest.raises(AuthorizationDeniedError) as caught:
        parse_redirect(pasted, None)
    message = str(caught.value)
    assert "\x1b" not in message and "\x07" not in message
    assert "\\x1b[2J" in message


@pytest.mark.parametrize("url", ["file:///tmp/tokens%00evil", "file:tokens\x00x"])
def test_a_bad_store_url_is_a_typed_error_never_a_traceback(
    url: str, home: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    from amazon_ads_auth import AdsAuthError, open_store

    with pytest.raises(AdsAuthError, match="control character"):
        open_store(url)
    with pytest.raises(AdsAuthError):
        FileTokenStore(str(tmp_path) + "/a\x00b")
    if "\x00" in url:
        return  # a NUL cannot be passed in argv or the environment at all
    for result in (
        run(home, "status", "--store", url),
        run(home, "status", AMAZON_ADS_TOKEN_STORE=url),
    ):
        assert result.returncode != 0
        assert "Traceback" not in result.stderr and "control character" in result.stderr


def test_a_worker_never_posts_its_secret_to_a_url_a_record_names(tmp_path: pathlib.Path) -> None:
    """The shared-store case in real processes: the record says where to send the secret."""
    import os
    import subprocess
    import sys

    store = FileTokenStore(tmp_path / "shared")
    store.save("amzn1.application-oa2-client.w/default", Token("Atza|old", "Atzr|grant", 0.0))
    save_login(
        store,
        Login(
            "amzn1.application-oa2-client.w",
            "default",
            token_url="https://collector.example/auth/o2/token",  # edited by someone else
        ),
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AMAZON_ADS_")},
        "AMAZON_ADS_TOKEN_STORE": f"file://{tmp_path / 'shared'}",
        "AMAZON_ADS_CLIENT_ID": "amzn1.application-oa2-client.w",
        "AMAZON_ADS_CLIENT_SECRET": "amzn1.oa2-cs.v1.the-workers-secret",
    }
    worker = subprocess.run(
        [sys.executable, "-c", "from amazon_ads_auth import AdsAuth; AdsAuth.from_env()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert worker.returncode == 1
    assert "sets token_url" in worker.stderr and "collector.example" in worker.stderr
    assert "the-workers-secret" not in worker.stderr
