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


@dataclasses.dataclass(frozen=True)
class RefreshChoice:
    """Which refresh token a refresh uses, and where it came from ("pending", "stored",
    "memory"); `token` is None when there is none, with `missing` saying why."""

    token: str | None = dataclasses.field(repr=False)
    source: str = ""
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
        return RefreshChoice(pending, "pending")
    held_refresh = held.refresh_token if held is not None else None
    if not store_ok:
        if held_refresh:
            return RefreshChoice(held_refresh, "memory")
        return RefreshChoice(None, missing=NoRefreshToken.NEVER_STORED)
    if stored is not None and stored.refresh_token:
        return RefreshChoice(stored.refresh_token, "stored")
    if held_refresh and (unsaved or stored is not None):
        return RefreshChoice(held_refresh, "memory")
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
