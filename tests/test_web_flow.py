"""ConsentFlow against the emulator over real HTTP: the consent page, the code exchange,
the profiles, and the grant and record saved under the tenant's store key; then every way
a callback is refused, with the store left as it was."""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from amazon_ads_auth import (
    AdsAuth,
    AuthorizationDeniedError,
    ConfigurationError,
    ConsentError,
    FileTokenStore,
    InvalidGrantError,
    LoginDirectory,
    MemoryTokenStore,
    NoTokenError,
    StateMismatchError,
)
from amazon_ads_auth.testing import Emulator, FakeClock
from amazon_ads_auth.web import ConsentFlow, ConsentResult
from tests.conftest import SENTINEL_SECRET_KEY
from tests.web_apps import ACCOUNTS, Person, add_accounts, make_flow

PORT = 8000  # the app's callback is never served here: the tests call complete() themselves


@pytest.fixture
def amazon(emulator: Emulator) -> Emulator:
    add_accounts(emulator)
    return emulator


@pytest.fixture
def store() -> MemoryTokenStore:
    return MemoryTokenStore()


@pytest.fixture
def flow(amazon: Emulator, store: MemoryTokenStore) -> ConsentFlow:
    return make_flow(amazon, PORT, store)


def consent(flow: ConsentFlow, tenant: str, account: str | None = "alice", **begin: Any) -> Any:
    """Begin for `tenant`, consent at Amazon as `account`: (start, callback URL)."""
    start = flow.begin(tenant, **begin)
    return start, Person("http://127.0.0.1:9", None).consent_at_amazon(start.url, account)


def snapshot(store: MemoryTokenStore) -> dict[str, Any]:
    return {k: (store.load(k), store.load_login(k)) for k in store.keys()}


def test_connect_saves_the_grant_and_its_record_like_login(
    flow: ConsentFlow, amazon: Emulator, store: MemoryTokenStore
) -> None:
    start, callback = consent(flow, "acme-42", "bob", return_to="/settings/integrations")
    result = flow.complete(callback, start.cookie_value, tenant="acme-42")
    assert isinstance(result, ConsentResult)
    assert (result.tenant, result.return_to) == ("acme-42", "/settings/integrations")
    login = result.login
    assert login.key == f"{amazon.client_id}/tenant:acme-42"
    assert (login.region, login.scope) == ("na", "advertising::campaign_management")
    assert [p.profile_id for p in login.profiles] == ["222", "223"]
    assert login.profiles[1].raw["countryCode"] == "DE"  # Amazon's item, every field
    assert login.client_secret is None  # the app has the secret: not saved by default
    record = store.load_login(login.key)
    assert record is not None and "client_secret" not in record
    token = store.load(login.key)
    assert token is not None and amazon.is_valid_access_token(token.access_token)
    assert amazon.token_requests == {"authorization_code": 1}
    # Right after, in any process sharing the store: from_login and LoginDirectory.
    auth = AdsAuth.from_login(  # tenants live in a namespace of their own
        "tenant:acme-42",
        store=store,
        client_id=amazon.client_id,
        client_secret=amazon.client_secret,
    )
    assert (
        requests.get(amazon.api_url + "/v2/profiles", auth=auth, timeout=30).json()
        == (ACCOUNTS["bob"])
    )
    directory = LoginDirectory(
        store, client_id=amazon.client_id, client_secret=amazon.client_secret
    )
    scoped = requests.get(amazon.api_url + "/v2/profiles", auth=directory.auth_for(223), timeout=30)
    assert scoped.ok and amazon.api_log[-1].profile_id == "223"
    assert flow.auth("acme-42", profile_id=222).profile_id == "222"
    assert amazon.token_requests == {"authorization_code": 1}  # no refresh was needed


