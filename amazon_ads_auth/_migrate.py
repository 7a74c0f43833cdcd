"""Moving from requests-oauthlib (or Authlib) without logging in again.

Their sessions keep a token dict (`access_token`, `refresh_token`, `expires_at`, ...) and
the refresh settings; `auth_from_oauth2_session` turns one into an AdsAuth whose store starts
with that token (a still-valid access token costs no token request), and keeps handing every
new token to the session's `token_updater`, so the user's own persistence goes on working
during the move.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._errors import ConfigurationError
from ._token import Token

if TYPE_CHECKING:
    from ._auth import AdsAuth


def auth_from_oauth2_session(session: Any, **overrides: Any) -> AdsAuth:
    """An AdsAuth from a `requests_oauthlib.OAuth2Session`: its client id, token,
    `auto_refresh_url` (as `token_url`) and the client secret in `auto_refresh_kwargs`;
    keyword arguments as in the constructor override them."""
    from ._auth import AdsAuth

    token_data = getattr(session, "token", None)
    if not isinstance(token_data, dict) or not token_data.get("access_token"):
        raise ConfigurationError(
            "the session holds no token: fetch one with it first, or log in with "
            "`amazon-ads-auth login`"
        )
    refresh_kwargs = getattr(session, "auto_refresh_kwargs", None) or {}
    settings: dict[str, Any] = {
        "client_id": getattr(session, "client_id", None) or refresh_kwargs.get("client_id"),
        "client_secret": refresh_kwargs.get("client_secret"),
    }
    if getattr(session, "auto_refresh_url", None):
        settings["token_url"] = session.auto_refresh_url
    settings.update(overrides)
    if not settings.get("client_secret"):
        raise ConfigurationError(
            "the session has no client_secret in auto_refresh_kwargs: pass client_secret="
        )
    token = Token.from_oauth2_dict(token_data)
    auth = AdsAuth(settings.pop("client_id"), settings.pop("client_secret"), **settings)
    updater = getattr(session, "token_updater", None)
    if callable(updater):
        auth._manager.on_new_token = lambda new: updater(new.to_oauth2_dict())
    auth.import_token(token)
    return auth
