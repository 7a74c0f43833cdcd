"""Moving from requests-oauthlib (or Authlib) without logging in again.

Their sessions keep a token dict (`access_token`, `refresh_token`, `expires_at`, ...) and
the refresh settings; `settings_from_oauth2_session` turns one into AdsAuth's keyword
arguments and the token to start from (a still-valid access token costs no token request),
with an `on_new_token` that keeps handing every new token to the session's
`token_updater`, so the user's own persistence goes on working during the move.
"""

from __future__ import annotations

from typing import Any

from .._errors import ConfigurationError
from .._token import Token


def settings_from_oauth2_session(session: Any, **overrides: Any) -> tuple[dict[str, Any], Token]:
    """AdsAuth keyword arguments and the starting token from a
    `requests_oauthlib.OAuth2Session`: its client id, token, `auto_refresh_url` (as
    `token_url`) and the client secret in `auto_refresh_kwargs`; `overrides` win.

    Raises: ConfigurationError when the session has no token or no client secret."""
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
    updater = getattr(session, "token_updater", None)
    if callable(updater):
        settings["on_new_token"] = lambda new: updater(new.to_oauth2_dict())
    settings.update(overrides)
    if not settings.get("client_secret"):
        raise ConfigurationError(
            "the session has no client_secret in auto_refresh_kwargs: pass client_secret="
        )
    return settings, Token.from_oauth2_dict(token_data)