def test_the_consent_url_has_state_pkce_and_the_region(amazon: Emulator) -> None:
    flow = ConsentFlow(
        amazon.client_id,
        amazon.client_secret,
        store=MemoryTokenStore(),
        redirect_uri="https://app.example.com/amazon-ads/callback",
        secret_key=SENTINEL_SECRET_KEY,
    )
    hosts = {
        None: "www.amazon.com",
        "na": "www.amazon.com",
        "eu": "eu.account.amazon.com",
        "FE": "apac.account.amazon.com",
    }
    for region, host in hosts.items():
        start = flow.begin("acme-42", region=region)
        parts = urlsplit(start.url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        assert (parts.scheme, parts.hostname, parts.path) == ("https", host, "/ap/oa")
        assert query["code_challenge_method"] == "S256"
        assert len(query["code_challenge"]) == 43 and len(query["state"]) >= 32
        assert query["scope"] == "advertising::campaign_management"
        assert query["redirect_uri"] == "https://app.example.com/amazon-ads/callback"
        assert start.region == (region or "na").lower()
    header = start.set_cookie_header()
    assert header.startswith(f"amazon_ads_consent={start.cookie_value}; ")
    for part in ("Max-Age=600", "Path=/", "HttpOnly", "SameSite=Lax", "Secure"):
        assert part in header.split("; ")
    assert start.cookie_value not in repr(start)


def test_the_cookie_is_not_secure_only_for_a_loopback_http_app(flow: ConsentFlow) -> None:
    start = flow.begin("acme-42")
    assert "Secure" not in start.set_cookie_header()
    assert "Secure" not in flow.clear_cookie_header()
    assert "Max-Age=0" in flow.clear_cookie_header()


def test_cookie_name_and_lifetime_are_settings(amazon: Emulator) -> None:
    flow = make_flow(amazon, PORT, cookie_name="my_consent", cookie_max_age=120)
    start = flow.begin("acme-42")
    assert (start.cookie_name, start.cookie_max_age) == ("my_consent", 120)
    assert start.set_cookie_header().startswith("my_consent=")


@pytest.mark.parametrize(
    ("setting", "value", "says"),
    [
        ("secret_key", "too short", "at least 32 bytes"),
        ("secret_key", b"x" * 31, "at least 32 bytes"),
        ("secret_key", None, "at least 32 bytes"),
        ("redirect_uri", "/amazon-ads/callback", "absolute URL"),
        ("redirect_uri", "http://app.example.com/callback", "https"),
        ("region", "mars", "unknown region"),
        ("scope", "", "scope"),
        ("cookie_name", "bad name", "cookie_name"),
        ("cookie_max_age", 0, "cookie_max_age"),
        ("store", object(), "login records"),
        ("token_url", "http://lwa.example/token", "https"),
    ],
)
def test_settings_that_are_refused(amazon: Emulator, setting: str, value: Any, says: str) -> None:
    with pytest.raises(ConfigurationError, match=says):
        make_flow(amazon, PORT, **{setting: value})


def test_a_secret_key_of_32_bytes_in_bytes_or_text_is_enough(amazon: Emulator) -> None:
    assert make_flow(amazon, PORT, secret_key=b"\x00" * 32).begin("t").cookie_value
    assert make_flow(amazon, PORT, secret_key="k" * 32).begin("t").cookie_value


@pytest.mark.parametrize("tenant", ["", "  ", "a\nb", "a\x00b", "x" * 201, None])
def test_tenant_ids_are_checked_at_begin(flow: ConsentFlow, tenant: Any) -> None:
    with pytest.raises(ConfigurationError, match="tenant id"):
        flow.begin(tenant)


@pytest.mark.parametrize("next_path", ["//evil.example", "https://evil.example/", "/\\evil"])
def test_return_to_off_the_app_is_dropped(flow: ConsentFlow, next_path: str) -> None:
    start, callback = consent(flow, "acme-42", return_to=next_path)
    assert flow.complete(callback, start.cookie_value, tenant="acme-42").return_to is None


def test_save_secret_keeps_the_secret_with_the_grant(
    amazon: Emulator, store: MemoryTokenStore
) -> None:
    flow = make_flow(amazon, PORT, store, save_secret=True)
    start, callback = consent(flow, "acme-42")
    flow.complete(callback, start.cookie_value, tenant="acme-42")
    auth = AdsAuth.from_login("tenant:acme-42", store=store)
    assert requests.get(amazon.api_url + "/v2/profiles", auth=auth, timeout=30).status_code == 200


def test_a_region_chosen_at_begin_is_the_grants(flow: ConsentFlow) -> None:
    start, callback = consent(flow, "acme-42", region="eu")
    assert flow.complete(callback, start.cookie_value, tenant="acme-42").login.region == "eu"


def test_reconsent_with_another_scope_replaces_the_grant(
    flow: ConsentFlow, store: MemoryTokenStore, amazon: Emulator
) -> None:
    start, callback = consent(flow, "acme-42")
    first = flow.complete(callback, start.cookie_value, tenant="acme-42").login
    old = store.load(first.key)
    scope = "advertising::campaign_management advertising::audiences"
    start, callback = consent(flow, "acme-42", "bob", scope=scope.split())
    second = flow.complete(callback, start.cookie_value, tenant="acme-42").login
    new = store.load(second.key)
    assert old is not None and new is not None and new.refresh_token != old.refresh_token
    assert second.scope == scope and [p.profile_id for p in second.profiles] == ["222", "223"]
    assert store.keys() == [first.key]


class TestRefusedCallbacks:
    """Every check of complete(), each with a grant already saved for the tenant: a failed
    complete() leaves the store exactly as it was."""

    @pytest.fixture(autouse=True)
    def connected(self, flow: ConsentFlow, store: MemoryTokenStore) -> None:
        start, callback = consent(flow, "acme-42", "bob")
        flow.complete(callback, start.cookie_value, tenant="acme-42")
        self.before = snapshot(store)

    def refused(
        self, flow: ConsentFlow, store: MemoryTokenStore, error: type[Exception], *args: Any,
        **kwargs: Any,
    ) -> Exception:  # fmt: skip
        with pytest.raises(error) as caught:
            flow.complete(*args, **kwargs)
        assert snapshot(store) == self.before
        return caught.value

    def test_no_cookie(self, flow: ConsentFlow, store: MemoryTokenStore) -> None:
        _, callback = consent(flow, "acme-42")
        error = self.refused(flow, store, ConsentError, callback, None, tenant="acme-42")
        assert "start again from this browser" in str(error)

    def test_a_forged_cookie(
        self, flow: ConsentFlow, store: MemoryTokenStore, amazon: Emulator
    ) -> None:
        start, callback = consent(flow, "acme-42")
        other = make_flow(amazon, PORT, secret_key="another-app-key-" + "0" * 32)
        forged = other.begin("acme-42").cookie_value
        self.refused(flow, store, ConsentError, callback, forged, tenant="acme-42")
        tampered = start.cookie_value[:-2] + ("AA" if start.cookie_value[-2:] != "AA" else "BB")
        self.refused(flow, store, ConsentError, callback, tampered, tenant="acme-42")

    def test_an_expired_cookie(
        self, flow: ConsentFlow, store: MemoryTokenStore, clock: FakeClock
    ) -> None:
        start, callback = consent(flow, "acme-42")
        clock.advance(601)
        error = self.refused(
            flow, store, ConsentError, callback, start.cookie_value, tenant="acme-42"
        )
        assert "expired" in str(error) and "start again from this browser" in str(error)

    def test_another_clients_cookie(
        self, flow: ConsentFlow, store: MemoryTokenStore, amazon: Emulator
    ) -> None:
        _, callback = consent(flow, "acme-42")
        other = ConsentFlow(
            "amzn1.application-oa2-client.other", "secret", store=MemoryTokenStore(),
            redirect_uri=flow.redirect_uri, secret_key=SENTINEL_SECRET_KEY, clock=amazon.clock,
        )  # fmt: skip
        foreign = other.begin("acme-42").cookie_value
        self.refused(flow, store, ConsentError, callback, foreign, tenant="acme-42")

    def test_a_callback_from_another_consent(
        self, flow: ConsentFlow, store: MemoryTokenStore
    ) -> None:
        start, _ = consent(flow, "acme-42")
        _, other_callback = consent(flow, "acme-42")
        self.refused(
            flow, store, StateMismatchError, other_callback, start.cookie_value, tenant="acme-42"
        )

    def test_another_tenants_cookie(self, flow: ConsentFlow, store: MemoryTokenStore) -> None:
        start, callback = consent(flow, "globex")
        error = self.refused(
            flow, store, ConsentError, callback, start.cookie_value, tenant="acme-42"
        )
        assert error.reason == "tenant"  # type: ignore[attr-defined]
        assert store.load(f"{flow.client_id}/tenant:globex") is None

    def test_access_denied(self, flow: ConsentFlow, store: MemoryTokenStore) -> None:
        start, callback = consent(flow, "acme-42", account=None)
        assert "error=access_denied" in callback
        error = self.refused(
            flow, store, AuthorizationDeniedError, callback, start.cookie_value, tenant="acme-42"
        )
        assert error.error == "access_denied"  # type: ignore[attr-defined]

    def test_a_replayed_callback(
        self, flow: ConsentFlow, store: MemoryTokenStore, amazon: Emulator
    ) -> None:
        start, callback = consent(flow, "acme-42", "alice")
        flow.complete(callback, start.cookie_value, tenant="acme-42")
        self.before = snapshot(store)
        error = self.refused(
            flow, store, InvalidGrantError, callback, start.cookie_value, tenant="acme-42"
        )
        assert "5 minutes" in str(error) and "start again" in str(error)
        assert amazon.token_requests == {"authorization_code": 3}

    def test_a_code_older_than_5_minutes(
        self, flow: ConsentFlow, store: MemoryTokenStore, clock: FakeClock
    ) -> None:
        start, callback = consent(flow, "acme-42")
        clock.advance(301)  # the cookie (600 s) is still good; the code is not
        error = self.refused(
            flow, store, InvalidGrantError, callback, start.cookie_value, tenant="acme-42"
        )
        assert "codes live 5 minutes" in str(error)


def test_a_failed_profile_fetch_keeps_the_grant_and_warns(
    amazon: Emulator, store: MemoryTokenStore, caplog: pytest.LogCaptureFixture
) -> None:
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}"
    flow = make_flow(amazon, PORT, store, api_url=nowhere)
    start, callback = consent(flow, "acme-42")
    with caplog.at_level(logging.WARNING, logger="amazon_ads_auth"):
        login = flow.complete(callback, start.cookie_value, tenant="acme-42").login
    assert login.profiles == ()
    assert store.load(login.key) is not None
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warned and "profiles could not be fetched" in warned[0].getMessage()


