"""One resolution: `resolve()` returns a frozen, typed `ResolvedLogin`; every AMAZON_ADS_*
name lives in one table; the CLI takes the three variables its "no login" message names;
demo logins are found where the sandbox keeps them; a web tenant's auth ignores the server's
AMAZON_ADS_* variables."""

from __future__ import annotations

import dataclasses
import pathlib
import re
from typing import Any

import click
import pytest
from click.testing import CliRunner

from amazon_ads_auth import AdsAuth, ConfigurationError, LoginDirectory, MemoryTokenStore, Token
from amazon_ads_auth._logins.records import Login, save_login
from amazon_ads_auth._logins.resolve import ENV, ResolvedLogin, resolve
from amazon_ads_auth._stores.file import default_data_dir
from amazon_ads_auth.cli import main
from amazon_ads_auth.testing import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Emulator
from amazon_ads_auth.web import ConsentFlow

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "amazon_ads_auth"


def cli(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(main, list(args), env=env or {}, catch_exceptions=False)


CLIENT_ID = "amzn1.application-oa2-client.x"


def two_logins(store: MemoryTokenStore, client_id: str = CLIENT_ID, prefix: str = "") -> None:
    """Two grants, brand-na and brand-eu; `prefix="tenant:"` makes them web tenants."""
    for key, region, profile in (("brand-na", "na", "111"), ("brand-eu", "eu", "222")):
        login = Login(client_id=client_id, store_key=prefix + key, region=region)
        store.save(login.key, Token(f"Atza|{key}", f"Atzr|{key}", 4102444800.0))
        save_login(store, login.with_profiles([{"profileId": profile, "countryCode": "DE"}]))


# ----- the resolution is a typed value ---------------------------------------------------------


def test_resolve_returns_a_frozen_resolved_login_without_the_secret_in_its_repr() -> None:
    store = MemoryTokenStore()
    two_logins(store)
    found = resolve(
        {"profile_id": "222", "client_secret": "s3cr3t-value", "client_id": CLIENT_ID},
        store=store,
        make_auth=AdsAuth._from_resolved,
    )
    assert isinstance(found, ResolvedLogin)
    assert (found.store_key, found.region, found.profile_id) == ("brand-eu", "eu", "222")
    assert found.login is not None and found.login.store_key == "brand-eu"
    assert found.api_url == "https://advertising-api-eu.amazon.com"
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.store_key = "other"  # type: ignore[misc]
    assert "s3cr3t-value" not in repr(found) and found.client_secret.value == "s3cr3t-value"


def test_a_secret_given_without_its_client_id_is_not_used() -> None:
    store = MemoryTokenStore()
    two_logins(store)
    with pytest.raises(Exception, match="has no saved client secret"):
        resolve({"store_key": "brand-na", "client_secret": "x"}, store=store, make_auth=print)  # type: ignore[arg-type]


def test_resolve_takes_keywords_and_needs_no_auth_builder_when_the_records_answer() -> None:
    store = MemoryTokenStore()
    two_logins(store)
    found = resolve(store=store, profile_id=111, client_id=CLIENT_ID, client_secret="s")
    assert (found.store_key, found.region, found.profile_id) == ("brand-na", "na", "111")
    with pytest.raises(ConfigurationError, match=r"no login .* has profile 333"):
        resolve(store=store, profile_id=333, client_id=CLIENT_ID, client_secret="s")


# ----- every AMAZON_ADS_* name once -------------------------------------------------------------


def test_every_amazon_ads_variable_name_is_in_the_one_table() -> None:
    """No module reads an AMAZON_ADS_* variable by a name of its own: `os.environ` reads
    and click's `envvar=` go through `ENV` (messages and docstrings may name them)."""
    reads = re.compile(r"""(environ(\.get)?\(|environ\[|getenv\(|envvar=)\s*["']AMAZON_ADS_""")
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "testing" not in path.parts and reads.search(path.read_text())
    ]
    assert offenders == []
    names = set(re.findall(r"AMAZON_ADS_[A-Z_]+[A-Z]", "\n".join(
        p.read_text() for p in PACKAGE.rglob("*.py") if "testing" not in p.parts
    )))  # fmt: skip
    assert names <= {*ENV.values(), "AMAZON_ADS_"} | {n for n in names if n.endswith("_")}


