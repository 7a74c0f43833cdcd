"""Headers on Ads API requests, per-request overrides, profiles, and host scoping."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from amazon_ads_auth import AdsAuth, ConfigurationError
from amazon_ads_auth.testing import Emulator, RecordingServer
from tests.conftest import Stack


def test_headers_on_api_requests(
    stack: Stack, emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    auth = make_auth(profile_id=123456789, account_id="ENTITY1ABC")
    result = stack.request("POST", emulator.api_url + "/sp/campaigns/list", auth, content=b"{}")
    assert result.status == 200
    token = auth.token
    assert token is not None
    assert result.sent["authorization"] == f"Bearer {token.access_token}"
    assert result.sent["amazon-advertising-api-clientid"] == emulator.client_id
    assert result.sent["amazon-advertising-api-scope"] == "123456789"
    assert result.sent["amazon-ads-accountid"] == "ENTITY1ABC"
    assert emulator.api_log[-1].profile_id == "123456789"  # what the API saw


def test_profiles_call_needs_no_scope(
    stack: Stack, emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    result = stack.get(emulator.api_url + "/v2/profiles", make_auth())
    assert result.status == 200
    assert result.body[0]["countryCode"] == "US"
    assert "amazon-advertising-api-scope" not in result.sent


def test_request_headers_override_configured_ones(
    stack: Stack, emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    auth = make_auth(profile_id=1, account_id="A1")
    result = stack.request(
        "POST",
        emulator.api_url + "/sp/campaigns/list",
        auth,
        headers={"Amazon-Advertising-API-Scope": "999", "Amazon-Ads-AccountId": "OTHER"},
        content=b"{}",
    )
    assert result.sent["amazon-advertising-api-scope"] == "999"
    assert result.sent["amazon-ads-accountid"] == "OTHER"
    assert (result.status, emulator.api_log[-1].profile_id) == (200, "999")


def test_with_profile_shares_the_token(
    stack: Stack, emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    auth = make_auth(profile_id=1)
    views = [auth.with_profile(n) for n in (2, 3, 4)]
    for view in [auth, *views]:
        assert stack.get(emulator.api_url + "/v2/profiles", view).status == 200
    assert [seen.profile_id for seen in emulator.api_log] == ["1", "2", "3", "4"]
    assert emulator.token_requests["refresh_token"] == 1
    assert views[0].token is auth.token
    assert auth.profile_id == "1"


def test_other_hosts_are_untouched(
    stack: Stack, emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    auth = make_auth(profile_id=5)
    with RecordingServer() as s3:
        result = stack.get(s3.url + "/bucket/report.json.gz", auth)
    assert result.status == 200
    assert s3.requests, "the stand-in S3 server was not reached"
    for name in (
        "authorization",
        "amazon-advertising-api-clientid",
        "amazon-advertising-api-scope",
    ):
        assert name not in s3.requests[0]
    assert emulator.token_request_count == 0


def test_report_redirect_to_s3_carries_no_authorization(
    stack: Stack, emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    auth = make_auth(profile_id=5)
    with RecordingServer() as s3:
        emulator.report_location = s3.url + "/reports"
        result = stack.get(emulator.api_url + "/v2/reports/amzn1.report.1/download", auth)
    assert result.history == [307]
    assert result.status == 200, result.body
    assert result.body == b"report-bytes"
    assert len(s3.requests) == 1
    assert "authorization" not in s3.requests[0]


def test_requests_drops_the_ads_headers_before_a_cross_origin_redirect(
    emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    auth = make_auth(profile_id=5, account_id="amzn1.account.1")
    with RecordingServer() as s3:
        emulator.report_location = s3.url + "/reports"
        result = requests.get(
            emulator.api_url + "/v2/reports/amzn1.report.1/download", auth=auth, timeout=30
        )
    assert [r.status_code for r in result.history] == [307]
    assert result.status_code == 200
    sent = s3.requests[0]
    for name in (
        "authorization",
        "amazon-advertising-api-clientid",
        "amazon-advertising-api-scope",
    ):
        assert name not in sent
    assert "amazon-ads-accountid" not in sent


def test_same_host_other_port_is_not_an_api_host(
    stack: Stack, emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    with RecordingServer() as other:
        # Same host (127.0.0.1), different port: not in api_hosts, so no token.
        result = stack.get(other.url + "/v2/profiles", make_auth())
        assert "authorization" not in other.requests[0]
    assert result.status == 200


@pytest.mark.parametrize(
    "hosts",
    [
        ["http://advertising-api.amazon.com"],
        ["ftp://127.0.0.1"],
        [""],
        [],
        "advertising-api.amazon.com",
    ],
)
def test_unsafe_or_empty_api_hosts_are_refused(hosts: object) -> None:
    with pytest.raises(ConfigurationError):
        AdsAuth("id", "secret", "Atzr|x", api_hosts=hosts)  # type: ignore[arg-type]


def test_default_hosts_are_the_three_ads_hosts_over_https() -> None:
    auth = AdsAuth("id", "secret", "Atzr|x")
    assert auth._hosts.matches("https", "advertising-api-eu.amazon.com", None)
    assert auth._hosts.matches("https", "advertising-api-fe.amazon.com", None)
    assert not auth._hosts.matches("http", "advertising-api.amazon.com", None)
    assert not auth._hosts.matches("https", "advertising-api.amazon.com.evil.example", None)
    assert not auth._hosts.matches("https", "advertising-api.amazon.com", 8443)
    assert auth._hosts.matches_url_string("https://advertising-api.amazon.com/v2/profiles")
    assert not auth._hosts.matches_url_string("https://advertising-api.amazon.com.evil.example/")
    assert not auth._hosts.matches_url_string("http://advertising-api.amazon.com/v2/profiles")


def test_ads_api_v1_paths_also_get_the_amazon_ads_clientid_header(
    stack: Stack, emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    auth = make_auth(profile_id=5)
    v1 = stack.request("POST", emulator.api_url + "/adsApi/v1/query/campaigns", auth, content=b"{}")
    assert v1.status == 200
    assert v1.sent["amazon-ads-clientid"] == emulator.client_id
    assert v1.sent["amazon-advertising-api-clientid"] == emulator.client_id
    classic = stack.get(emulator.api_url + "/v2/profiles", auth)
    assert "amazon-ads-clientid" not in classic.sent
    mine = stack.request(
        "POST",
        emulator.api_url + "/adsApi/v1/query/campaigns",
        auth,
        headers={"Amazon-Ads-ClientId": "set-by-me"},
        content=b"{}",
    )
    assert mine.sent["amazon-ads-clientid"] == "set-by-me"  # a header you set wins