def test_fetch_profiles_false_asks_no_profiles(amazon: Emulator, store: MemoryTokenStore) -> None:
    flow = make_flow(amazon, PORT, store, fetch_profiles=False)
    start, callback = consent(flow, "acme-42")
    assert flow.complete(callback, start.cookie_value, tenant="acme-42").login.profiles == ()
    assert sum(amazon.api_requests.values()) == 0


def test_disconnect_forgets_the_tenant(
    flow: ConsentFlow, store: MemoryTokenStore, amazon: Emulator
) -> None:
    start, callback = consent(flow, "acme-42")
    key = flow.complete(callback, start.cookie_value, tenant="acme-42").login.key
    start, callback = consent(flow, "globex", "bob")
    flow.complete(callback, start.cookie_value, tenant="globex")
    assert flow.disconnect("acme-42") is True
    assert (store.load(key), store.load_login(key)) == (None, None)
    assert flow.disconnect("acme-42") is False
    assert flow.disconnect("never-connected") is False
    with pytest.raises(NoTokenError):
        flow.auth("acme-42")
    assert [x.tenant for x in LoginDirectory(store)] == ["globex"]


def test_two_tenants_at_once_from_two_browsers_get_their_own_grants(
    amazon: Emulator, tmp_path: Any
) -> None:
    store = FileTokenStore(tmp_path / "tokens")
    flow = make_flow(amazon, PORT, store)
    both = threading.Barrier(2)
    results: dict[str, ConsentResult] = {}

    def connect(tenant: str, account: str) -> None:
        start = flow.begin(tenant)
        both.wait(timeout=30)  # both consents are open before either comes back
        callback = Person("http://127.0.0.1:9", None).consent_at_amazon(start.url, account)
        both.wait(timeout=30)
        results[tenant] = flow.complete(callback, start.cookie_value, tenant=tenant)

    threads = [
        threading.Thread(target=connect, args=("acme-42", "alice")),
        threading.Thread(target=connect, args=("globex", "bob")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [p.profile_id for p in results["acme-42"].login.profiles] == ["111"]
    assert [p.profile_id for p in results["globex"].login.profiles] == ["222", "223"]
    tokens = {t: store.load(f"{flow.client_id}/tenant:{t}") for t in ("acme-42", "globex")}
    assert tokens["acme-42"] != tokens["globex"]
    for tenant, account in (("acme-42", "alice"), ("globex", "bob")):
        answer = requests.get(amazon.api_url + "/v2/profiles", auth=flow.auth(tenant), timeout=30)
        assert answer.json() == ACCOUNTS[account]


def test_a_new_account_per_consent_gives_each_consent_its_own_profiles(
    emulator: Emulator, store: MemoryTokenStore
) -> None:
    from amazon_ads_auth.testing import account_profile

    emulator.new_account_per_consent(lambda n: [account_profile(n * 100, f"Advertiser {n}")])
    flow = make_flow(emulator, PORT, store)
    for tenant in ("acme-42", "globex"):
        start = flow.begin(tenant)
        page = requests.get(start.url, allow_redirects=False, timeout=30)
        assert page.status_code == 302  # consent at once: nobody picks an account
        flow.complete(page.headers["location"], start.cookie_value, tenant=tenant)
    owned = {x.tenant: [p.profile_id for p in x.profiles] for x in LoginDirectory(store)}
    assert owned == {"acme-42": ["100"], "globex": ["200"]}


def test_a_tenant_connected_into_redis_is_usable_from_another_process(
    amazon: Emulator, redis_url: str
) -> None:
    import subprocess
    import sys
    import uuid

    from amazon_ads_auth import RedisTokenStore

    prefix = f"web-{uuid.uuid4().hex}:"
    flow = make_flow(amazon, PORT, RedisTokenStore(redis_url, prefix=prefix))
    start, callback = consent(flow, "acme-42", "bob")
    flow.complete(callback, start.cookie_value, tenant="acme-42")
    worker = (
        "import sys, requests\n"
        "from amazon_ads_auth import AdsAuth, LoginDirectory, RedisTokenStore\n"
        "url, prefix, client_id, secret, api = sys.argv[1:]\n"
        "store = RedisTokenStore(url, prefix=prefix)\n"
        "auth = AdsAuth.from_login('tenant:acme-42', store=store, client_id=client_id,"
        " client_secret=secret)\n"
        "print(requests.get(api + '/v2/profiles', auth=auth, timeout=30).status_code)\n"
        "routed = LoginDirectory(store, client_id=client_id, client_secret=secret)"
        ".auth_for(223)\n"
        "sent = requests.get(api + '/v2/profiles', auth=routed, timeout=30).request\n"
        "print(sent.headers['Amazon-Advertising-API-Scope'])\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", worker, redis_url, prefix, amazon.client_id,
         amazon.client_secret, amazon.api_url],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["200", "223"]
    assert amazon.token_requests == {"authorization_code": 1}  # the saved token was used


def test_reprs_show_no_secret(flow: ConsentFlow) -> None:
    start = flow.begin("acme-42")
    for text in (repr(flow), repr(start)):
        assert SENTINEL_SECRET_KEY not in text and start.cookie_value not in text
        assert flow.client_id in repr(flow)


AMAZON_HOSTS = {  # Amazon's hosts per region (../shared/lwa-facts.md): consent, token, API
    "na": ("www.amazon.com", "api.amazon.com", "advertising-api.amazon.com"),
    "eu": ("eu.account.amazon.com", "api.amazon.co.uk", "advertising-api-eu.amazon.com"),
    "fe": ("apac.account.amazon.com", "api.amazon.co.jp", "advertising-api-fe.amazon.com"),
}


@pytest.mark.parametrize("region", sorted(AMAZON_HOSTS))
def test_each_region_uses_its_own_amazon_hosts(region: str) -> None:
    consent_host, token_host, api_host = AMAZON_HOSTS[region]
    token_url = f"https://{token_host}/auth/o2/token"
    emu = Emulator()  # answering Amazon's own hosts, in process
    store = MemoryTokenStore()
    flow = ConsentFlow(
        emu.client_id, emu.client_secret, store=store, secret_key=SENTINEL_SECRET_KEY,
        redirect_uri="https://app.example.com/amazon-ads/callback",
    )  # fmt: skip
    with emu.amazon_hosts():
        start = flow.begin("acme-42", region=region)
        assert urlsplit(start.url).hostname == consent_host
        page = requests.get(start.url, allow_redirects=False, timeout=30)
        login = flow.complete(page.headers["location"], start.cookie_value, tenant="acme-42").login
    assert (login.region, login.token_url) == (region, token_url)
    assert login.api_url == f"https://{api_host}"
    assert [seen.headers.get("host") for seen in emu.api_log] == [api_host]
    assert [p.profile_id for p in login.profiles] == ["3141592653589793"]
