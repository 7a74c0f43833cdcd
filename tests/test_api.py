"""The public surface: names, types, configuration errors, Region and Token values."""

from __future__ import annotations

import json
import math
import pathlib
import subprocess
import sys

import pytest

import amazon_ads_auth
from amazon_ads_auth import (
    AdsAuth,
    AdsAuthError,
    ConfigurationError,
    InvalidClientError,
    InvalidGrantError,
    Region,
    Token,
    TokenFormatError,
    TokenRequestError,
)

DOCUMENTED = {
    "AdsAuth",
    "AuthorizationRequest",
    "Region",
    "Token",
    "TokenStore",
    "MemoryTokenStore",
    "AdsAuthError",
    "ConfigurationError",
    "NoTokenError",
    "TokenRequestError",
    "InvalidGrantError",
    "InvalidClientError",
    "TokenEndpointError",
    "StateMismatchError",
    "AuthorizationDeniedError",
    "StoreError",
    "TokenFormatError",
}


def test_all_is_what_the_docs_promise() -> None:
    assert set(amazon_ads_auth.__all__) >= DOCUMENTED
    for name in amazon_ads_auth.__all__:
        assert getattr(amazon_ads_auth, name) is not None


def test_py_typed_ships() -> None:
    assert (pathlib.Path(amazon_ads_auth.__file__).parent / "py.typed").exists()


def test_error_tree() -> None:
    for name in DOCUMENTED:
        obj = getattr(amazon_ads_auth, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, AdsAuthError)
    assert issubclass(InvalidGrantError, TokenRequestError)
    assert issubclass(InvalidClientError, TokenRequestError)


def test_region_lookup_and_urls() -> None:
    assert Region("EU") is Region.EU
    assert Region.parse(" fe ") is Region.FE
    assert Region.NA.token_url == "https://api.amazon.com/auth/o2/token"
    assert Region.EU.token_url == "https://api.amazon.co.uk/auth/o2/token"
    assert Region.FE.authorization_url == "https://apac.account.amazon.com/ap/oa"
    assert Region.FE.api_url == "https://advertising-api-fe.amazon.com"
    with pytest.raises(ConfigurationError, match="'na', 'eu', 'fe'"):
        Region.parse("us")


def test_token_round_trip_and_expiry() -> None:
    token = Token("Atza|a", "Atzr|r", 1000.0, scope="advertising::campaign_management")
    assert Token.from_dict(json.loads(json.dumps(token.to_dict()))) == token
    assert not token.is_expired(now=999.0)
    assert token.is_expired(now=1000.0)
    assert token.is_expired(margin=300, now=701.0)
    assert not token.is_expired(margin=300, now=699.0)


@pytest.mark.parametrize(
    "data",
    [
        [],
        {},
        {"access_token": "a"},
        {"access_token": "", "expires_at": 1},
        {"access_token": 5, "expires_at": 1},
        {"access_token": "a", "expires_at": "soon"},
        {"access_token": "a", "expires_at": math.inf},
        {"access_token": "a", "expires_at": True},
        {"access_token": "a", "expires_at": 1, "refresh_token": 3},
        {"access_token": "a", "expires_at": 1, "surprise": 1},
    ],
)
def test_token_from_bad_dict(data: object) -> None:
    with pytest.raises(TokenFormatError):
        Token.from_dict(data)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"client_id": ""}, "client_id"),
        ({"client_secret": None}, "client_secret"),
        ({"refresh_token": ""}, "refresh_token"),
        ({"region": "moon"}, "region"),
        ({"profile_id": "abc"}, "profile_id"),
        ({"profile_id": True}, "profile_id"),
        ({"account_id": ""}, "account_id"),
        ({"refresh_margin": -1}, "refresh_margin"),
        ({"timeout": 0}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
        ({"store": object()}, "store"),
        ({"store_key": ""}, "store_key"),
    ],
)
def test_bad_arguments_name_the_problem(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"client_id": "id", "client_secret": "secret"}
    args.update(kwargs)
    with pytest.raises(ConfigurationError, match=message):
        AdsAuth(**args)  # type: ignore[arg-type]


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMAZON_ADS_CLIENT_ID", "amzn1.application-oa2-client.env")
    monkeypatch.setenv("AMAZON_ADS_CLIENT_SECRET", "env-secret")
    monkeypatch.setenv("AMAZON_ADS_REFRESH_TOKEN", "Atzr|env")
    monkeypatch.setenv("AMAZON_ADS_REGION", "EU")
    monkeypatch.setenv("AMAZON_ADS_PROFILE_ID", "42")
    auth = AdsAuth.from_env()
    assert auth.client_id == "amzn1.application-oa2-client.env"
    assert auth.region is Region.EU
    assert auth.profile_id == "42"
    assert AdsAuth.from_env(profile_id=7, region="fe").profile_id == "7"


def test_from_env_names_the_missing_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMAZON_ADS_CLIENT_ID", "id")
    monkeypatch.delenv("AMAZON_ADS_CLIENT_SECRET", raising=False)
    with pytest.raises(ConfigurationError, match="AMAZON_ADS_CLIENT_SECRET"):
        AdsAuth.from_env()


def test_auth_is_an_httpx_auth_and_a_requests_auth() -> None:
    import httpx
    import requests

    auth = AdsAuth("id", "secret")
    assert isinstance(auth, httpx.Auth)
    assert isinstance(auth, requests.auth.AuthBase)
    assert httpx.Client(auth=auth)._auth is auth


def test_import_does_not_set_insecure_transport() -> None:
    code = (
        "import os, amazon_ads_auth.testing; print(os.environ.get('OAUTHLIB_INSECURE_TRANSPORT'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "None"
