"""The web flow's second round, against the emulator: `complete()` always checks the
signed-in tenant (unless told `ANY_TENANT`), one tenant-id rule everywhere, no secret in
any frame of an error (begin, every refusal of complete, disconnect, the adapters),
`flow.auth()` refusals that name nobody else, and the "done" marker."""

from __future__ import annotations

import inspect
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from amazon_ads_auth import (
    AdsAuthError,
    AuthorizationDeniedError,
    ConfigurationError,
    ConsentError,
    InvalidGrantError,
    MemoryTokenStore,
    RedisTokenStore,
    StateMismatchError,
    StoreError,
    TokenEndpointError,
)
from amazon_ads_auth._redact import SecretBytes
from amazon_ads_auth.testing import Emulator, FakeClock, Fault
from amazon_ads_auth.web import ANY_TENANT, ConsentFlow
from amazon_ads_auth.web._cookie import derive_verifier
from tests.conftest import SENTINEL_SECRET_KEY
from tests.web_apps import ACCOUNTS, Person, add_accounts, make_flow

ACCOUNTS_BOB = ACCOUNTS["bob"][0]

PORT = 8000


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


def consent(flow: ConsentFlow, tenant: str, account: str | None = "alice") -> Any:
    start = flow.begin(tenant)
    return start, Person("http://127.0.0.1:9", None).consent_at_amazon(start.url, account)


def connected(flow: ConsentFlow, tenant: str, account: str = "alice") -> Any:
    start, callback = consent(flow, tenant, account)
    return flow.complete(callback, start.cookie_value, tenant=tenant)


# ----- 1. the signed-in tenant is always checked -------------------------------------------


def test_complete_has_no_default_tenant(flow: ConsentFlow) -> None:
    parameter = inspect.signature(flow.complete).parameters["tenant"]
    assert parameter.kind is parameter.KEYWORD_ONLY
    assert parameter.default is parameter.empty
    start, callback = consent(flow, "acme-42")
    with pytest.raises(TypeError, match="tenant"):
        flow.complete(callback, start.cookie_value)  # type: ignore[call-arg]


def test_a_planted_cookie_cannot_land_a_victims_consent_on_the_attacker(
    flow: ConsentFlow, store: MemoryTokenStore
) -> None:
    """The attack of the review: the attacker's cookie in the victim's browser, the victim
    signed in as themselves, consenting with their own Amazon account."""
    planted = flow.begin("attacker")
    victims_start = flow.begin("victim")
    callback = Person("http://127.0.0.1:9", None).consent_at_amazon(victims_start.url, "bob")
    with pytest.raises((ConsentError, StateMismatchError)):
        flow.complete(callback, planted.cookie_value, tenant="victim")
    # With the attacker's state too (the attacker sent the victim to their consent URL).
    attackers_callback = Person("http://127.0.0.1:9", None).consent_at_amazon(planted.url, "bob")
    with pytest.raises(ConsentError) as caught:
        flow.complete(attackers_callback, planted.cookie_value, tenant="victim")
    assert caught.value.reason == "tenant"
    assert store.keys() == []


def test_any_tenant_is_the_explicit_opt_out(flow: ConsentFlow) -> None:
    assert repr(ANY_TENANT) == "ANY_TENANT"
    start, callback = consent(flow, "acme-42")
    result = flow.complete(callback, start.cookie_value, tenant=ANY_TENANT)
    assert result.tenant == "acme-42"  # the cookie's tenant, whoever is signed in


@pytest.mark.parametrize(
    "tenant",
    ["acme\u200b", "\u202eacme", "ac\u2066me", "ac\u00adme", "a\nb", "x" * 201, "", True, 4.2],
)
def test_one_tenant_rule_everywhere(flow: ConsentFlow, tenant: Any) -> None:
    start, callback = consent(flow, "acme-42")
    calls = [
        lambda: flow.begin(tenant),
        lambda: flow.complete(callback, start.cookie_value, tenant=tenant),
        lambda: flow.auth(tenant),
        lambda: flow.disconnect(tenant),
    ]
    for call in calls:
        with pytest.raises(ConfigurationError, match="tenant"):
            call()
    assert flow.store.keys() == []


