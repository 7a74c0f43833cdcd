"""The store and token-endpoint calls for one grant, so the token manager only orchestrates.

Nothing here decides anything or holds a token: `GrantIO` knows where the grant lives (the
store and its key) and how to ask LwA for a new access token, and wraps those calls in the
rules that hold for every store: the stored refresh token is merged in (never replaced by
none) when a token without one is saved, and secrets stay in `Secret` wrappers so no frame
of a traceback shows them.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager

from .._errors import NoTokenError, StoreError
from .._lwa.messages import TokenHttpRequest, refresh_request
from .._lwa.sender import TokenTransport
from .._redact import Secret, describe_store
from .._stores.base import TokenStore, try_lock
from .._token import Token
from .decisions import NoRefreshToken, lifetime_within_margin, merge_refresh_token

logger = logging.getLogger("amazon_ads_auth")


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
    ) -> None:
        self.client_id = client_id
        self._on_new_token = on_new_token
        self._warned_short = False
        self._client_secret = client_secret
        self.store = store
        self.key = key
        self._token_url = token_url
        self._transport = transport

    def load(self) -> Token | None:
        return self.store.load(self.key)

    def lock(self) -> AbstractContextManager[None]:
        return self.store.lock(self.key)

    def try_lock(self) -> AbstractContextManager[bool]:
        return try_lock(self.store, self.key)

    def refresh(self, refresh_token: Secret, *, retry: bool = True) -> Token:
        """One refresh at the token endpoint (with retries unless `retry=False`); the answer
        keeps `refresh_token` when LwA sends none back."""
        request = refresh_request(
            self._token_url, self.client_id, self._client_secret.value, refresh_token.value
        )
        return self._transport.send(request, retry=retry).with_refresh_token(refresh_token.value)

    def exchange(self, request: TokenHttpRequest) -> Token:
        """An authorization-code exchange built by `_lwa.code_exchange_request`."""
        return self._transport.send(request)

    def save(self, token: Token) -> StoreError | None:
        """Save `token` (the stored refresh token merged in when it has none); the store's
        error is returned, not raised: a refresh that could not be saved is still good."""
        try:
            if not token.refresh_token:
                token = merge_refresh_token(token, self.store.load(self.key))
            self.store.save(self.key, token)
        except StoreError as exc:
            return exc
        return None

    def save_grant(self, token: Token) -> Token:
        """Save `token` as the grant under the key's lock and return what was saved.

        Raises: StoreError (the caller of a login or an import must know)."""
        with self.lock():
            saved = merge_refresh_token(token, self.store.load(self.key))
            self.store.save(self.key, saved)
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


def expiry(token: Token) -> str:
    """ "expires at 2026-12-02T10:00:00Z" (ISO 8601, UTC) for log lines."""
    when = datetime.datetime.fromtimestamp(token.expires_at, tz=datetime.timezone.utc)
    return "expires at " + when.strftime("%Y-%m-%dT%H:%M:%SZ")
