"""The emulator answers like Login with Amazon and the Ads API (lwa-facts.md)."""

from __future__ import annotations

import base64

import requests

from amazon_ads_auth.testing import Emulator, FakeClock


def _token(emulator: Emulator, **form: str) -> requests.Response:
    return requests.post(emulator.token_url, data=form, timeout=10)


def test_consent_checks_client_and_redirect_uri() -> None:
    with Emulator(redirect_uris=["https://amazon.com"]) as emu:
        base = {"response_type": "code", "scope": "advertising::campaign_management"}
        bad_client = requests.get(
            emu.authorization_url,
            params={**base, "client_id": "nope", "redirect_uri": "https://amazon.com"},
            allow_redirects=False,
            timeout=10,
        )
        assert bad_client.status_code == 400
        bad_redirect = requests.get(
            emu.authorization_url,
            params={**base, "client_id": emu.client_id, "redirect_uri": "https://evil.example"},
            allow_redirects=False,
            timeout=10,
        )
        assert bad_redirect.status_code == 400
        ok = requests.get(
            emu.authorization_url,
            params={
                **base,
                "client_id": emu.client_id,
                "redirect_uri": "https://amazon.com",
                "state": "s1",
            },
            allow_redirects=False,
            timeout=10,
        )
        assert ok.status_code == 302
        assert ok.headers["location"].startswith("https://amazon.com?code=")
        assert "state=s1" in ok.headers["location"]


def test_token_endpoint_errors_look_like_lwa() -> None:
    with Emulator() as emu:
        refresh_token = emu.issue_refresh_token()
        wrong = _token(
            emu,
            grant_type="refresh_token",
            refresh_token=refresh_token,
            client_id=emu.client_id,
            client_secret="wrong",
        )
        assert wrong.status_code == 401
        assert wrong.json()["error"] == "invalid_client"
        unknown = _token(
            emu,
            grant_type="refresh_token",
            refresh_token="Atzr|unknown",
            client_id=emu.client_id,
            client_secret=emu.client_secret,
        )
        assert unknown.status_code == 400
        assert unknown.json()["error"] == "invalid_grant"
        assert "refresh_token" in unknown.json()["error_description"]
        grant = _token(
            emu, grant_type="password", client_id=emu.client_id, client_secret=emu.client_secret
        )
        assert grant.json()["error"] == "unsupported_grant_type"
        basic = base64.b64encode(f"{emu.client_id}:{emu.client_secret}".encode()).decode()
        ok = requests.post(
            emu.token_url,
            timeout=10,
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            headers={"Authorization": f"Basic {basic}"},
        )
        body = ok.json()
        assert ok.status_code == 200
        assert ok.headers["content-type"] == "application/json;charset=UTF-8"
        assert body["token_type"] == "bearer" and body["expires_in"] == 3600
        assert body["access_token"].startswith("Atza|") and len(body["access_token"]) >= 350
        assert body["refresh_token"] == refresh_token
        assert emu.token_requests == {"refresh_token": 3, "password": 1}


def test_api_checks_bearer_and_client_id() -> None:
    clock = FakeClock()
    with Emulator(clock=clock, access_token_lifetime=60) as emu:
        refresh_token = emu.issue_refresh_token()
        access = _token(
            emu,
            grant_type="refresh_token",
            refresh_token=refresh_token,
            client_id=emu.client_id,
            client_secret=emu.client_secret,
        ).json()
        good = {
            "Authorization": f"Bearer {access['access_token']}",
            "Amazon-Advertising-API-ClientId": emu.client_id,
        }
        assert requests.get(emu.api_url + "/v2/profiles", headers=good, timeout=10).ok
        missing_scope = requests.post(
            emu.api_url + "/sp/campaigns/list", json={}, headers=good, timeout=10
        )
        assert missing_scope.status_code == 400
        assert missing_scope.json()["details"] == "Scope header is missing"
        no_token = requests.get(emu.api_url + "/v2/profiles", timeout=10)
        assert no_token.status_code == 401
        assert no_token.json()["code"] == "UNAUTHORIZED"
        wrong_client = dict(good, **{"Amazon-Advertising-API-ClientId": "other"})
        assert (
            requests.get(emu.api_url + "/v2/profiles", headers=wrong_client, timeout=10).status_code
            == 401
        )
        clock.advance(61)
        expired = requests.get(emu.api_url + "/v2/profiles", headers=good, timeout=10)
        assert expired.status_code == 401
        assert emu.api_requests == {200: 1, 400: 1, 401: 3}


def test_pkce_plain_method() -> None:
    with Emulator() as emu:
        verifier = "v" * 50
        consent = requests.get(
            emu.authorization_url,
            params={
                "client_id": emu.client_id,
                "scope": "advertising::campaign_management",
                "response_type": "code",
                "redirect_uri": "https://amazon.com",
                "code_challenge": verifier,
                "code_challenge_method": "plain",
            },
            allow_redirects=False,
            timeout=10,
        )
        code = consent.headers["location"].split("code=")[1].split("&")[0]
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "https://amazon.com",
            "client_id": emu.client_id,
            "client_secret": emu.client_secret,
        }
        wrong = _token(emu, **form, code_verifier="w" * 50)
        assert wrong.json()["error"] == "invalid_grant"
        right = _token(emu, **form, code_verifier=verifier)
        assert right.status_code == 200
        assert right.json()["refresh_token"].startswith("Atzr|")


def test_api_shapes_for_profile_by_id_sp_campaigns_and_v1_query() -> None:
    import requests

    from amazon_ads_auth import AdsAuth

    with Emulator() as emu:
        auth = AdsAuth(
            emu.client_id, emu.client_secret, emu.issue_refresh_token(), **emu.auth_kwargs()
        )
        one = requests.get(f"{emu.api_url}/v2/profiles/3141592653589793", auth=auth, timeout=30)
        assert one.status_code == 200 and one.json()["countryCode"] == "US"
        missing = requests.get(f"{emu.api_url}/v2/profiles/1", auth=auth, timeout=30)
        assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"
        scoped = auth.with_profile(3141592653589793)
        sp = requests.post(f"{emu.api_url}/sp/campaigns/list", json={}, auth=scoped, timeout=30)
        assert sp.json()["totalResults"] == 1 and sp.json()["campaigns"][0]["state"] == "ENABLED"
        v1 = requests.post(
            f"{emu.api_url}/adsApi/v1/query/campaigns", json={}, auth=scoped, timeout=30
        )
        assert v1.json()["campaigns"][0]["adProduct"] == "SPONSORED_PRODUCTS"


def test_amazon_hosts_routes_real_hostnames_for_requests_and_httpx() -> None:
    import asyncio

    import httpx

    from amazon_ads_auth import AdsAuth

    with Emulator() as emu, emu.amazon_hosts():
        auth = AdsAuth(emu.client_id, emu.client_secret, emu.issue_refresh_token())  # real URLs
        url = "https://advertising-api.amazon.com/v2/profiles"
        assert requests.get(url, auth=auth, timeout=30).json()[0]["countryCode"] == "US"
        assert httpx.get(url, auth=auth).status_code == 200

        async def main() -> int:
            async with httpx.AsyncClient(auth=auth) as client:
                return (await client.get(url)).status_code

        assert asyncio.run(main()) == 200
        assert emu.token_requests == {"refresh_token": 1}  # to api.amazon.com, routed too