# ----- 3. no secret in any frame ------------------------------------------------------------


def secrets_of(flow: ConsentFlow, amazon: Emulator, *starts: Any) -> list[str]:
    # Tokens (not codes: the code is in the callback URL the caller passes in).
    tokens = [x for x in amazon.issued_secrets() if x.startswith("Atz")]
    found = [SENTINEL_SECRET_KEY, amazon.client_secret, *tokens]
    for start in starts:
        state = parse_qs(urlsplit(start.url).query)["state"][0]
        found.append(derive_verifier(SecretBytes(SENTINEL_SECRET_KEY.encode()), state).value)
    return found


def assert_no_secret_in_frames(error: BaseException, secrets: list[str]) -> int:
    """Every frame of `error` (and of errors chained to it) in this library: no local's
    repr holds a secret. Returns how many frames were looked at."""
    looked = 0
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        traceback = current.__traceback__
        while traceback is not None:
            frame = traceback.tb_frame
            if "amazon_ads_auth" in frame.f_code.co_filename:
                looked += 1
                for name, value in frame.f_locals.items():
                    shown = repr(value)
                    for secret in secrets:
                        assert secret not in shown, (frame.f_code.co_name, name)
            traceback = traceback.tb_next
        todo.extend([current.__cause__, current.__context__])
    return looked


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("region", "mars"),
        ("redirect_uri", "http://app.example/callback"),
        ("cookie_name", "bad name"),
        ("store", object()),
        ("secret_key", SENTINEL_SECRET_KEY[:20]),  # too short: still the app's secret
    ],
)
def test_a_refused_setting_keeps_no_secret_in_its_frames(
    amazon: Emulator, setting: str, value: Any
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        make_flow(amazon, PORT, **{setting: value})
    secrets = [SENTINEL_SECRET_KEY, SENTINEL_SECRET_KEY[:20], amazon.client_secret]
    assert assert_no_secret_in_frames(caught.value, secrets) >= 1


def test_begin_keeps_no_secret_in_its_frames(flow: ConsentFlow, amazon: Emulator) -> None:
    with pytest.raises(ConfigurationError) as caught:
        flow.begin("acme-42", return_to="/x", scope="")
    assert assert_no_secret_in_frames(caught.value, secrets_of(flow, amazon)) >= 1
    longest = "/" + "a" * 999
    with pytest.raises(ConfigurationError) as caught:
        flow.begin("\U0001f600" * 200, return_to=longest, scope=["advertising::x" * 20] * 3)
    assert assert_no_secret_in_frames(caught.value, secrets_of(flow, amazon)) >= 2


def refusals(flow: ConsentFlow, amazon: Emulator, clock: FakeClock) -> Iterator[Any]:
    """(name, expected error, a call that makes complete() refuse, the starts involved)."""
    start, callback = consent(flow, "acme-42")
    yield "no cookie", ConsentError, lambda: flow.complete(callback, None, tenant="acme-42")
    other = make_flow(amazon, PORT, secret_key="another-app-key-" + "0" * 32)
    forged = other.begin("acme-42").cookie_value
    yield "forged", ConsentError, lambda: flow.complete(callback, forged, tenant="acme-42")
    _, foreign = consent(flow, "acme-42")
    yield (
        "state",
        StateMismatchError,
        lambda: flow.complete(foreign, start.cookie_value, tenant="acme-42"),
    )
    yield (
        "tenant",
        ConsentError,
        lambda: flow.complete(callback, start.cookie_value, tenant="globex"),
    )
    no_code = callback.split("?")[0] + "?state=" + parse_qs(urlsplit(callback).query)["state"][0]
    yield (
        "no code",
        ConfigurationError,
        lambda: flow.complete(no_code, start.cookie_value, tenant="acme-42"),
    )
    yield (
        "bad tenant",
        ConfigurationError,
        lambda: flow.complete(callback, start.cookie_value, tenant="acme\u200b"),
    )
    denied_start, denied = consent(flow, "acme-42", None)
    yield (
        "cancelled",
        AuthorizationDeniedError,
        lambda: flow.complete(denied, denied_start.cookie_value, tenant="acme-42"),
    )
    used_start, used = consent(flow, "acme-42")
    flow.complete(used, used_start.cookie_value, tenant="acme-42")
    yield (
        "used code",
        InvalidGrantError,
        lambda: flow.complete(used, used_start.cookie_value, tenant="acme-42"),
    )
    failing_start, failing = consent(flow, "acme-42")

    def amazon_fails() -> Any:
        amazon.queue_token_faults(*[Fault.status_code(503, retry_after=0)] * 6)
        return flow.complete(failing, failing_start.cookie_value, tenant="acme-42")

    yield "amazon 503", TokenEndpointError, amazon_fails
    late_start, late = consent(flow, "acme-42")

    def expired() -> Any:
        clock.advance(601)
        return flow.complete(late, late_start.cookie_value, tenant="acme-42")

    yield "expired", ConsentError, expired


def test_no_refusal_of_complete_keeps_a_secret_in_its_frames(
    flow: ConsentFlow, amazon: Emulator, clock: FakeClock
) -> None:
    names = []
    for name, error, call in refusals(flow, amazon, clock):
        with pytest.raises(error) as caught:
            call()
        assert assert_no_secret_in_frames(caught.value, secrets_of(flow, amazon)) >= 1, name
        names.append(name)
    assert len(names) == 10


def _dead_redis() -> RedisTokenStore:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    return RedisTokenStore(f"redis://127.0.0.1:{port}/0")


def test_a_store_failure_in_complete_and_disconnect_keeps_no_secret_in_frames(
    amazon: Emulator,
) -> None:
    flow = make_flow(amazon, PORT, _dead_redis())
    start, callback = consent(flow, "acme-42")
    secrets = secrets_of(flow, amazon, start)
    with pytest.raises(StoreError) as caught:
        flow.complete(callback, start.cookie_value, tenant="acme-42")
    assert assert_no_secret_in_frames(caught.value, secrets) >= 2
    with pytest.raises(StoreError) as caught:
        flow.disconnect("acme-42")
    assert assert_no_secret_in_frames(caught.value, secrets) >= 2


def test_an_error_through_an_adapter_keeps_no_secret_in_frames(amazon: Emulator) -> None:
    from flask import Flask, request

    from amazon_ads_auth.web.flask import consent_blueprint

    class Broken(MemoryTokenStore):
        def save(self, key: str, token: Any) -> None:
            raise RuntimeError("the disk is on fire")

        def save_grant(self, key: str, record: Any) -> None:  # the one write of a grant
            raise RuntimeError("the disk is on fire")

    flow = make_flow(amazon, PORT, Broken())
    app = Flask(__name__)
    app.config["PROPAGATE_EXCEPTIONS"] = True
    app.register_blueprint(consent_blueprint(flow, tenant=lambda: request.cookies.get("t")))
    client = app.test_client()
    client.set_cookie("t", "acme-42")
    started = client.get("/amazon-ads/connect")
    assert started.status_code == 302
    callback = Person("http://127.0.0.1:9", None).consent_at_amazon(started.location)
    query = urlsplit(callback).query
    with pytest.raises(RuntimeError) as caught:
        client.get("/amazon-ads/callback?" + query)
    state = parse_qs(query)["state"][0]
    verifier = derive_verifier(SecretBytes(SENTINEL_SECRET_KEY.encode()), state).value
    secrets = [SENTINEL_SECRET_KEY, amazon.client_secret, verifier]
    assert assert_no_secret_in_frames(caught.value, secrets) >= 3


# ----- 4. flow.auth refusals ---------------------------------------------------------------


def test_auth_refuses_another_tenants_profile_naming_nobody_and_asking_nobody(
    flow: ConsentFlow, amazon: Emulator
) -> None:
    connected(flow, "acme-42", "alice")  # profile 111
    connected(flow, "globex-secret-name", "bob")  # profiles 222, 223
    calls_before = sum(amazon.api_requests.values())
    writes = flow.store.load_login(f"{flow.client_id}/acme-42")
    for _ in range(3):  # a guess of another tenant's profile, again and again
        with pytest.raises(ConfigurationError) as caught:
            flow.auth("acme-42", profile_id=222)
        message = str(caught.value)
        assert "globex" not in message and "acme-42" in message and "222" in message
    assert sum(amazon.api_requests.values()) == calls_before  # no Ads API call
    assert flow.store.load_login(f"{flow.client_id}/acme-42") == writes  # no record write
    assert flow.auth("acme-42", profile_id=111).profile_id == "111"


def test_a_fresh_flow_knows_the_owner_from_the_store(
    flow: ConsentFlow, amazon: Emulator, store: MemoryTokenStore
) -> None:
    connected(flow, "acme-42", "alice")
    connected(flow, "globex", "bob")
    another_process = make_flow(amazon, PORT, store)
    calls_before = sum(amazon.api_requests.values())
    with pytest.raises(ConfigurationError) as caught:
        another_process.auth("acme-42", profile_id=223)
    assert "globex" not in str(caught.value)
    assert sum(amazon.api_requests.values()) == calls_before


def test_a_profile_refreshed_into_the_tenants_record_is_accepted(
    flow: ConsentFlow, amazon: Emulator, store: MemoryTokenStore
) -> None:
    """The cache says 222 is globex's; acme's record is refreshed elsewhere to list it too
    (one Amazon account, two tenants): acme's own record is read again, and it is accepted."""
    connected(flow, "acme-42", "alice")
    connected(flow, "globex", "bob")
    with pytest.raises(ConfigurationError):
        flow.auth("acme-42", profile_id=222)
    from amazon_ads_auth._logins.records import Login, save_login

    key = f"{flow.client_id}/tenant:acme-42"  # the tenants' namespace
    record = Login.from_record(key, store.load_login(key))
    save_login(store, record.with_profiles([p.raw for p in record.profiles] + [ACCOUNTS_BOB]))
    assert flow.auth("acme-42", profile_id=222).profile_id == "222"


def test_the_owner_cache_is_bounded(flow: ConsentFlow) -> None:
    from amazon_ads_auth.web._owners import OWNER_CACHE_SIZE, ProfileOwners

    owners = ProfileOwners(flow.store, flow.client_id)
    for n in range(OWNER_CACHE_SIZE + 50):
        owners.remember(f"tenant-{n}", f"{flow.client_id}/tenant-{n}", [str(n)])
    assert len(owners) == OWNER_CACHE_SIZE
    assert len(owners._tenants) == OWNER_CACHE_SIZE


# ----- 7. the "done" marker -----------------------------------------------------------------


def test_the_done_marker_knows_the_grant_that_consent_saved(
    flow: ConsentFlow, amazon: Emulator, clock: FakeClock
) -> None:
    start, callback = consent(flow, "acme-42", "bob")
    result = flow.complete(callback, start.cookie_value, tenant="acme-42")
    header = flow.done_cookie_header(result)
    assert header.startswith(flow.done_cookie_name + "=") and "HttpOnly" in header
    marker = header.split(";")[0].partition("=")[2]
    done = flow.completed(marker, "acme-42", callback)
    assert done is not None and done.profiles == 2
    assert flow.completed(marker, "globex", callback) is None  # another tenant signed in
    _, other_callback = consent(flow, "acme-42")
    assert flow.completed(marker, "acme-42", other_callback) is None  # another consent
    body, _, mac = marker.partition(".")
    forged = body[:5] + ("B" if body[5] == "A" else "A") + body[6:] + "." + mac
    assert flow.completed(forged, "acme-42", callback) is None  # forged
    assert SENTINEL_SECRET_KEY not in header
    connected(flow, "acme-42", "alice")  # a later consent replaced the grant
    assert flow.completed(marker, "acme-42", callback) is None
    clock.advance(601)
    assert flow.completed(marker, "acme-42") is None


def test_the_done_marker_ends_with_disconnect(flow: ConsentFlow) -> None:
    start, callback = consent(flow, "acme-42")
    result = flow.complete(callback, start.cookie_value, tenant="acme-42")
    marker = flow.done_cookie_header(result).split(";")[0].partition("=")[2]
    assert flow.completed(marker, "acme-42") is not None
    flow.disconnect("acme-42")
    assert flow.completed(marker, "acme-42") is None


def test_errors_of_the_flow_are_library_errors() -> None:
    assert issubclass(ConsentError, AdsAuthError)


# ----- 5. Ads API error texts are redacted --------------------------------------------------


def test_an_ads_api_error_that_echoes_the_token_is_redacted_in_the_warning(
    amazon: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from tests.test_cli_api_hosts import recorder

    with recorder() as (api_host, seen):
        flow = make_flow(amazon, PORT, MemoryTokenStore(), api_url=f"http://{api_host}")
        start, callback = consent(flow, "acme-42")
        with caplog.at_level(logging.WARNING, logger="amazon_ads_auth"):
            login = flow.complete(callback, start.cookie_value, tenant="acme-42").login
        sent = [headers["Authorization"].partition(" ")[2] for _, _, headers, _ in seen]
    assert login.profiles == () and sent  # the grant is kept; the profiles could not be read
    warned = " ".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
    assert "profiles could not be fetched" in warned and "Bad token" in warned
    for token in sent:
        assert token not in warned and token[:24] not in warned


def test_a_new_consent_replaces_what_the_cache_knows_of_the_tenant() -> None:
    from amazon_ads_auth.web._owners import ProfileOwners

    owners = ProfileOwners(MemoryTokenStore(), "client")
    owners.remember("acme", "client/acme", ["1", "2"])
    owners.remember("globex", "client/globex", ["2"])
    owners.remember("acme", "client/acme", ["3"])  # re-consent with another account
    assert dict(owners._owners) == {
        "1": frozenset(),
        "2": frozenset({"globex"}),
        "3": frozenset({"acme"}),
    }


def test_a_store_failure_while_reading_the_done_marker_is_a_503_page(amazon: Emulator) -> None:
    from flask import Flask

    from amazon_ads_auth.web._cookie import DoneState, seal_done
    from amazon_ads_auth.web.flask import consent_blueprint

    flow = make_flow(amazon, PORT, _dead_redis())
    marker = seal_done(
        DoneState(
            state="S" * 32, tenant="acme-42", key=f"{flow.client_id}/acme-42", grant="g",
            profiles=1, return_to=None, expires_at=amazon.clock() + 60, client_id=flow.client_id,
        ),
        flow._key,
    )  # fmt: skip
    app = Flask(__name__)
    app.register_blueprint(consent_blueprint(flow, tenant=lambda: "acme-42"))
    client = app.test_client()
    client.set_cookie(flow.done_cookie_name, marker)
    for path in ("/amazon-ads/callback?code=x&state=" + "S" * 32, "/amazon-ads/connected"):
        answer = client.get(path)
        assert answer.status_code == 503, answer.text
        assert "Please try again in a few minutes." in answer.text
        assert "redis" not in answer.text.lower() and "127.0.0.1" not in answer.text
