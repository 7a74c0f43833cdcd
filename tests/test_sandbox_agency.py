"""The sandbox for agencies: each `login --emulator --store-key K` is an advertiser of its
own, with profiles that follow from K, and `LoginDirectory` routes between them offline.
Real processes, a temporary HOME."""

from __future__ import annotations

import json
import pathlib

import pytest

from amazon_ads_auth.testing import DEMO_SIGNING_KEY, Sandbox, account_profile, sandbox_profiles
from tests.docs_text import blocks
from tests.test_login_once import home, python, run

__all__ = ["home"]  # the fixture


def profile_ids(key: str) -> list[int]:
    return [p["profileId"] for p in sandbox_profiles(key)]


def test_sandbox_profiles_are_stable_per_store_key_and_apart() -> None:
    a, b = profile_ids("brand-a"), profile_ids("brand-b")
    assert a == profile_ids("brand-a") and len(a) == 2
    assert not set(a) & set(b)
    assert all(len(str(i)) == 15 for i in a + b)
    countries = [p["countryCode"] for p in sandbox_profiles("brand-a")]
    assert countries == ["US", "CA"]
    assert sandbox_profiles("brand-a")[1]["accountInfo"]["marketplaceStringId"] == (
        "A2EUQ1WTGCTBG2"  # Amazon's CA marketplace
    )


def test_two_store_keys_are_two_advertisers_and_the_directory_routes_them(
    home: pathlib.Path,
) -> None:
    for key in ("brand-a", "brand-b"):
        made = run(home, "login", "--emulator", "--store-key", key)
        assert made.returncode == 0, made.stderr
        for profile_id in profile_ids(key):  # the table login prints: computed elsewhere
            assert str(profile_id) in made.stdout
        assert f"--emulator --store-key {key}`" in made.stderr  # the hint names the login
    listed = run(home, "profiles", "--json", "--emulator", "--store-key", "brand-b")
    assert listed.returncode == 0, listed.stderr
    assert [p["profileId"] for p in json.loads(listed.stdout)] == profile_ids("brand-b")
    # The CLI routes by profile too, and will not send brand-b's profile with brand-a's login.
    call = ["api", "POST", "/sp/campaigns/list", "--data", "{}", "--emulator"]
    wanted = str(profile_ids("brand-b")[1])
    routed_call = run(home, *call, "--profile-id", wanted)
    assert routed_call.returncode == 0, routed_call.stderr
    assert json.loads(routed_call.stdout)["totalResults"] == 1
    crossed = run(home, *call, "--store-key", "brand-a", "--profile-id", wanted)
    assert crossed.returncode == 1
    assert "drop the store key" in crossed.stderr
    # The docs' routing block, in a script of the same user.
    [block] = [b for b in blocks("docs/testing.md") if "sandbox_profiles(brand)" in b.code]
    routed = python(home, block.code + "\nprint('routed')\n")
    assert routed.returncode == 0, routed.stderr
    assert routed.stdout.strip() == "routed"


def test_the_default_login_stays_the_demo_store(home: pathlib.Path) -> None:
    made = run(home, "login", "--emulator")
    assert made.returncode == 0, made.stderr
    assert "Emulator Demo Store" in made.stdout
    assert "`amazon-ads-auth token --headers --emulator`" in made.stderr


def test_a_sandbox_knows_the_accounts_other_sandboxes_made() -> None:
    first = Sandbox(store_key="brand-c")
    refresh_token = first.issue_refresh_token()
    later = Sandbox()  # another process's sandbox: nothing shared but the demo key
    from amazon_ads_auth import AdsAuth

    auth = AdsAuth(later.client_id, later.client_secret, refresh_token, **later.auth_kwargs())
    import httpx

    with httpx.Client(transport=later.httpx_transport(), auth=auth) as client:
        seen = client.get(f"{later.api_url}/v2/profiles").json()
    assert [p["profileId"] for p in seen] == profile_ids("brand-c")
    assert later.api_log[-1].account == "brand-c"


def test_an_account_name_in_a_token_cannot_be_forged() -> None:
    sandbox = Sandbox()
    token = sandbox.issue_refresh_token(account="brand-d")
    body, _, signature = token.rpartition(".")
    random_part, _, _ = body.rpartition(".")
    import base64

    forged = f"{random_part}.{base64.urlsafe_b64encode(b'brand-e').decode().rstrip('=')}"
    with pytest.raises(ValueError, match="issued"):
        sandbox.revoke_refresh_token(f"{forged}.{signature}")
    assert DEMO_SIGNING_KEY  # the key is public: the signature, not secrecy, binds the name


def test_added_accounts_still_win_over_derived_ones() -> None:
    sandbox = Sandbox()
    sandbox.add_account("brand-f", [account_profile(77, "F")])
    token = sandbox.issue_refresh_token(account="brand-f")
    assert sandbox.accounts.profiles_of("brand-f", []) == [account_profile(77, "F")]
    assert token.startswith("Atzr|")