def test_the_cli_options_read_their_variables_from_the_table() -> None:
    command = main.commands["token"]
    envvars = {p.name: p.envvar for p in command.params if isinstance(p, click.Option)}
    assert envvars["client_id"] == ENV["client_id"]
    assert envvars["client_secret"] == ENV["client_secret"]
    assert envvars["region"] == ENV["region"]
    assert envvars["store_url"] == ENV["token_store"]
    assert envvars["store_key"] == ENV["store_key"]


def test_login_directory_has_a_lookup_and_shows_none_of_its_machinery() -> None:
    for private in ("find", "owners", "settings", "resolved_for", "given"):
        assert not hasattr(LoginDirectory, private), private
    store = MemoryTokenStore()
    two_logins(store)
    directory = LoginDirectory(store, client_secret="unused", client_id=None)
    assert sorted(x.store_key for x in directory) == ["brand-eu", "brand-na"]
    assert len(directory) == 2


# ----- the CLI takes the three variables its message names --------------------------------------


def test_token_from_the_three_variables_with_no_login_writes_nothing(emulator: Emulator) -> None:
    refresh_token = emulator.issue_refresh_token()
    no_login = cli("token", "--token-url", emulator.token_url)
    assert no_login.exit_code != 0
    assert "AMAZON_ADS_REFRESH_TOKEN" in no_login.output  # the advice that is tested below
    env = {
        "AMAZON_ADS_CLIENT_ID": emulator.client_id,
        "AMAZON_ADS_CLIENT_SECRET": emulator.client_secret,
        "AMAZON_ADS_REFRESH_TOKEN": refresh_token,
    }
    result = cli("token", "--token-url", emulator.token_url, env=env)
    assert result.exit_code == 0, result.output
    assert emulator.is_valid_access_token(result.stdout.strip())
    assert emulator.token_requests == {"refresh_token": 1}
    assert not (default_data_dir() / "tokens").exists() or not any(
        (default_data_dir() / "tokens").iterdir()
    )


def test_the_refresh_token_variable_alone_says_what_is_missing(emulator: Emulator) -> None:
    env = {"AMAZON_ADS_REFRESH_TOKEN": emulator.issue_refresh_token()}
    result = CliRunner().invoke(main, ["token", "--token-url", emulator.token_url], env=env)
    assert result.exit_code == 2
    assert "AMAZON_ADS_CLIENT_ID" in result.output and "AMAZON_ADS_CLIENT_SECRET" in result.output


# ----- demo logins, wherever the sandbox keeps them ----------------------------------------------


def test_from_login_and_the_directory_find_the_demo_login_the_cli_made() -> None:
    made = cli("login", "--emulator", "--no-browser")
    assert made.exit_code == 0, made.output
    auth = AdsAuth.from_login(demo=True)
    assert auth.client_id == DEMO_CLIENT_ID
    assert auth.ensure_token().access_token.startswith("Atza|")  # the stored one: no request
    with LoginDirectory(demo=True) as directory:
        [login] = list(directory)
        assert login.demo and login.client_id == DEMO_CLIENT_ID
    with pytest.raises(Exception, match="no login"):
        AdsAuth.from_login()  # demo logins stay invisible to plain calls
    assert DEMO_CLIENT_SECRET not in made.output


# ----- a web tenant's auth: its record and the flow's settings only ------------------------------


def test_consent_flow_auth_ignores_the_servers_amazon_ads_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = MemoryTokenStore()
    client_id = "amzn1.application-oa2-client.web"
    two_logins(store, client_id, prefix="tenant:")  # web tenants live in their own namespace
    monkeypatch.setenv("AMAZON_ADS_PROFILE_ID", "999")
    monkeypatch.setenv("AMAZON_ADS_REGION", "fe")
    monkeypatch.setenv("AMAZON_ADS_CLIENT_ID", "amzn1.application-oa2-client.other")
    monkeypatch.setenv("AMAZON_ADS_STORE_KEY", "brand-na")
    flow = ConsentFlow(
        client_id,
        "flow-secret",
        store=store,
        redirect_uri="https://app.example/callback",
        secret_key="k" * 32,
    )
    na, eu = flow.auth("brand-na"), flow.auth("brand-eu")
    assert (na.region.value, na.profile_id, na.client_id) == ("na", None, client_id)
    assert (eu.region.value, eu.profile_id) == ("eu", None)
    assert flow.auth("brand-eu", profile_id=222).profile_id == "222"
