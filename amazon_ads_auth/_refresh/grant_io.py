"""The store and token-endpoint calls for one grant, so the token manager only orchestrates.

Nothing here decides anything or holds a token: `GrantIO` knows where the grant lives (the
store and its key) and how to ask LwA for a new access token, and wraps those calls in the
rules that hold for every store: the stored refresh token is merged in (never replaced by
none) when a token without one is saved, and secrets stay in `Secret` wrappers so no frame
of a traceback shows them.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from .._errors import (
    GrantExpiredError,
    InvalidGrantError,
    NoTokenError,
    StoreError,
    TokenEndpointError,
)
from .._lwa.messages import TokenHttpRequest, refresh_request
from .._lwa.sender import TokenTransport
from .._redact import Secret, describe_store
from .._stores.base import LoginRecordStore, TokenStore, try_lock
from .._stores.grant import (
    EXPIRED,
    OK,
    REVOKED,
    GrantRecord,
    GrantRecordStore,
    RefreshOutcome,
    new_grant,
    read_grant,
    record_from_login,
    write_grant,
)
from .._token import Token
from .decisions import NoRefreshToken, lifetime_within_margin, merge_refresh_token

logger = logging.getLogger("amazon_ads_auth")

EXPIRED_HINT = (
    "the advertiser's consent expired 365 days after it was given: ask them to connect "
    "again (a CLI login: run `amazon-ads-auth login`)"
)


@dataclasses.dataclass(frozen=True)
class Consent:
    """What a code exchange saves with its token, in the same write: the login record (or
    None) and the time of the exchange."""

    login: Mapping[str, Any] | None
    consented_at: float


class GrantIO:
    """Where one grant lives and how it is refreshed: `store` under `key`, via `token_url`."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: Secret,
        store: TokenStore,
        key: str,
        token_url: str,
        transport: TokenTransport,
        on_new_token: Callable[[Token], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client_id = client_id
        self._clock = clock
        self._on_new_token = on_new_token
        self._warned_short = False
        self._client_secret = client_secret
        self.store = store
        self.key = key
        self._token_url = token_url
        self._transport = transport

    def load(self) -> Token | None:
        """The stored token, carrying its grant record's refresh-token expiry
        (`Token.refresh_expires_at`; None when unknown) from the same read, so the manager's
        expiry notice needs no second one. One read from a store of whole records; other
        stores are read as before, their login record (if any) consulted for the expiry.

        Raises: StoreError."""
        if isinstance(self.store, GrantRecordStore):
            record = self.store.load_grant(self.key)
            return None if record is None else _with_expiry(record.token, record)
        token = self.store.load(self.key)
        if token is None or not isinstance(self.store, LoginRecordStore):
            return token
        try:  # the expiry is news, never a reason for a load to fail
            record = record_from_login(token, self.store.load_login(self.key), self.key)
        except StoreError:
            return token
        return _with_expiry(token, record)

    def lock(self) -> AbstractContextManager[None]:
        return self.store.lock(self.key)

    def try_lock(self) -> AbstractContextManager[bool]:
        return try_lock(self.store, self.key)

    def refresh(self, refresh_token: Secret, *, retry: bool = True) -> Token:
        """One refresh at the token endpoint (with retries unless `retry=False`); the answer
        keeps `refresh_token` when LwA sends none back. The caller holds the key's lock.

        Raises: GrantExpiredError (invalid_grant at or after the refresh token's expiry),
        InvalidGrantError (before it: revoked), and the transport's other errors; an
        invalid_grant is recorded as the grant's last refresh outcome."""
        request = refresh_request(
            self._token_url, self.client_id, self._client_secret.value, refresh_token.value
        )
        try:
            token = self._transport.send(request, retry=retry)
        except InvalidGrantError as exc:
            raise self._refused(refresh_token.value, exc) from None
        return token.with_refresh_token(refresh_token.value)

    def _refused(self, refresh_token: str, exc: InvalidGrantError) -> InvalidGrantError:
        """Record an invalid_grant on the stored grant it is about, and say which it was."""
        now = self._clock()
        try:
            record = read_grant(self.store, self.key)
        except StoreError:
            record = None
        if record is None or record.token.refresh_token != refresh_token:
            return exc  # a refresh token passed in, not the stored grant's: nothing to record
        expires = record.refresh_expires_at
        expired = expires is not None and now >= expires
        outcome = RefreshOutcome(EXPIRED if expired else REVOKED, now, exc.error)
        try:
            write_grant(self.store, self.key, record.with_outcome(outcome))
        except StoreError as error:
            logger.warning("could not record the refused refresh of %r (%s)", self.key, error)
        if not expired:
            return exc
        hint = EXPIRED_HINT
        if record.consented_at is not None and expires is not None:
            days = round((expires - record.consented_at) / 86400)
            hint = hint.replace("365 days", f"{days} day{'s' if days != 1 else ''}")
        return GrantExpiredError(
            f"token refresh failed with {exc.error!r}: {hint}",
            error=exc.error,
            description=exc.description,
            status_code=exc.status_code,
            grant_type=exc.grant_type,
        )

    def exchange(self, request: TokenHttpRequest) -> Token:
        """An authorization-code exchange built by `_lwa.code_exchange_request`.

        Raises: TokenEndpointError for an answer without a refresh token (a stored one is
        never merged into an exchange), and the transport's errors."""
        token = self._transport.send(request)
        if not token.refresh_token:
            raise TokenEndpointError(
                "the code exchange answered without a refresh token (LwA sends one when the "
                "client secret is sent): nothing was saved and the previous grant is "
                "untouched; check the client secret and log in again"
            )
        return token

    def save(self, token: Token) -> StoreError | None:
        """Save a refreshed `token` (the stored refresh token merged in when it has none)
        with the outcome "ok", keeping the rest of the grant record; the store's error is
        returned, not raised: a refresh that could not be saved is still good."""
        try:
            record = read_grant(self.store, self.key)
            if not token.refresh_token:
                token = merge_refresh_token(token, record.token if record else None)
            outcome = RefreshOutcome(OK, self._clock())
            if record is None:
                record = GrantRecord(token)
            elif record.token.refresh_token != token.refresh_token:
                # Another refresh token than the stored grant's: its consent is unknown.
                record = GrantRecord(token, record.login, extra=record.extra)
            write_grant(self.store, self.key, record.with_token(token).with_outcome(outcome))
        except StoreError as exc:
            return exc
        return None

    def save_grant(self, token: Token, consent: Consent | None = None) -> Token:
        """Save `token` as the grant under the key's lock, in one write, and return what was
        saved. With `consent` (a code exchange) the record is new: its login, consent time
        and expiry, never a stored refresh token. Without (a token passed in), the stored
        refresh token is merged in when `token` has none, and the record keeps its consent
        time only while the refresh token is the same.

        Raises: StoreError (the caller of a login or an import must know)."""
        with self.lock():
            if consent is not None:
                stated = token.refresh_expires_at  # LwA's refresh_token_expires_in, if sent
                record = new_grant(
                    token,
                    consent.login,
                    consented_at=consent.consented_at,
                    expires_in=None if stated is None else stated - consent.consented_at,
                )
                write_grant(self.store, self.key, record)
                return token
            current = read_grant(self.store, self.key)
            saved = merge_refresh_token(token, current.token if current else None)
            if current is None:
                record = GrantRecord(saved)
            elif current.token.refresh_token == saved.refresh_token:
                record = current.with_token(saved)
            else:  # a refresh token passed by hand: the consent time is not known
                record = GrantRecord(saved, current.login, extra=current.extra)
            write_grant(self.store, self.key, record)
        return saved

    def announce(self, token: Token, received_at: float, margin: float) -> None:
        """Tell the log and the `on_new_token` callback about a refreshed token; warn once
        when LwA gives tokens that live no longer than the refresh margin."""
        logger.info("refreshed the access token for key %r; %s", self.key, expiry(token))
        if lifetime_within_margin(token, margin, received_at) and not self._warned_short:
            self._warned_short = True
            logger.warning(
                "the token endpoint gave key %r a token that lives %.0fs, no longer than the "
                "refresh margin (%.0fs): it is refreshed after half its life instead; use a "
                "smaller refresh_margin",
                self.key,
                token.expires_at - received_at,
                margin,
            )
        if self._on_new_token is None:
            return
        try:
            self._on_new_token(token)
        except Exception as exc:  # the user's callback must not break a refresh
            logger.warning(
                "the new-token callback for key %r failed (%s)", self.key, type(exc).__name__
            )

    def delete(self) -> None:
        with self.lock():
            self.store.delete(self.key)

    def no_token(self, why: NoRefreshToken | None) -> NoTokenError:
        """The error for a grant with no refresh token to use, saying what to do."""
        if why is NoRefreshToken.REMOVED:
            return NoTokenError(
                f"the login was removed: the grant {self.key!r} is no longer in "
                f"{describe_store(self.store)} (`amazon-ads-auth logout`, or another process "
                "deleted it): "
                "run `amazon-ads-auth login`"
            )
        return NoTokenError(
            f"no refresh token for key {self.key!r} in {describe_store(self.store)}: run "
            "`amazon-ads-auth login`, pass refresh_token=..., or set AMAZON_ADS_REFRESH_TOKEN"
        )

    def close(self) -> None:
        self._transport.close()


def _with_expiry(token: Token, record: GrantRecord) -> Token:
    """`token` with its record's refresh-token expiry (a loaded token never stores one)."""
    if record.refresh_expires_at is None:
        return token
    return dataclasses.replace(token, refresh_expires_at=record.refresh_expires_at)


def expiry(token: Token) -> str:
    """ "expires at 2026-12-02T10:00:00Z" (ISO 8601, UTC) for log lines."""
    when = datetime.datetime.fromtimestamp(token.expires_at, tz=datetime.timezone.utc)
    return "expires at " + when.strftime("%Y-%m-%dT%H:%M:%SZ")
