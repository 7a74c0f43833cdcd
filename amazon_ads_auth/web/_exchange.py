"""The code exchange of a consent, raised from here without the frames below it.

Below this call the PKCE verifier and the client secret are plain arguments (of
`fetch_token`, the token request, oauthlib): an error tracker that captures frame locals
would find them in the traceback of any failure. So a failure is raised again from here,
with no traceback below and no chained errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._errors import InvalidGrantError
from .._redact import Secret

if TYPE_CHECKING:
    from .._auth.adsauth import AdsAuth
    from .._token import Token


def exchange_code(auth: AdsAuth, code: str, redirect_uri: str, verifier: Secret) -> Token:
    """The code exchange. A failure is raised from here, without the frames below (where
    the verifier and the client secret are arguments) and without their chained errors,
    so an error tracker that captures frame locals finds no secret."""
    failure: Exception | None = None
    try:
        return auth.fetch_token(code=code, redirect_uri=redirect_uri, code_verifier=verifier.value)
    except InvalidGrantError as exc:
        failure = InvalidGrantError(
            "Amazon refused the authorization code: it expired or was already used "
            "(codes live 5 minutes and work once); start again from Connect",
            error=exc.error,
            description=exc.description,
            status_code=exc.status_code,
            grant_type=exc.grant_type,
        )
    except Exception as exc:  # a store's own error too: its frames below hold the verifier
        failure = exc.with_traceback(None)
        failure.__cause__ = failure.__context__ = None
    assert failure is not None
    raise failure
