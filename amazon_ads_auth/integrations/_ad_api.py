"""python-amazon-ad-api (`import ad_api`): every request through an AdsAuth.

The SDK has no `auth=`, session or token-provider parameter: each client fetches tokens with
its own `AccessTokenClient` (a module-level cache with a fixed 3200 s lifetime, always
api.amazon.com, no lock) and sends with the module-level `requests.request`. The adapter
replaces those two seams, process-wide: the token client asks AdsAuth, and requests go
through `requests.request(..., auth=auth)`, which adds AdsAuth's headers and replays once
after a 401. Credentials still have to satisfy the SDK's checks: `ad_api_credentials(auth)`
gives a dict whose secret fields are placeholders, since AdsAuth holds the real ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import requests

from .._errors import ConfigurationError

if TYPE_CHECKING:
    from .._auth import AdsAuth

PLACEHOLDER = "held-by-amazon-ads-auth"


def ad_api_credentials(auth: AdsAuth, profile_id: int | str | None = None) -> dict[str, str]:
    """`credentials=` for an ad_api client driven by `auth` (no real secret in it)."""
    credentials = {
        "client_id": auth.client_id,
        "client_secret": PLACEHOLDER,
        "refresh_token": PLACEHOLDER,
    }
    chosen = profile_id if profile_id is not None else auth.profile_id
    if chosen is not None:
        credentials["profile_id"] = str(chosen)
    return credentials


def use_with_ad_api(auth: AdsAuth) -> Callable[[], None]:
    """Make every python-amazon-ad-api client in this process use `auth`; returns undo."""
    try:
        import ad_api.base.client as client_module
        from ad_api.auth import access_token_client
        from ad_api.auth.access_token_response import AccessTokenResponse
    except ImportError:
        raise ConfigurationError(
            "use_with_ad_api needs python-amazon-ad-api: pip install python-amazon-ad-api"
        ) from None
    token_client = access_token_client.AccessTokenClient
    original_request = client_module.request
    original_get_auth = token_client.get_auth

    def request(method: str, url: str, **kwargs: Any) -> requests.Response:
        kwargs["auth"] = auth
        return requests.request(method, url, **kwargs)  # noqa: S113 - the SDK passes timeout

    def get_auth(self: Any) -> Any:
        return AccessTokenResponse(access_token=auth.ensure_token().access_token)

    client_module.request = request
    token_client.get_auth = get_auth

    def undo() -> None:
        client_module.request = original_request
        token_client.get_auth = original_get_auth

    return undo
