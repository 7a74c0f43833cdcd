"""The refresh decisions, one table per function: no emulator, no sockets, no threads.

Rows come from the fault matrix, the soft-refresh tests and the bugs they fixed (the
refresh storm with tokens shorter than the margin, `refresh()` doing nothing after an
unhelped 401, a logout undone by a background refresh).
"""

from __future__ import annotations

import pytest

from amazon_ads_auth import Token
from amazon_ads_auth._refresh.decisions import (
    UNHELPED_KEPT,
    VALID,
    Need,
    NeedKind,
    NoRefreshToken,
    TokenState,
    Unhelped,
    backoff_delay,
    busy_recheck_at,
    choose_refresh_token,
    estimated_issue_time,
    fallback_after_refusal,
    lifetime_within_margin,
    merge_refresh_token,
    need_after_401,
    satisfies,
    soft_from,
    stored_is_newer,
    token_state,
    use_stored,
)

MARGIN = 300.0


def tok(access: str = "a", expires_at: float = 3600.0, refresh: str | None = "Atzr|r") -> Token:
    return Token(f"Atza|{access}", refresh, expires_at)


# ----- token states ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "now", "issued_at", "state"),
    [
        (None, 0.0, None, TokenState.EXPIRED),
        (tok(expires_at=3600), 0.0, 0.0, TokenState.FRESH),
        (tok(expires_at=3600), 3299.9, 0.0, TokenState.FRESH),
        (tok(expires_at=3600), 3300.0, 0.0, TokenState.SOFT),  # the margin begins
        (tok(expires_at=3600), 3599.9, 0.0, TokenState.SOFT),
        (tok(expires_at=3600), 3600.0, 0.0, TokenState.EXPIRED),
        (tok(expires_at=3600), 9999.0, 0.0, TokenState.EXPIRED),
        # The storm bug: a 60 s token with a 300 s margin was soft from birth.
        (tok(expires_at=60), 0.0, 0.0, TokenState.FRESH),
        (tok(expires_at=60), 29.9, 0.0, TokenState.FRESH),
        (tok(expires_at=60), 30.0, 0.0, TokenState.SOFT),  # half its own life
        (tok(expires_at=60), 60.0, 0.0, TokenState.EXPIRED),
        # Lifetime unknown: the margin alone.
        (tok(expires_at=60), 0.0, None, TokenState.SOFT),
        (tok(expires_at=3600), 0.0, None, TokenState.FRESH),
    ],
)
def test_token_state(
    token: Token | None, now: float, issued_at: float | None, state: TokenState
) -> None:
    assert token_state(token, now, MARGIN, issued_at) is state


@pytest.mark.parametrize(
    ("expires_at", "margin", "issued_at", "soft_at"),
    [
        (3600, 300, 0, 3300),  # a normal token: the margin decides
        (3600, 300, None, 3300),
        (60, 300, 0, 30),  # shorter than the margin: half its life
        (600, 300, 0, 300),  # exactly twice the margin: both agree
        (3600, 3500, 0, 1800),  # refresh_margin=3500: never before half the life
        (3600, 0, 0, 3600),  # no margin: at expiry
    ],
)
def test_soft_from(
    expires_at: float, margin: float, issued_at: float | None, soft_at: float
) -> None:
    assert soft_from(tok(expires_at=expires_at), margin, issued_at) == soft_at


@pytest.mark.parametrize(
    ("expires_at", "lifetime", "now", "issued_at"),
    [
        (3600, 3600, 1000, 0),  # LwA's lifetime: issued an hour before expiry
        (1100, 3600, 1000, -2500),  # read late in its life: still the same hour
        (1060, 60, 1030, 1000),  # the endpoint gives 60 s tokens: a 60 s lifetime
        (5000, 60, 1000, 1000),  # lives longer than we thought: not issued in the future
    ],
)
def test_estimated_issue_time(
    expires_at: float, lifetime: float, now: float, issued_at: float
) -> None:
    assert estimated_issue_time(tok(expires_at=expires_at), lifetime, now) == issued_at


@pytest.mark.parametrize(
    ("expires_at", "received_at", "margin", "short"),
    [(60, 0, 300, True), (300, 0, 300, True), (301, 0, 300, False), (3600, 0, 300, False)],
)
def test_lifetime_within_margin(
    expires_at: float, received_at: float, margin: float, short: bool
) -> None:
    assert lifetime_within_margin(tok(expires_at=expires_at), margin, received_at) is short


# ----- what a caller needs ----------------------------------------------------------------------

REJECTED = Need.not_rejected("Atza|a", "profile-1")


