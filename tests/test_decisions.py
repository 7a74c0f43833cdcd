"""The refresh decisions, one table per function: no emulator, no sockets, no threads.

Rows come from the fault matrix, the soft-refresh tests and the bugs they fixed (the
refresh storm with tokens shorter than the margin, `refresh()` doing nothing after an
unhelped 401, a logout undone by a background refresh).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from amazon_ads_auth import Token
from amazon_ads_auth._redact import Secret
from amazon_ads_auth._refresh.decisions import (
    UNHELPED_KEPT,
    VALID,
    AfterRefusal,
    BackgroundAction,
    Need,
    NeedKind,
    NoRefreshToken,
    RefreshSource,
    RefusalAction,
    StoreRead,
    TokenState,
    Unhelped,
    WaitAction,
    WaitStep,
    adopts_unlocked_read,
    after_refused_refresh_token,
    background_step,
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
    wait_step,
)
from amazon_ads_auth._refresh.state import NEVER, GrantState

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


# ----- the waiting path under the store lock ----------------------------------------------------

ADOPT = WaitStep(WaitAction.ADOPT_STORED)


def refresh_with(token: str, source: RefreshSource, *, drops: bool = False) -> WaitStep:
    return WaitStep(WaitAction.REFRESH, token, source, drops_pending=drops)


def nothing(why: NoRefreshToken) -> WaitStep:
    return WaitStep(WaitAction.NO_REFRESH_TOKEN, missing=why)


@pytest.mark.parametrize(
    ("pending", "stored", "held", "need", "now", "store_ok", "unsaved", "step"),
    [
        # A valid stored token meets the need: no token request.
        (None, tok("b"), None, VALID, 0, True, False, ADOPT),
        (None, tok("b", 7200), tok("a"), Need.forced(0), 0, True, False, ADOPT),
        (None, tok("b"), tok("a"), REJECTED, 0, True, False, ADOPT),
        # An explicit refresh token that differs from the stored one is tried first.
        ("Atzr|x", tok(refresh="Atzr|s"), None, VALID, 0, True, False,
         refresh_with("Atzr|x", RefreshSource.PENDING)),
        # The store already holds the explicit one: it is dropped, the stored grant used.
        ("Atzr|s", tok(refresh="Atzr|s"), None, VALID, 0, True, False,
         WaitStep(WaitAction.ADOPT_STORED, drops_pending=True)),
        ("Atzr|s", tok(refresh="Atzr|s"), None, VALID, 3600, True, False,
         refresh_with("Atzr|s", RefreshSource.STORED, drops=True)),
        # The stored token will not do: refresh with the stored grant.
        (None, tok("a", refresh="Atzr|s"), tok("a"), VALID, 3600, True, False,
         refresh_with("Atzr|s", RefreshSource.STORED)),
        (None, tok("a", refresh="Atzr|s"), tok("a"), REJECTED, 0, True, False,
         refresh_with("Atzr|s", RefreshSource.STORED)),
        (None, tok("a", refresh="Atzr|s"), tok("a"), Need.forced(0), 0, True, False,
         refresh_with("Atzr|s", RefreshSource.STORED)),
        # A logout: the grant we held is gone, and stays gone.
        (None, None, tok(refresh="Atzr|m"), VALID, 3600, True, False,
         nothing(NoRefreshToken.REMOVED)),
        (None, None, None, VALID, 0, True, False, nothing(NoRefreshToken.NEVER_STORED)),
        # Our own save never landed: what we hold.
        (None, None, tok(refresh="Atzr|m"), VALID, 3600, True, True,
         refresh_with("Atzr|m", RefreshSource.MEMORY)),
        # The store is down: what we hold, or the explicit one.
        (None, None, tok(refresh="Atzr|m"), VALID, 3600, False, False,
         refresh_with("Atzr|m", RefreshSource.MEMORY)),
        ("Atzr|x", None, tok(refresh="Atzr|m"), VALID, 3600, False, False,
         refresh_with("Atzr|x", RefreshSource.PENDING)),
        (None, None, None, VALID, 0, False, False, nothing(NoRefreshToken.NEVER_STORED)),
    ],
)  # fmt: skip
def test_wait_step(
    pending: str | None,
    stored: Token | None,
    held: Token | None,
    need: Need,
    now: float,
    store_ok: bool,
    unsaved: bool,
    step: WaitStep,
) -> None:
    decided = wait_step(
        pending=pending,
        stored=stored,
        held=held,
        need=need,
        now=now,
        store_ok=store_ok,
        unsaved=unsaved,
    )
    assert decided == step
    if step.refresh_token is not None:
        assert step.refresh_token not in repr(decided)


@pytest.mark.parametrize(
    ("pending", "stored", "held", "unsaved", "now", "adopts"),
    [
        (None, tok("b"), tok("a", 10), False, 100, True),  # another process refreshed
        (None, tok("b", 10), None, False, 100, False),  # expired in the store too
        (None, None, None, False, 0, False),
        ("Atzr|x", tok("b", refresh="Atzr|s"), None, False, 0, False),  # try the explicit one
        ("Atzr|s", tok("b", refresh="Atzr|s"), None, False, 0, True),  # the store has it
    ],
)
def test_adopts_unlocked_read(
    pending: str | None, stored: Token | None, held: Token | None, unsaved: bool, now: float,
    adopts: bool,
) -> None:  # fmt: skip
    decided = adopts_unlocked_read(
        pending=pending, stored=stored, held=held, unsaved=unsaved, now=now
    )
    assert decided is adopts


# ----- after LwA refused a refresh token --------------------------------------------------------

RAISE = AfterRefusal(RefusalAction.RAISE)


@pytest.mark.parametrize(
    ("used", "source", "stored", "need", "now", "after"),
    [
        # A stale AMAZON_ADS_REFRESH_TOKEN beside a good login: the stored grant.
        ("Atzr|x", RefreshSource.PENDING, tok("b", refresh="Atzr|s"), VALID, 0,
         AfterRefusal(RefusalAction.ADOPT_STORED)),
        ("Atzr|x", RefreshSource.PENDING, tok("b", 100, refresh="Atzr|s"), VALID, 200,
         AfterRefusal(RefusalAction.REFRESH_STORED, "Atzr|s")),
        ("Atzr|x", RefreshSource.PENDING, tok("a", refresh="Atzr|s"), REJECTED, 0,
         AfterRefusal(RefusalAction.REFRESH_STORED, "Atzr|s")),
        # The stored grant itself, or the one in memory, was refused: final.
        ("Atzr|s", RefreshSource.PENDING, tok(refresh="Atzr|s"), VALID, 0, RAISE),
        ("Atzr|s", RefreshSource.STORED, tok(refresh="Atzr|s"), VALID, 0, RAISE),
        ("Atzr|m", RefreshSource.MEMORY, tok(refresh="Atzr|s"), VALID, 0, RAISE),
        # Nothing stored to fall back on.
        ("Atzr|x", RefreshSource.PENDING, None, VALID, 0, RAISE),
        ("Atzr|x", RefreshSource.PENDING, tok(refresh=None), VALID, 0, RAISE),
    ],
)  # fmt: skip
def test_after_refused_refresh_token(
    used: str,
    source: RefreshSource,
    stored: Token | None,
    need: Need,
    now: float,
    after: AfterRefusal,
) -> None:
    decided = after_refused_refresh_token(
        used=used, source=source, stored=stored, held=None, need=need, now=now
    )
    assert decided == after
    assert "Atzr|" not in repr(decided)


def test_refresh_source_is_an_enum_equal_to_its_old_text() -> None:
    assert [s.value for s in RefreshSource] == ["pending", "stored", "memory", ""]
    assert RefreshSource.PENDING == "pending" and RefreshSource("memory") is RefreshSource.MEMORY


# ----- one background attempt, step by step -----------------------------------------------------

SOFT, FRESH, EXPIRED = TokenState.SOFT, TokenState.FRESH, TokenState.EXPIRED
NOT_YET, UNLOCKED, LOCKED = StoreRead.NOT_YET, StoreRead.UNLOCKED, StoreRead.LOCKED


@pytest.mark.parametrize(
    ("state", "held", "unsaved", "read", "stored", "action"),
    [
        # Nothing to do: expired meanwhile (waiting callers refresh), or refreshed meanwhile.
        (EXPIRED, tok("a"), False, NOT_YET, None, BackgroundAction.NOTHING_EXPIRED),
        (SOFT, None, False, NOT_YET, None, BackgroundAction.NOTHING_EXPIRED),
        (FRESH, tok("a"), False, NOT_YET, None, BackgroundAction.NOTHING_FRESH),
        (FRESH, tok("a"), False, LOCKED, tok("a"), BackgroundAction.NOTHING_FRESH),
        # Look at the store first, without a lock.
        (SOFT, tok("a"), False, NOT_YET, None, BackgroundAction.READ_STORE),
        (FRESH, tok("a"), True, NOT_YET, None, BackgroundAction.READ_STORE),  # a save is due
        # Another process refreshed: take its token, before or after the lock.
        (SOFT, tok("a"), False, UNLOCKED, tok("b", 7200), BackgroundAction.ADOPT_STORED),
        (SOFT, tok("a"), False, LOCKED, tok("b", 7200), BackgroundAction.ADOPT_STORED),
        (FRESH, tok("a"), True, LOCKED, tok("b", 7200), BackgroundAction.ADOPT_STORED),
        # Nothing newer: try the lock, then refresh under it.
        (SOFT, tok("a"), False, UNLOCKED, tok("a"), BackgroundAction.TRY_LOCK),
        (SOFT, tok("a"), False, UNLOCKED, None, BackgroundAction.TRY_LOCK),
        (SOFT, tok("a"), False, UNLOCKED, tok("b", 1800), BackgroundAction.TRY_LOCK),  # older
        (SOFT, tok("a"), False, LOCKED, tok("a"), BackgroundAction.REFRESH),
        (SOFT, tok("a"), False, LOCKED, None, BackgroundAction.REFRESH),
        (SOFT, tok("a"), True, LOCKED, None, BackgroundAction.REFRESH),  # soft and unsaved
        # Fresh, but the store refused it: only the save is left to do.
        (FRESH, tok("a"), True, LOCKED, tok("b", 1800), BackgroundAction.SAVE_AGAIN),
        (FRESH, tok("a"), True, LOCKED, None, BackgroundAction.SAVE_AGAIN),
    ],
)
def test_background_step(
    state: TokenState,
    held: Token | None,
    unsaved: bool,
    read: StoreRead,
    stored: Token | None,
    action: BackgroundAction,
) -> None:
    decided = background_step(
        state=state, held=held, unsaved=unsaved, read=read, stored=stored, now=0
    )
    assert decided is action


# ----- the grant's state: pure transitions --------------------------------------------------------

HELD = GrantState().adopted(tok("a", 3600), counts=True, margin=MARGIN, now=0, issued_at=0)


@pytest.mark.parametrize(
    ("name", "start", "step", "expected"),
    [
        ("adopt a refreshed token", GrantState(),
         lambda s: s.adopted(tok("a", 3600), counts=True, margin=MARGIN, now=0, issued_at=0),
         {"soft_at": 3300, "header": "Bearer Atza|a", "issued_at": 0, "refreshes": 1}),
        ("a token that lives less than the margin turns soft at half-life", GrantState(),
         lambda s: s.adopted(tok("a", 60), counts=False, margin=MARGIN, now=0, issued_at=0),
         {"soft_at": 30, "refreshes": 0}),
        ("a stored token is dated by the last lifetime", GrantState(lifetime=600),
         lambda s: s.adopted_stored(tok("b", 1000), margin=MARGIN, now=900),
         {"issued_at": 400, "soft_at": 700, "refreshes": 0}),
        ("a different stored token counts for refresh()", HELD,
         lambda s: s.adopted_stored(tok("b", 7200), margin=MARGIN, now=0),
         {"refreshes": 2, "token": tok("b", 7200)}),
        ("the same stored token does not count", HELD,
         lambda s: s.adopted_stored(tok("a", 3600), margin=MARGIN, now=0), {"refreshes": 1}),
        ("a newer stored token clears the unsaved one and the backoff",
         GrantState(unsaved=tok("u"), failures=3, not_before=50.0, stopped=True),
         lambda s: s.adopted_newer(tok("b", 7200), margin=MARGIN, now=0),
         {"unsaved": None, "failures": 0, "not_before": NEVER, "stopped": False}),
        ("a refresh that saved", GrantState(pending=Secret("Atzr|x"), failures=2),
         lambda s: s.refreshed(tok("n", 1000), received_at=100, saved=True, margin=MARGIN,
                               now=100)[0],
         {"pending": None, "lifetime": 900, "issued_at": 100, "soft_at": 700, "refreshes": 1,
          "failures": 0, "unsaved": None}),
        ("a refresh the store refused: kept, saved again after 1 s", GrantState(),
         lambda s: s.refreshed(tok("n", 1000), received_at=100, saved=False, margin=MARGIN,
                               now=100)[0],
         {"unsaved": tok("n", 1000), "failures": 1, "not_before": 101, "soft_at": 101}),
        ("saved again on the token's own schedule", HELD,
         lambda s: s.kept_unsaved(tok("a", 3600), now=10)[0].saved_again(
             tok("a", 3600), margin=MARGIN, now=12),
         {"unsaved": None, "soft_at": 3300, "issued_at": 0, "refreshes": 1}),
        ("a new grant", GrantState(pending=Secret("Atzr|x"), unsaved=tok("u"), stopped=True),
         lambda s: s.seeded(tok("g", 3600), margin=MARGIN, now=0),
         {"pending": None, "unsaved": None, "stopped": False, "refreshes": 1}),
        ("forgotten", HELD.kept_unsaved(tok("a"), now=0)[0], GrantState.cleared,
         {"token": None, "soft_at": NEVER, "header": "", "unsaved": None, "refreshes": 2}),
        ("the explicit refresh token dropped", GrantState(pending=Secret("Atzr|x")),
         GrantState.without_pending, {"pending": None}),
        ("a failed background attempt", GrantState(failures=2),
         lambda s: s.failed(1000, now=10)[0], {"failures": 3, "not_before": 14}),
        ("failures stop counting at 32", GrantState(failures=32),
         lambda s: s.failed(1000, now=0)[0], {"failures": 32, "not_before": 30}),
        ("another process is refreshing", GrantState(failures=1),
         lambda s: s.busy(1000, now=10), {"not_before": 11, "failures": 1}),
        ("stopped for good", GrantState(), GrantState.stopped_for_good, {"stopped": True}),
        ("reset", GrantState(failures=4, not_before=9.0, stopped=True), GrantState.reset,
         {"failures": 0, "not_before": NEVER, "stopped": False}),
    ],
)  # fmt: skip
def test_grant_state_transitions(
    name: str, start: GrantState, step: Any, expected: dict[str, Any]
) -> None:
    before = repr(start)
    after = step(start)
    assert {field: getattr(after, field) for field in expected} == expected, name
    assert repr(start) == before  # the old state never changes


def test_grant_state_is_frozen_and_its_repr_shows_no_token() -> None:
    state = HELD.refreshed(
        Token("Atza|secret-access", "Atzr|secret-refresh", 3600),
        received_at=0,
        saved=True,
        margin=MARGIN,
        now=0,
    )[0]
    state = dataclasses.replace(state, pending=Secret("Atzr|secret-pending"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.soft_at = 0  # type: ignore[misc]
    assert "secret" not in repr(state)


@pytest.mark.parametrize(
    ("state", "now", "due"),
    [
        (GrantState(), 0, True),
        (GrantState(not_before=10), 9.9, False),
        (GrantState(not_before=10), 10, True),
        (GrantState(stopped=True), 0, False),
    ],
)
def test_background_due(state: GrantState, now: float, due: bool) -> None:
    assert state.background_due(now) is due


def test_unhelped_401s_are_remembered_in_the_state() -> None:
    state = HELD.noted_unhelped("Atza|a", "1", now=0)
    assert need_after_401("Atza|a", "1", state.unhelped, now=1) == VALID
    assert need_after_401("Atza|a", "2", state.unhelped, now=1).kind is NeedKind.NOT_REJECTED
