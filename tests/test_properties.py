"""Property tests: any input gives a value or a typed AdsAuthError, never another exception."""

from __future__ import annotations

import json
import pathlib
import tempfile
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amazon_ads_auth import AdsAuthError, FileTokenStore, MemoryTokenStore, Token
from amazon_ads_auth._lwa.consent import parse_redirect
from amazon_ads_auth._lwa.messages import RetryLater, interpret_token_response, refresh_request
from amazon_ads_auth._urls import HostScope

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)
token_like = st.fixed_dictionaries(
    {},
    optional={
        "access_token": json_values | st.text(min_size=1),
        "refresh_token": json_values | st.text(min_size=1),
        "expires_at": json_values | st.floats(),
        "token_type": json_values,
        "scope": json_values,
    },
)


@given(st.one_of(token_like, json_values))
def test_token_from_dict_gives_a_token_or_a_typed_error(data: Any) -> None:
    try:
        token = Token.from_dict(data)
    except AdsAuthError:
        return
    assert Token.from_dict(json.loads(json.dumps(token.to_dict()))) == token


@given(
    st.text(min_size=1, max_size=30),
    st.one_of(st.none(), st.text(min_size=1, max_size=30)),
    st.floats(allow_nan=False, allow_infinity=False),
)
def test_token_round_trip(access: str, refresh: str | None, expires_at: float) -> None:
    token = Token(access, refresh, expires_at)
    assert Token.from_dict(token.to_dict()) == token
    # The repr depends on no secret: only on whether a refresh token is there.
    other = Token("Atza|other", "Atzr|other" if refresh else None, expires_at)
    assert repr(token) == repr(other)


REQUEST = refresh_request("https://api.amazon.com/auth/o2/token", "id", "secret", "Atzr|r")


@given(
    st.integers(min_value=100, max_value=599),
    st.sampled_from(["application/json", "text/html", "text/plain", ""]),
    st.one_of(
        st.binary(max_size=200),
        json_values.map(lambda v: json.dumps(v).encode()),
        token_like.map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries({"access_token": st.text(min_size=1), "expires_in": json_values}).map(
            lambda v: json.dumps(v).encode()
        ),
        st.fixed_dictionaries({"error": st.text(), "error_description": json_values}).map(
            lambda v: json.dumps(v).encode()
        ),
    ),
    st.one_of(st.none(), st.text(max_size=10)),
)
def test_token_response_parsing(status: int, content_type: str, body: bytes, after: Any) -> None:
    try:
        outcome = interpret_token_response(REQUEST, status, content_type, body, after, 1000.0)
    except AdsAuthError:
        return  # the suite-wide secret scanner checks the message
    if isinstance(outcome, RetryLater):
        assert status == 429 or status >= 500
        assert outcome.retry_after is None or outcome.retry_after >= 0
    else:
        assert outcome.expires_at > 1000.0
        assert outcome.access_token


@given(st.text(max_size=200), st.one_of(st.none(), st.text(max_size=20)))
def test_redirect_parsing_any_text(url: str, state: str | None) -> None:
    try:
        code = parse_redirect(url, state)
    except AdsAuthError:
        return
    assert code


@given(
    st.dictionaries(
        st.sampled_from(["code", "state", "error", "error_description", "scope"]),
        st.text(max_size=20),
    ),
    st.text(max_size=10),
)
def test_redirect_parsing_query_shapes(params: dict[str, str], state: str) -> None:
    from urllib.parse import urlencode

    try:
        code = parse_redirect("http://localhost:1/cb?" + urlencode(params), state or None)
    except AdsAuthError:
        return
    assert code == params["code"]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
@given(
    st.lists(
        st.text(st.characters(exclude_categories=()), min_size=1, max_size=40),
        min_size=1,
        max_size=5,
        unique=True,
    )
)
def test_store_keys_never_collide_or_escape(keys: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        for store in (FileTokenStore(pathlib.Path(folder) / "t"), MemoryTokenStore()):
            for n, key in enumerate(keys):
                try:
                    store.save(key, Token(f"Atza|{n}", "Atzr|r", float(n)))
                except AdsAuthError:
                    continue
            for n, key in enumerate(keys):
                loaded = store.load(key)
                assert loaded is not None
                assert loaded.access_token == f"Atza|{n}"
        written = [p for p in pathlib.Path(folder).rglob("*") if p.is_file()]
        assert all(p.parent == pathlib.Path(folder) / "t" for p in written)


@given(st.text(max_size=40))
def test_any_token_url_is_accepted_or_refused_with_a_configuration_error(url: str) -> None:
    from amazon_ads_auth import AdsAuth

    try:
        AdsAuth("id", "secret", token_url=url or "x")
    except AdsAuthError:
        return


@given(st.lists(st.text(max_size=30), max_size=4))
def test_host_scope_any_entries(entries: list[str]) -> None:
    try:
        scope = HostScope(entries)
    except AdsAuthError:
        return
    assert not scope.matches_url_string("https://evil.example/")
    assert all(prefix.endswith("/") for prefix in scope.prefixes)