@pytest.mark.parametrize(
    ("token", "need", "now", "refreshes", "ok"),
    [
        (None, VALID, 0, 0, False),
        (tok(), VALID, 0, 0, True),
        (tok(), VALID, 3400, 0, True),  # soft is still valid
        (tok(), VALID, 3600, 0, False),  # expired
        (tok("a"), REJECTED, 0, 0, False),  # the very token the API refused
        (tok("b"), REJECTED, 0, 0, True),
        (tok("b"), REJECTED, 3600, 0, False),
        (tok(), Need.forced(3), 0, 3, False),  # refresh(): nothing refreshed since it asked
        (tok(), Need.forced(3), 0, 4, True),  # another caller refreshed meanwhile
        (tok(), Need.forced(3), 3600, 4, False),
    ],
)
def test_satisfies(token: Token | None, need: Need, now: float, refreshes: int, ok: bool) -> None:
    assert satisfies(token, need, now, refreshes) is ok


def test_needs_are_values() -> None:
    assert VALID.kind is NeedKind.VALID and not VALID.waits
    assert REJECTED.waits and REJECTED.scope == "profile-1"
    assert Need.forced(7).asked_at == 7 and Need.forced(7).waits
    assert "Atza|a" not in repr(REJECTED)  # the rejected token is a credential


@pytest.mark.parametrize(
    ("memo", "rejected", "scope", "now", "need"),
    [
        ({}, "Atza|a", "1", 0, Need.not_rejected("Atza|a", "1")),
        # A refresh just failed to cure Atza|a's 401s for profile 1: no token request.
        ({("Atza|a", "1"): 60.0}, "Atza|a", "1", 10, VALID),
        # ...for that profile only: profile 2's 401 still refreshes (the bug: 60 s for all).
        ({("Atza|a", "1"): 60.0}, "Atza|a", "2", 10, Need.not_rejected("Atza|a", "2")),
        # ...and for that token only.
        ({("Atza|a", "1"): 60.0}, "Atza|b", "1", 10, Need.not_rejected("Atza|b", "1")),
        # ...for a minute.
        ({("Atza|a", "1"): 60.0}, "Atza|a", "1", 60, Need.not_rejected("Atza|a", "1")),
        ({("Atza|a", None): 60.0}, "Atza|a", None, 10, VALID),
    ],
)
def test_need_after_401(
    memo: dict[tuple[str, str | None], float],
    rejected: str,
    scope: str | None,
    now: float,
    need: Need,
) -> None:
    assert need_after_401(rejected, scope, Unhelped(memo), now) == need


def test_the_unhelped_memo_drops_expired_pairs_and_stays_bounded() -> None:
    memo = Unhelped().noted("Atza|a", "1", now=0.0)
    assert memo.until == {("Atza|a", "1"): 60.0}
    later = memo.noted("Atza|b", "1", now=61.0)
    assert later.until == {("Atza|b", "1"): 121.0}  # the expired pair is gone
    assert memo.until == {("Atza|a", "1"): 60.0}  # values never change
    big = Unhelped()
    for n in range(UNHELPED_KEPT + 10):
        big = big.noted(f"Atza|{n}", None, now=1.0)
    assert len(big.until) == UNHELPED_KEPT and ("Atza|0", None) not in big.until


# ----- which refresh token ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pending", "stored", "held", "store_ok", "unsaved", "token", "source", "missing"),
    [
        # An explicit refresh token that differs from the stored one wins, once.
        ("Atzr|x", None, None, True, False, "Atzr|x", "pending", None),
        ("Atzr|x", tok(refresh="Atzr|s"), None, True, False, "Atzr|x", "pending", None),
        ("Atzr|s", tok(refresh="Atzr|s"), None, True, False, "Atzr|s", "stored", None),
        ("Atzr|x", None, None, False, False, "Atzr|x", "pending", None),
        # The stored grant is the source of truth.
        (None, tok(refresh="Atzr|s"), tok(refresh="Atzr|m"), True, False, "Atzr|s", "stored", None),
        # A store that is down: what we hold (LwA refresh tokens do not rotate).
        (None, None, tok(refresh="Atzr|m"), False, False, "Atzr|m", "memory", None),
        (None, None, None, False, False, None, "", NoRefreshToken.NEVER_STORED),
        # Our save never landed: what we hold.
        (None, None, tok(refresh="Atzr|m"), True, True, "Atzr|m", "memory", None),
        # A stored token without a refresh token: what we hold.
        (None, tok(refresh=None), tok(refresh="Atzr|m"), True, False, "Atzr|m", "memory", None),
        # The logout bug: the grant we held is gone from the store, so nothing is used.
        (None, None, tok(refresh="Atzr|m"), True, False, None, "", NoRefreshToken.REMOVED),
        (None, None, None, True, False, None, "", NoRefreshToken.NEVER_STORED),
        (None, tok(refresh=None), None, True, False, None, "", NoRefreshToken.NEVER_STORED),
    ],
)
def test_choose_refresh_token(
    pending: str | None,
    stored: Token | None,
    held: Token | None,
    store_ok: bool,
    unsaved: bool,
    token: str | None,
    source: str,
    missing: NoRefreshToken | None,
) -> None:
    choice = choose_refresh_token(
        pending=pending, stored=stored, held=held, store_ok=store_ok, unsaved=unsaved
    )
    assert (choice.token, choice.source, choice.missing) == (token, source, missing)
    if token is not None:
        assert token not in repr(choice)


