"""The httpx (and httpx2) side of a 401: was it ours, and can the request be replayed.

The flows in `_auth` call these after the response to the request they authorized comes
back; the client sends the response into the flow before reading its body, so nothing here
reads one.
"""

from __future__ import annotations

from typing import Any, Protocol

from .._refresh.manager import TokenManager
from .._token import Token


class HttpxRequest(Protocol):
    """What the flow needs of an httpx-style request (httpx and httpx2 alike)."""

    @property
    def url(self) -> Any: ...
    @property
    def headers(self) -> Any: ...
    @property
    def content(self) -> bytes: ...


def rejected(response: Any, header: str) -> bool:
    """A 401 to the request we authorized (not, say, to a redirect target)."""
    return bool(
        response.status_code == 401 and response.request.headers.get("Authorization") == header
    )


def prepare_replay(request: HttpxRequest, header: str, token: Token) -> bool:
    """Point the request at the new token; False when there is nothing to replay."""
    if token.access_token == header[7:]:
        return False  # no new token (a refresh just proved these 401s are not its fault)
    if not replayable(request):
        return False  # a streamed body cannot be sent twice: the caller gets the 401
    request.headers["Authorization"] = "Bearer " + token.access_token
    return True


def after_replay(response: Any, manager: TokenManager, token: Token, scope: str | None) -> None:
    """A replay that got 401 again: the token was not the problem, for this scope."""
    if response.status_code == 401:
        manager.note_refresh_did_not_help(token.access_token, scope)


def replayable(request: HttpxRequest) -> bool:
    """True when the request body is in memory (httpx raises RequestNotRead for streams)."""
    try:
        request.content  # noqa: B018
    except Exception:  # httpx.RequestNotRead, or httpx2's own class of it
        return False
    return True
