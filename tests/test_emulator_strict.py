"""The emulator is as strict as Amazon for what it models (unknown paths 404, wrong methods
405, the client id and Scope checks), and a test adds the routes it does not model."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests

from amazon_ads_auth import AdsAuth
from amazon_ads_auth.testing import ApiRequest, ApiResponse, Emulator, account_profile

PROFILE = 3141592653589793  # the emulator's demo profile


@pytest.fixture
def emu() -> Emulator:
    return Emulator()  # in process


@pytest.fixture
def client(emu: Emulator) -> Iterator[httpx.Client]:
    auth = AdsAuth(emu.client_id, emu.client_secret, emu.issue_refresh_token(), **emu.auth_kwargs())
    with httpx.Client(transport=emu.httpx_transport(), auth=auth, base_url=emu.api_url) as c:
        yield c


def scoped(profile: int = PROFILE) -> dict[str, str]:
    return {"Amazon-Advertising-API-Scope": str(profile)}


def test_a_typo_in_a_path_is_a_404_in_amazons_shape(client: httpx.Client, emu: Emulator) -> None:
    answer = client.get("/v2/nonexistent")
    assert answer.status_code == 404
    body = answer.json()
    assert set(body) == {"code", "details"}
    assert body["code"] == "NOT_FOUND"
    assert "/v2/nonexistent" in body["details"]
    assert "Emulator.route" in body["details"]  # says how to add it
    assert client.post("/sp/campaign/list", json={}, headers=scoped()).status_code == 404
    assert emu.api_requests == {404: 2}
    assert [r.path for r in emu.api_log] == ["/v2/nonexistent", "/sp/campaign/list"]


def test_a_typo_fails_over_loopback_http_too() -> None:
    with Emulator() as emu:
        auth = AdsAuth(
            emu.client_id, emu.client_secret, emu.issue_refresh_token(), **emu.auth_kwargs()
        )
        answer = requests.get(f"{emu.api_url}/v2/profile", auth=auth, timeout=30)
    assert (answer.status_code, answer.json()["code"]) == (404, "NOT_FOUND")


def test_a_wrong_method_is_a_405_that_names_the_right_one(client: httpx.Client) -> None:
    answer = client.get("/sp/campaigns/list", headers=scoped())
    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"
    assert answer.json()["code"] == "METHOD_NOT_ALLOWED"
    assert "POST" in answer.json()["details"]
    assert client.post("/v2/profiles").status_code == 405


def test_the_client_id_header_is_checked(emu: Emulator, client: httpx.Client) -> None:
    client.get("/v2/profiles")  # gets a token
    token = emu.api_log[-1].headers["Authorization"]
    bare = httpx.Client(transport=emu.httpx_transport(), base_url=emu.api_url)
    missing = bare.get("/v2/profiles", headers={"Authorization": token})
    assert missing.status_code == 403
    assert missing.json() == {
        "code": "403",
        "details": "Amazon-Advertising-API-ClientId header is missing",
    }
    other = {"Authorization": token, "Amazon-Advertising-API-ClientId": "amzn1.other"}
    wrong = bare.get("/v2/profiles", headers=other)
    assert (wrong.status_code, wrong.json()["code"]) == (401, "UNAUTHORIZED")
    unsigned = bare.get("/v2/profiles", headers={"Amazon-Advertising-API-ClientId": "x"})
    assert (unsigned.status_code, unsigned.json()["code"]) == (401, "UNAUTHORIZED")


def test_the_scope_header_is_needed_where_amazon_needs_it(client: httpx.Client) -> None:
    missing = client.post("/sp/campaigns/list", json={})
    assert missing.status_code == 400
    assert missing.json() == {"code": "400", "details": "Scope header is missing"}
    assert client.get("/v2/profiles").status_code == 200  # the one call without a Scope
    assert client.get(f"/v2/profiles/{PROFILE}").status_code == 200
    other = client.post("/sp/campaigns/list", json={}, headers=scoped(4242))
    assert other.status_code == 401
    assert other.json()["details"] == "Not authorized to access scope 4242"
    by_account = client.post(
        "/adsApi/v1/query/campaigns", json={}, headers={"Amazon-Ads-AccountId": "amzn1.1"}
    )
    assert by_account.status_code == 200


def test_a_route_the_emulator_does_not_model_can_be_added(
    emu: Emulator, client: httpx.Client
) -> None:
    seen: list[ApiRequest] = []

    def ad_groups(request: ApiRequest) -> tuple[int, Any]:
        seen.append(request)
        return 207, {"adGroups": {"success": [{"index": 0}], "error": []}}

    emu.route("POST", "/sp/adGroups", ad_groups)
    answer = client.post("/sp/adGroups?x=1", json={"adGroups": [{"name": "a"}]}, headers=scoped())
    assert answer.status_code == 207
    assert answer.json()["adGroups"]["success"] == [{"index": 0}]
    request = seen[0]
    assert request.json() == {"adGroups": [{"name": "a"}]}
    assert request.query == {"x": "1"}
    assert request.profile_id == str(PROFILE)
    assert request.client_id == emu.client_id
    assert request.headers["AMAZON-ADVERTISING-API-SCOPE"] == str(PROFILE)
    assert [p["profileId"] for p in request.profiles] == [PROFILE]
    assert emu.api_log[-1].status == 207
    # The checks Amazon makes still come first: no Scope, no handler.
    assert client.post("/sp/adGroups", json={}).status_code == 400
    assert len(seen) == 1


def test_routes_take_path_parameters_decorators_and_answers_of_their_own(
    emu: Emulator, client: httpx.Client
) -> None:
    @emu.route("GET", "/sp/campaigns/{campaignId}")
    def campaign(request: ApiRequest) -> ApiResponse:
        campaign_id = request.path_params["campaignId"]
        return ApiResponse(200, {"campaignId": campaign_id}, {"X-Request-Id": "r1"})

    answer = client.get("/sp/campaigns/42", headers=scoped())
    assert answer.json() == {"campaignId": "42"}
    assert answer.headers["x-request-id"] == "r1"
    assert client.get("/sp/campaigns/42/x", headers=scoped()).status_code == 404
    # A route replaces the model's own answer for the same method and path.
    emu.route("POST", "/sp/campaigns/list", lambda request: (200, {"campaigns": []}))
    listed = client.post("/sp/campaigns/list", json={}, headers=scoped())
    assert listed.json() == {"campaigns": []}
    # needs_scope=False: a route Amazon answers without a profile.
    emu.route(
        "GET", "/v2/manager/accounts", lambda r: (200, {"managerAccounts": []}), needs_scope=False
    )
    assert client.get("/v2/manager/accounts").status_code == 200


def test_a_handler_that_fails_answers_500_saying_why(emu: Emulator, client: httpx.Client) -> None:
    emu.route("GET", "/broken", lambda request: 1 / 0, needs_scope=False)
    emu.route("GET", "/bad-answer", lambda request: {"no": "status"}, needs_scope=False)  # type: ignore[arg-type,return-value]
    broken = client.get("/broken")
    assert broken.status_code == 500
    assert "ZeroDivisionError" in broken.json()["details"]
    bad = client.get("/bad-answer")
    assert bad.status_code == 500
    assert "(status, json_body)" in bad.json()["details"]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("FETCH", "/x", lambda r: (200, None)), ValueError),
        (("GET", "x", lambda r: (200, None)), ValueError),
        (("GET", "/x?a=1", lambda r: (200, None)), ValueError),
        (("GET", "/x", "not callable"), TypeError),
        ((None, "/x", lambda r: (200, None)), TypeError),
        (("GET", b"/x", lambda r: (200, None)), TypeError),
    ],
)
def test_a_route_that_cannot_work_is_refused_at_once(
    emu: Emulator, args: tuple[Any, ...], error: type[Exception]
) -> None:
    with pytest.raises(error):
        emu.route(*args)


def test_request_headers_are_case_insensitive_and_hide_the_token(
    emu: Emulator, client: httpx.Client
) -> None:
    client.get("/v2/profiles", headers=scoped())
    seen = emu.api_log[-1]
    assert seen.headers.get("Amazon-Advertising-API-Scope") == str(PROFILE)
    assert seen.headers["amazon-advertising-api-scope"] == str(PROFILE)
    assert "AMAZON-ADVERTISING-API-CLIENTID" in seen.headers
    assert seen.headers["Authorization"].startswith("Bearer Atza|")
    assert "Atza|" not in repr(seen)
    assert "Atza|" not in repr(seen.headers)


def test_account_grants_see_their_own_profiles_through_added_routes(emu: Emulator) -> None:
    emu.add_account("brand-a", [account_profile(11, "Brand A")])
    emu.route("GET", "/whoami", lambda r: (200, {"account": r.account}), needs_scope=False)
    auth = AdsAuth(
        emu.client_id,
        emu.client_secret,
        emu.issue_refresh_token(account="brand-a"),
        **emu.auth_kwargs(),
    )
    with httpx.Client(transport=emu.httpx_transport(), auth=auth, base_url=emu.api_url) as c:
        assert c.get("/whoami").json() == {"account": "brand-a"}


def test_a_handler_can_be_unit_tested_with_a_request_made_by_hand() -> None:
    request = ApiRequest(
        "POST", "/sp/adGroups", {"Amazon-Advertising-API-Scope": "7"}, body=b'{"a": 1}'
    )
    assert request.profile_id == "7" and request.headers["amazon-advertising-api-scope"] == "7"
    assert request.json() == {"a": 1}
    assert ApiRequest("GET", "/v2/profiles", {}).json() is None