@pytest.mark.parametrize(
    ("used", "stored", "fallback"),
    [
        ("Atzr|x", tok(refresh="Atzr|s"), "Atzr|s"),  # a stale env var beside a good login
        ("Atzr|s", tok(refresh="Atzr|s"), None),  # the stored grant itself was refused
        ("Atzr|x", None, None),
        ("Atzr|x", tok(refresh=None), None),
    ],
)
def test_fallback_after_refusal(used: str, stored: Token | None, fallback: str | None) -> None:
    assert fallback_after_refusal(used, stored) == fallback


# ----- the store's token against ours ---------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "held", "now", "newer"),
    [
        (None, tok(), 0, False),
        (tok("b", 7200), None, 0, True),
        (tok("b", 7200), tok("a", 3600), 0, True),  # another process refreshed
        (tok("b", 3600), tok("a", 3600), 0, True),  # same expiry (one clock): take it
        (tok("a", 3600), tok("a", 3600), 0, False),  # the very token we hold
        (tok("b", 1800), tok("a", 3600), 0, False),  # older: ours may be unsaved
        (tok("b", 7200), tok("a", 3600), 7200, False),  # expired
    ],
)
def test_stored_is_newer(stored: Token | None, held: Token | None, now: float, newer: bool) -> None:
    assert stored_is_newer(stored, held, now) is newer


@pytest.mark.parametrize(
    ("stored", "held", "need", "now", "use"),
    [
        (None, None, VALID, 0, False),
        (tok("b"), None, VALID, 0, True),
        (tok("b"), tok("a", 10), VALID, 100, True),  # ours expired, the stored one is valid
        (tok("b"), tok("a"), VALID, 3600, False),
        (tok("a"), tok("a"), REJECTED, 0, False),  # the rejected token itself
        (tok("b"), tok("a"), REJECTED, 0, True),  # another caller already replaced it
        # refresh(): only a token someone refreshed meanwhile will do.
        (tok("b", 7200), tok("a"), Need.forced(0), 0, True),
        (tok("a"), tok("a"), Need.forced(0), 0, False),
        (tok("b"), None, Need.forced(0), 0, False),  # nothing held: no evidence, refresh
    ],
)
def test_use_stored(
    stored: Token | None, held: Token | None, need: Need, now: float, use: bool
) -> None:
    assert use_stored(stored, held, need, now) is use


@pytest.mark.parametrize(
    ("new", "stored", "refresh_token"),
    [
        (tok(refresh=None), tok(refresh="Atzr|keep"), "Atzr|keep"),  # never replaced by none
        (tok(refresh="Atzr|new"), tok(refresh="Atzr|keep"), "Atzr|new"),
        (tok(refresh=None), None, None),
        (tok(refresh=None), tok(refresh=None), None),
    ],
)
def test_merge_refresh_token(new: Token, stored: Token | None, refresh_token: str | None) -> None:
    merged = merge_refresh_token(new, stored)
    assert merged.refresh_token == refresh_token and merged.access_token == new.access_token


# ----- when the next background attempt may start ---------------------------------------------


@pytest.mark.parametrize(
    ("failures", "now", "expires_at", "delay"),
    [
        (0, 0, 1000, 1.0),
        (1, 0, 1000, 2.0),
        (4, 0, 1000, 16.0),
        (5, 0, 1000, 30.0),  # capped
        (40, 0, 1000, 30.0),
        (5, 0, 20, 10.0),  # never more than half the time left
        (0, 0, 1, 0.5),
        (3, 100, 90, 0.0),  # already expired
    ],
)
def test_backoff_delay(failures: int, now: float, expires_at: float, delay: float) -> None:
    assert backoff_delay(failures, now, expires_at) == delay


@pytest.mark.parametrize(("now", "expires_at", "at"), [(0, 100, 1.0), (99.5, 100, 100)])
def test_busy_recheck_at(now: float, expires_at: float, at: float) -> None:
    assert busy_recheck_at(now, expires_at) == at
