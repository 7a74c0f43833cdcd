"""Ads SDKs that fetch their own tokens, driven by an AdsAuth instead: one real SDK call
against the emulator (reached under Amazon's real hostnames), 20 threads, one token request,
and the SDK's own token fetch never called."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from amazon_ads_auth import AdsAuth, MemoryTokenStore, Token
from amazon_ads_auth.testing import Emulator
from tests.workers import emulator_info

ad_api = pytest.importorskip("ad_api", reason="python-amazon-ad-api is not installed")


@pytest.fixture
def amazon(emulator: Emulator) -> Iterator[Emulator]:
    with emulator.amazon_hosts():
        yield emulator


def expired_auth(emulator: Emulator, **kwargs: Any) -> AdsAuth:
    """An AdsAuth on Amazon's real URLs (routed to the emulator) with an expired token."""
    store = MemoryTokenStore()
    store.save(
        f"{emulator.client_id}/default",
        Token("Atza|expired", emulator.issue_refresh_token(), 1.0),
    )
    return AdsAuth(emulator.client_id, emulator.client_secret, store=store, **kwargs)


def test_python_amazon_ad_api_through_adsauth(
    amazon: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ad_api.api import Profiles
    from ad_api.auth.access_token_client import AccessTokenClient
    from ad_api.base import Marketplaces

    from amazon_ads_auth.integrations import ad_api_credentials, use_with_ad_api

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the SDK fetched a token itself")

    monkeypatch.setattr(AccessTokenClient, "_request", never)
    amazon.token_latency = 0.05
    auth = expired_auth(amazon)
    undo = use_with_ad_api(auth)
    try:
        answers: list[Any] = []
        guard = threading.Lock()

        def call() -> None:
            client = Profiles(
                credentials=ad_api_credentials(auth),
                marketplace=Marketplaces.NA,
                verify_additional_credentials=False,  # listing profiles needs no profile
            )
            payload = client.list_profiles().payload
            with guard:
                answers.append(payload)

        threads = [threading.Thread(target=call) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(answers) == 20
        assert all(a[0]["profileId"] == 3141592653589793 for a in answers)
        assert amazon.token_requests == {"refresh_token": 1}
        # A revoked token: AdsAuth's replay cures the SDK's call too.
        amazon.revoke_access_tokens()
        client = Profiles(
            credentials=ad_api_credentials(auth, profile_id=3141592653589793),
            marketplace=Marketplaces.NA,
        )
        assert client.list_profiles().payload[0]["profileId"] == 3141592653589793
        assert amazon.token_requests == {"refresh_token": 2}
    finally:
        undo()
    import ad_api.base.client as client_module
    import requests

    assert client_module.request is requests.request  # undone


def test_credentials_carry_no_secret(emulator: Emulator, make_auth: Callable[..., AdsAuth]) -> None:
    from amazon_ads_auth.integrations import ad_api_credentials

    credentials = ad_api_credentials(make_auth(profile_id=7))
    assert credentials["client_id"] == emulator.client_id
    assert credentials["profile_id"] == "7"
    assert emulator.client_secret not in credentials.values()


def test_the_readme_sdk_example_runs(amazon: Emulator) -> None:

    from tests.docs_text import blocks

    block = blocks("docs/sdks.md")[0].code
    namespace: dict[str, Any] = {}
    code = block.replace("AdsAuth.from_login()", "AUTH")
    namespace["AUTH"] = expired_auth(amazon)
    exec(code, namespace)
    try:
        assert namespace["profiles"][0]["profileId"] == 3141592653589793
        assert amazon.token_requests == {"refresh_token": 1}
    finally:
        namespace["undo"]()


def given_to_script(emulator: Emulator) -> dict[str, Any]:
    """What an SDK script in another interpreter needs: a grant and where the emulator is."""
    return emulator_info(
        emulator,
        key=f"{emulator.client_id}/default",
        refresh_token=emulator.issue_refresh_token(),
    )


ADS_API_V1_SCRIPT = """
    import json, sys, threading
    from ads_api.client import AdsClient
    from amazon_ads_auth import AdsAuth, MemoryTokenStore, Token
    from amazon_ads_auth.integrations import ads_api_v1_config, use_with_ads_api_v1

    given = json.load(sys.stdin)
    store = MemoryTokenStore()
    store.save(given["key"], Token("Atza|expired", given["refresh_token"], 1.0))
    auth = AdsAuth(given["client_id"], given["client_secret"], store=store,
                   token_url=given["token_url"], api_hosts=[given["api_host"]])
    results = []

    def call():
        client = AdsClient(ads_api_v1_config(auth, endpoints={"na": given["api_url"]}))
        use_with_ads_api_v1(auth, client)
        assert client.config._token_manager is None  # the SDK cannot fetch a token itself
        profiles = client.v0.accounts.profiles.list_profiles()
        results.append(profiles[0]["profileId"])

    threads = [threading.Thread(target=call) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps(results))
"""


def test_amazon_ads_api_v1_through_adsauth(emulator: Emulator) -> None:
    from tests.newer_python import run_script, sdk_python

    python = sdk_python("amazon-ads-api-v1==0.11.0")
    emulator.token_latency = 0.05
    results = run_script(python, ADS_API_V1_SCRIPT, **given_to_script(emulator))
    assert results == [3141592653589793] * 20
    assert emulator.token_requests == {"refresh_token": 1}


AMAZON_ADS_API_SCRIPT = """
    import asyncio, json, sys
    from amazon_ads_api import AmazonAdsClient
    from amazon_ads_api.base import AsyncTokenManager
    from amazon_ads_auth import AdsAuth, MemoryTokenStore, Token
    from amazon_ads_auth.integrations import use_with_amazon_ads_api

    async def never(self):
        raise AssertionError("the SDK fetched a token itself")

    AsyncTokenManager._refresh_access_token = never
    given = json.load(sys.stdin)
    store = MemoryTokenStore()
    store.save(given["key"], Token("Atza|expired", given["refresh_token"], 1.0))
    auth = AdsAuth(given["client_id"], given["client_secret"], store=store,
                   token_url=given["token_url"], api_hosts=[given["api_host"]])
    undo = use_with_amazon_ads_api(auth, base_url=given["api_url"])

    async def one():
        client = AmazonAdsClient(client_id=auth.client_id, client_secret="-", refresh_token="-")
        profiles = await client.accounts.profiles.list_profiles()
        return profiles[0]["profileId"]

    async def main():
        return await asyncio.gather(*(one() for _ in range(20)))

    print(json.dumps(asyncio.run(main())))
"""


def test_amazon_ads_api_through_adsauth(emulator: Emulator) -> None:
    from tests.newer_python import run_script, sdk_python

    python = sdk_python("amazon-ads-api==1.0.0")
    emulator.token_latency = 0.05
    results = run_script(python, AMAZON_ADS_API_SCRIPT, **given_to_script(emulator))
    assert results == [3141592653589793] * 20
    assert emulator.token_requests == {"refresh_token": 1}


# ----- the SDK never holds the token; one AdsAuth per process; undo in any order --------------


def test_ad_api_report_downloads_send_no_authorization_to_s3(amazon: Emulator) -> None:
    from ad_api.api import Reports
    from ad_api.base import Marketplaces

    from amazon_ads_auth.integrations import PLACEHOLDER, ad_api_credentials, use_with_ad_api
    from amazon_ads_auth.testing import RecordingServer

    auth = expired_auth(amazon, profile_id=1)  # Amazon's download needs the Scope too
    undo = use_with_ad_api(auth)
    try:
        with RecordingServer() as s3:
            amazon.report_location = s3.url + "/reports"
            client = Reports(
                credentials=ad_api_credentials(auth, profile_id=1), marketplace=Marketplaces.NA
            )
            assert client.auth.access_token == PLACEHOLDER  # the SDK never holds the token
            via_api = client.download_report(
                url="https://advertising-api.amazon.com/v2/reports/amzn1.report.1/download",
                format="raw",
            )
            # The SDK's own headers (a download straight to the pre-signed URL).
            direct = client._download(client, params={"url": s3.url + "/r/1", "format": "raw"})
        assert via_api.payload == b"report-bytes" and direct.payload == b"report-bytes"
        assert len(s3.requests) == 2
        assert all("authorization" not in sent for sent in s3.requests)
        assert all(auth.token.access_token not in str(sent) for sent in s3.requests)  # type: ignore[union-attr]
    finally:
        undo()


def test_a_second_adapter_install_for_another_auth_is_refused(amazon: Emulator) -> None:
    from amazon_ads_auth import ConfigurationError
    from amazon_ads_auth.integrations import use_with_ad_api

    first, other = expired_auth(amazon), expired_auth(amazon, store_key="brand-b")
    undo = use_with_ad_api(first)
    try:
        with pytest.raises(ConfigurationError, match="already installed for another AdsAuth"):
            use_with_ad_api(other)
        use_with_ad_api(first)()  # the same AdsAuth again is fine, and its undo is harmless
    finally:
        undo()
    use_with_ad_api(other)()  # after the undo, another AdsAuth may be installed


@pytest.mark.parametrize("order", ["first-undone-first", "last-undone-first"])
def test_adapter_undo_is_safe_in_any_order(amazon: Emulator, order: str) -> None:
    import ad_api.base.client as client_module
    import requests
    from ad_api.auth.access_token_client import AccessTokenClient

    from amazon_ads_auth.integrations import use_with_ad_api

    original = (client_module.request, client_module.requests, AccessTokenClient.get_auth)
    auth = expired_auth(amazon)
    undos = [use_with_ad_api(auth), use_with_ad_api(auth)]
    for undo in undos if order == "first-undone-first" else reversed(undos):
        undo()
    assert (client_module.request, client_module.requests, AccessTokenClient.get_auth) == original
    assert client_module.requests is requests
    # Someone else's newer patch stays in place when ours is undone under it.
    undo = use_with_ad_api(auth)

    def theirs(*args: Any, **kwargs: Any) -> Any:
        return None

    client_module.request = theirs
    try:
        undo()
        assert client_module.request is theirs
    finally:
        client_module.request = original[0]


def test_ads_api_v1_adapter_refuses_a_second_auth_and_undoes_in_place(
    emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    """The v1 adapter works on the SDK's ClientContext (the SDK itself needs Python 3.13+,
    so its real use is tested in a newer interpreter above); here a context of the same
    shape shows the per-client rules."""
    import types

    import httpx

    from amazon_ads_auth import ConfigurationError
    from amazon_ads_auth.integrations import use_with_ads_api_v1

    own = httpx.Client()
    config = types.SimpleNamespace(base_url=emulator.api_url, timeout=10.0, _token_manager=None)
    context = types.SimpleNamespace(config=config, _client=own)
    first, other = make_auth(), make_auth(store_key="brand-b")
    undo = use_with_ads_api_v1(first, context)
    assert context._client is not own and context._client.auth is first
    with pytest.raises(ConfigurationError, match="another AdsAuth"):
        use_with_ads_api_v1(other, context)
    undo()
    assert context._client is own  # the SDK's own client is back
    undo_again = use_with_ads_api_v1(first, context)
    replaced = httpx.Client()
    context._client = replaced  # someone else's, newer
    undo_again()
    assert context._client is replaced
    for client in (own, replaced):
        client.close()
