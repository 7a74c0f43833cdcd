"""The authorization-code grant on AdsAuth: a consent URL, then the code exchange.

A mixin, so that AdsAuth itself stays the adapter; it uses the object's client id, secret,
URLs and token manager.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ._lwa import (
    DEFAULT_SCOPE,
    AuthorizationRequest,
    build_authorization_request,
    code_exchange_request,
)
from ._token import Token

if TYPE_CHECKING:
    from ._manager import TokenManager


class AuthorizationCodeGrant:
    """`authorization_request(...)` and `fetch_token(...)` for AdsAuth."""

    client_id: str
    _client_secret: str
    _token_url: str
    _authorization_url: str
    _manager: TokenManager

    def authorization_request(
        self,
        redirect_uri: str,
        *,
        scope: str | Iterable[str] = DEFAULT_SCOPE,
        pkce: bool = True,
    ) -> AuthorizationRequest:
        """A consent URL for the user to open, with fresh `state` and (default) PKCE S256."""
        scopes = scope if isinstance(scope, str) else list(scope)
        return build_authorization_request(
            self._authorization_url, self.client_id, redirect_uri, scopes, pkce=pkce
        )

    def fetch_token(
        self,
        *,
        authorization_response: str | None = None,
        request: AuthorizationRequest | None = None,
        code: str | None = None,
        redirect_uri: str | None = None,
        code_verifier: str | None = None,
    ) -> Token:
        """Exchange an authorization code for tokens and store them under this store key.

        Either `authorization_response` (the URL the browser was redirected to) with the
        `request` that made the consent URL, or a bare `code` with its `redirect_uri`.
        Codes live 5 minutes and work once.
        """
        return self._manager.save_new_grant(
            code_exchange_request(
                self._token_url,
                self.client_id,
                self._client_secret,
                authorization_response=authorization_response,
                request=request,
                code=code,
                redirect_uri=redirect_uri,
                code_verifier=code_verifier,
            )
        )
