"""The refresh algorithm's decisions, as pure functions of values.

No store, no HTTP, no threads, no clock of its own: every function takes what it decides on
(the tokens, `now`, the margin) and returns a value. The token manager (`_manager`) does the
I/O around them, the way h11's `Connection` drives its state machine: decide, do the I/O,
decide again. Each function here is tested by a table in `tests/test_decisions.py`.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping

from .._token import Token

FIRST_BACKOFF = 1.0
MAX_BACKOFF = 30.0
BUSY_RECHECK = 1.0  # another process holds the store lock: look at the store again then
UNHELPED_SECONDS = 60.0  # how long "a refresh did not cure this 401" is remembered
UNHELPED_KEPT = 256  # (token, scope) pairs remembered at most


class TokenState(enum.Enum):
    """What a token is good for now."""

    FRESH = "fresh"  # use it; nothing else to do
    SOFT = "soft"  # use it; one background refresh may replace it
    EXPIRED = "expired"  # (or no token) callers wait for one refresh


def soft_from(token: Token, margin: float, issued_at: float | None = None) -> float:
    """When `token` turns soft: `margin` seconds before it expires, but never before half of
    its own lifetime has passed. `issued_at` is when the token endpoint issued it (see
    `estimated_issue_time` for a token read from a store); None counts the margin only.

    The half-life floor is what keeps a token that lives no longer than the margin (the
    endpoint says 60 s, the margin is 300 s) from being refreshed again on every call.
    """
    due = token.expires_at - margin
    if issued_at is None:
        return due
    return max(due, issued_at + (token.expires_at - issued_at) / 2)


def estimated_issue_time(token: Token, lifetime: float, now: float) -> float:
    """When a token we did not fetch ourselves (read from the store) was issued: `lifetime`
    (what the token endpoint last gave us, else LwA's 3600 s) before it expires, but not
    later than `now`, when we see it."""
    return min(token.expires_at - lifetime, now)


def token_state(
    token: Token | None, now: float, margin: float, issued_at: float | None = None
) -> TokenState:
    """The state of `token` at `now` (see `soft_from` for `issued_at`)."""
    if token is None or now >= token.expires_at:
        return TokenState.EXPIRED
    if now < soft_from(token, margin, issued_at):
        return TokenState.FRESH
    return TokenState.SOFT


def lifetime_within_margin(token: Token, margin: float, received_at: float) -> bool:
    """True when the token endpoint gave a token that lives no longer than the margin: every
    such token is due for refresh as it arrives (worth one WARNING)."""
    return token.expires_at - received_at <= margin


class NeedKind(enum.Enum):
    VALID = "valid"  # any token that has not expired
    NOT_REJECTED = "not rejected"  # a valid token other than one the API just refused
    FORCED = "forced"  # a refresh that finished after the caller asked (`refresh()`)


@dataclasses.dataclass(frozen=True)
class Need:
    """What a caller needs from the manager, as one value instead of flags.

    `rejected` is the access token the API refused and `scope` the profile/account it was
    refused for (NOT_REJECTED); `asked_at` is the manager's refresh count when `refresh()`
    was called (FORCED): any refresh counted after that satisfies it.
    """

    kind: NeedKind = NeedKind.VALID
    rejected: str | None = dataclasses.field(default=None, repr=False)
    scope: str | None = None
    asked_at: int = 0

    @classmethod
    def not_rejected(cls, access_token: str, scope: str | None = None) -> Need:
        return cls(NeedKind.NOT_REJECTED, rejected=access_token, scope=scope)

    @classmethod
    def forced(cls, refresh_count: int) -> Need:
        return cls(NeedKind.FORCED, asked_at=refresh_count)

    @property
    def waits(self) -> bool:
        """True when the caller must wait for the manager rather than take the memory token."""
        return self.kind is not NeedKind.VALID


VALID = Need()


def satisfies(token: Token | None, need: Need, now: float, refresh_count: int) -> bool:
    """Whether `token` meets `need` at `now`; `refresh_count` is how many refreshes the
    manager has finished (FORCED needs one after `need.asked_at`)."""
    if token is None or now >= token.expires_at:
        return False
    if need.kind is NeedKind.NOT_REJECTED:
        return token.access_token != need.rejected
    if need.kind is NeedKind.FORCED:
        return refresh_count > need.asked_at
    return True


@dataclasses.dataclass(frozen=True)
class Unhelped:
    """The (access token, scope) pairs whose 401s a refresh just failed to cure, each with
    the time until which that is remembered. Immutable: `noted` returns a new memo."""

    until: Mapping[tuple[str, str | None], float] = dataclasses.field(default_factory=dict)

    def noted(self, access_token: str, scope: str | None, now: float) -> Unhelped:
        """This memo with the pair added for `UNHELPED_SECONDS`, expired pairs dropped, and
        at most `UNHELPED_KEPT` pairs kept (the oldest go first)."""
        kept = {pair: t for pair, t in self.until.items() if t > now}
        while len(kept) >= UNHELPED_KEPT:
            kept.pop(next(iter(kept)))
        kept[(access_token, scope)] = now + UNHELPED_SECONDS
        return Unhelped(kept)


def need_after_401(rejected: str, scope: str | None, unhelped: Unhelped, now: float) -> Need:
    """What a caller needs after the API answered 401 to `rejected` for `scope`.

    A new token, unless a refresh was just shown not to cure this token's 401s for this
    scope (a wrong profile, say): then any valid token does, and no token request is made.
    The memo is per token and scope, so another profile's 401 still refreshes.
    """
    if unhelped.until.get((rejected, scope), float("-inf")) > now:
        return VALID
    return Need.not_rejected(rejected, scope)


class NoRefreshToken(enum.Enum):
    """Why no refresh token can be used."""

    NEVER_STORED = "never stored"  # no grant in the store, none in memory
    REMOVED = "removed"  # the store had our grant and no longer has it (a logout)


class RefreshSource(str, enum.Enum):
    """Where the refresh token a refresh uses came from (a `str` enum: equal to its value)."""

    PENDING = "pending"  # the caller's explicit one, not yet used
    STORED = "stored"  # the store's, read under the key lock
    MEMORY = "memory"  # the one held in memory (the store is down, or never got it)
    NONE = ""  # there is none (`RefreshChoice.missing` says why)


@dataclasses.dataclass(frozen=True)
class RefreshChoice:
    """Which refresh token a refresh uses, and where it came from; `token` is None when
    there is none, with `missing` saying why."""

    token: str | None = dataclasses.field(repr=False)
    source: RefreshSource = RefreshSource.NONE
    missing: NoRefreshToken | None = None


def choose_refresh_token(
    *,
    pending: str | None,
    stored: Token | None,
    held: Token | None,
    store_ok: bool = True,
    unsaved: bool = False,
) -> RefreshChoice:
    """The refresh token to use, from the caller's explicit one (`pending`, not yet used),
    the store's (`stored`, read under the key lock) and the one in memory (`held`).

    - An explicit refresh token that differs from the stored one wins, once.
    - A store that did not answer (`store_ok` False): the one in memory (LwA refresh tokens
      do not rotate, so this is safe).
    - Otherwise the stored one. The in-memory one only when the store never got it
      (`unsaved`: our save failed) or the stored token carries none.
    - A grant we held that is gone from the store was removed (a logout): none, REMOVED,
      so a deleted grant stays deleted.
    """
    if pending is not None and (not store_ok or stored is None or stored.refresh_token != pending):
        return RefreshChoice(pending, RefreshSource.PENDING)
    held_refresh = held.refresh_token if held is not None else None
    if not store_ok:
        if held_refresh:
            return RefreshChoice(held_refresh, RefreshSource.MEMORY)
        return RefreshChoice(None, missing=NoRefreshToken.NEVER_STORED)
    if stored is not None and stored.refresh_token:
        return RefreshChoice(stored.refresh_token, RefreshSource.STORED)
    if held_refresh and (unsaved or stored is not None):
        return RefreshChoice(held_refresh, RefreshSource.MEMORY)
    if held is not None and stored is None:
        return RefreshChoice(None, missing=NoRefreshToken.REMOVED)
    return RefreshChoice(None, missing=NoRefreshToken.NEVER_STORED)


def fallback_after_refusal(used: str, stored: Token | None) -> str | None:
    """LwA refused the explicit refresh token `used` (invalid_grant): the stored grant's
    refresh token to try instead (a stale AMAZON_ADS_REFRESH_TOKEN beside a good login), or
    None."""
    if stored is not None and stored.refresh_token and stored.refresh_token != used:
        return stored.refresh_token
    return None


def stored_is_newer(stored: Token | None, held: Token | None, now: float) -> bool:
    """True when the store holds a valid token that replaces the one in memory (another
    process, or another AdsAuth of this one, refreshed)."""
    if stored is None or now >= stored.expires_at:
        return False
    if held is None:
        return True
    return stored.access_token != held.access_token and stored.expires_at >= held.expires_at


def use_stored(stored: Token | None, held: Token | None, need: Need, now: float) -> bool:
    """Whether the stored token meets `need` instead of a refresh (read under the key
    lock, after the in-memory token `held` did not). A forced refresh is met only by a
    token another caller refreshed meanwhile: one newer than the one held."""
    if stored is None or now >= stored.expires_at:
        return False
    if need.kind is NeedKind.FORCED:
        return held is not None and stored_is_newer(stored, held, now)
    if need.kind is NeedKind.NOT_REJECTED:
        return stored.access_token != need.rejected
    return True


def merge_refresh_token(new: Token, stored: Token | None) -> Token:
    """The token to save: `new`, keeping the stored refresh token when `new` has none.
    Never replaces a stored refresh token with nothing (the one place this rule lives)."""
    return new.with_refresh_token(stored.refresh_token if stored is not None else None)


def backoff_delay(failures: int, now: float, expires_at: float) -> float:
    """The wait before the next background attempt after `failures` failed ones: 1 s,
    doubling, at most 30 s, and never more than half the time the token has left, so the
    last attempt still finishes before callers would have to wait for it."""
    delay = min(MAX_BACKOFF, FIRST_BACKOFF * 2.0 ** min(failures, 32))
    return max(0.0, min(delay, (expires_at - now) / 2))


def busy_recheck_at(now: float, expires_at: float) -> float:
    """Another process holds the store lock: when to look at the store again."""
    return min(now + BUSY_RECHECK, expires_at)


def adopts_unlocked_read(
    *, pending: str | None, stored: Token | None, held: Token | None, unsaved: bool, now: float
) -> bool:
    """Whether a caller that found no usable token in memory adopts the stored token read
    without the store lock (writes are atomic), so a process never queues behind another's
    background refresh for a token it could use now: yes for a valid stored token, unless
    the caller's own explicit refresh token must be tried first."""
    if stored is None or now >= stored.expires_at:
        return False
    choice = choose_refresh_token(pending=pending, stored=stored, held=held, unsaved=unsaved)
    return choice.source is not RefreshSource.PENDING


# ----- the waiting path: what to do under the store lock -------------------------------------


class WaitAction(enum.Enum):
    """What a waiting caller does once it holds the store lock and has read the store."""

    ADOPT_STORED = "adopt stored"  # the stored token meets the need: no token request
    REFRESH = "refresh"  # one token request with `WaitStep.refresh_token`
    NO_REFRESH_TOKEN = "no refresh token"  # nothing to refresh with (`WaitStep.missing`)


@dataclasses.dataclass(frozen=True)
class WaitStep:
    """The waiting path's decision: an action, and for REFRESH the refresh token and its
    source; `drops_pending` when the caller's explicit refresh token is no longer needed
    (the store already holds it)."""

    action: WaitAction
    refresh_token: str | None = dataclasses.field(default=None, repr=False)
    source: RefreshSource = RefreshSource.NONE
    missing: NoRefreshToken | None = None
    drops_pending: bool = False


def wait_step(
    *,
    pending: str | None,
    stored: Token | None,
    held: Token | None,
    need: Need,
    now: float,
    store_ok: bool = True,
    unsaved: bool = False,
) -> WaitStep:
    """What a caller waiting for `need` does with the store read under its lock (`stored`;
    `store_ok` False when the store did not answer, so `stored` is None).

    An explicit refresh token that differs from the stored one is tried first, before any
    stored token; otherwise a stored token that meets the need is adopted; otherwise the
    refresh token `choose_refresh_token` picks is used, or there is none."""
    choice = choose_refresh_token(
        pending=pending, stored=stored, held=held, store_ok=store_ok, unsaved=unsaved
    )
    drops = pending is not None and choice.source is not RefreshSource.PENDING
    if choice.source is not RefreshSource.PENDING and use_stored(stored, held, need, now):
        return WaitStep(WaitAction.ADOPT_STORED, drops_pending=drops)
    if choice.token is None:
        return WaitStep(WaitAction.NO_REFRESH_TOKEN, missing=choice.missing, drops_pending=drops)
    return WaitStep(WaitAction.REFRESH, choice.token, choice.source, drops_pending=drops)


class RefusalAction(enum.Enum):
    """What follows LwA's invalid_grant for the refresh token a refresh used."""

    RAISE = "raise"  # the refusal stands: log in again
    ADOPT_STORED = "adopt stored"  # the stored grant's token meets the need
    REFRESH_STORED = "refresh stored"  # refresh with the stored grant's refresh token


@dataclasses.dataclass(frozen=True)
class AfterRefusal:
    """`after_refused_refresh_token`'s decision; `refresh_token` for REFRESH_STORED."""

    action: RefusalAction
    refresh_token: str | None = dataclasses.field(default=None, repr=False)


def after_refused_refresh_token(
    *,
    used: str,
    source: RefreshSource,
    stored: Token | None,
    held: Token | None,
    need: Need,
    now: float,
) -> AfterRefusal:
    """LwA refused `used` (invalid_grant). Only the caller's explicit refresh token (a stale
    AMAZON_ADS_REFRESH_TOKEN beside a good login) falls back to the stored grant: its
    token if that meets the need, else a refresh with its refresh token. A refused stored
    or in-memory refresh token is final."""
    fallback = fallback_after_refusal(used, stored)
    if source is not RefreshSource.PENDING or fallback is None:
        return AfterRefusal(RefusalAction.RAISE)
    if use_stored(stored, held, need, now):
        return AfterRefusal(RefusalAction.ADOPT_STORED)
    return AfterRefusal(RefusalAction.REFRESH_STORED, fallback)


# ----- the background path: one attempt, step by step ---------------------------------------


class StoreRead(enum.Enum):
    """How far a background attempt has got with the store."""

    NOT_YET = "not yet"  # nothing read
    UNLOCKED = "unlocked"  # read without a lock (writes are atomic)
    LOCKED = "locked"  # read under the store lock, taken without waiting


class BackgroundAction(enum.Enum):
    """The next thing a background attempt does."""

    NOTHING_EXPIRED = "nothing: expired"  # expired meanwhile: waiting callers refresh
    NOTHING_FRESH = "nothing: fresh"  # someone refreshed meanwhile
    READ_STORE = "read the store"  # without a lock
    TRY_LOCK = "try the store lock"  # without waiting; busy when another process holds it
    ADOPT_STORED = "adopt stored"  # another process refreshed: take its token
    SAVE_AGAIN = "save again"  # the token is fresh; only the refused save is left to do
    REFRESH = "refresh"  # one token request, no retries (the next attempt is the retry)


def background_step(
    *,
    state: TokenState,
    held: Token | None,
    unsaved: bool,
    read: StoreRead,
    stored: Token | None,
    now: float,
) -> BackgroundAction:
    """The next step of one background attempt for the held token (`state` is its state
    when the attempt began; `unsaved` when the store refused our last token), given what
    has been read from the store so far."""
    if held is None or state is TokenState.EXPIRED:
        return BackgroundAction.NOTHING_EXPIRED
    if not unsaved and state is TokenState.FRESH:
        return BackgroundAction.NOTHING_FRESH
    if read is StoreRead.NOT_YET:
        return BackgroundAction.READ_STORE
    if stored_is_newer(stored, held, now):
        return BackgroundAction.ADOPT_STORED
    if read is StoreRead.UNLOCKED:
        return BackgroundAction.TRY_LOCK
    if unsaved and state is TokenState.FRESH:
        return BackgroundAction.SAVE_AGAIN
    return BackgroundAction.REFRESH
