"""httpx2 support: AdsAuth is an httpx2.Auth when httpx2 is installed, and optional otherwise."""

from __future__ import annotations

import inspect
import subprocess
import sys
from collections.abc import Callable

import pytest

from amazon_ads_auth import AdsAuth
from amazon_ads_auth.testing import Emulator

httpx2 = pytest.importorskip("httpx2")


def test_httpx2_client_keeps_our_auth_object() -> None:
    auth = AdsAuth("id", "secret")
    assert isinstance(auth, httpx2.Auth)
    with httpx2.Client(auth=auth) as client:
        assert client.auth is auth
    assert httpx2.AsyncClient(auth=auth).auth is auth


def test_revoked_token_recovered_by_one_refresh_and_one_replay(
    emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    auth = make_auth(profile_id=11)
    with httpx2.Client(auth=auth) as client:
        assert client.get(emulator.api_url + "/v2/profiles").status_code == 200
        emulator.revoke_access_tokens()
        emulator.reset_counters()
        response = client.get(emulator.api_url + "/v2/profiles")
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
    assert emulator.token_requests == {"refresh_token": 1}
    assert emulator.api_requests == {401: 1, 200: 1}


def test_package_imports_and_works_without_httpx2(emulator: Emulator) -> None:
    code = f"""
import sys
sys.modules["httpx2"] = None  # hide httpx2 in this interpreter only
import httpx
import amazon_ads_auth
from amazon_ads_auth._auth.compat import have_httpx2
assert not have_httpx2(amazon_ads_auth.AdsAuth)
auth = amazon_ads_auth.AdsAuth(
    {emulator.client_id!r}, {emulator.client_secret!r}, {emulator.issue_refresh_token()!r},
    token_url={emulator.token_url!r}, api_hosts=[{emulator.api_host!r}],
)
assert type(auth) is amazon_ads_auth.AdsAuth and not have_httpx2(type(auth))
print(httpx.get({emulator.api_url!r} + "/v2/profiles", auth=auth).status_code)
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "200"


def test_no_module_aliasing() -> None:
    import httpx

    assert sys.modules["httpx"] is httpx
    assert sys.modules["httpx2"] is httpx2
    assert httpx is not httpx2


def test_importing_adsauth_does_not_import_httpx2_and_every_instance_is_an_httpx2_auth() -> None:
    code = """
import sys
import amazon_ads_auth
from amazon_ads_auth import AdsAuth
from amazon_ads_auth._auth.compat import have_httpx2
assert "httpx2" not in sys.modules and not have_httpx2(AdsAuth)
bases, finders = AdsAuth.__bases__, list(sys.meta_path)
auth = AdsAuth("amzn1.application-oa2-client.x", "secret", "Atzr|x")
import httpx2
assert sys.meta_path == finders  # no import hook
assert isinstance(auth, httpx2.Auth) and isinstance(auth, AdsAuth)
assert AdsAuth.__bases__ == bases  # no class is rewritten
assert httpx2.Client(auth=auth)._auth is auth  # kept as an Auth, not wrapped as a function
assert repr(type(auth)) == "<class 'amazon_ads_auth.AdsAuth'>"
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize("httpx2_first", [False, True])
def test_the_mro_does_not_depend_on_import_order(httpx2_first: bool) -> None:
    code = f"""
if {httpx2_first!r}:
    import httpx2
from amazon_ads_auth import AdsAuth
auth = AdsAuth("amzn1.application-oa2-client.x", "secret", "Atzr|x")
print([f"{{c.__module__}}.{{c.__qualname__}}" for c in type(auth).__mro__])
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(
        [
            "amazon_ads_auth.AdsAuth",
            "amazon_ads_auth.AdsAuth",
            "requests.auth.AuthBase",
            "httpx.Auth",
            "httpx2.Auth",
            "builtins.object",
        ]
    )


def test_subclasses_and_profile_views_are_httpx2_auths_too() -> None:
    class Mine(AdsAuth):
        pass

    mine = Mine("amzn1.application-oa2-client.x", "secret", "Atzr|x")
    assert isinstance(mine, Mine) and isinstance(mine, httpx2.Auth)
    assert type(Mine("amzn1.application-oa2-client.x", "secret")) is type(mine)  # made once
    view = AdsAuth("amzn1.application-oa2-client.x", "secret", "Atzr|x").with_profile(7)
    assert isinstance(view, httpx2.Auth)
    # The constructor's arguments still show (help(), IDEs): nothing overrides __new__.
    assert str(inspect.signature(AdsAuth)).startswith("(client_id: 'str', client_secret: 'str'")
