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
from ._patches import install

if TYPE_CHECKING:
    from .._auth.adsauth import AdsAuth

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
    """Make every python-amazon-ad-api client in this process use `auth`; returns undo.

    The SDK is handed a placeholder as its access token: AdsAuth sets the real header on
    Ads API hosts only, and the placeholder is dropped from requests to anything else (a
    report's pre-signed S3 URL), so the token never leaves for S3 or the SDK's logs.

    Raises: ConfigurationError without the SDK, or when it already serves another AdsAuth
    (it is patched process-wide: run one process per advertiser, or use the SDK's clients
    of one login only)."""
    try:
        import ad_api.base.client as client_module
        from ad_api.auth import access_token_client
        from ad_api.auth.access_token_response import AccessTokenResponse
    except ImportError:
        raise ConfigurationError(
            "use_with_ad_api needs python-amazon-ad-api: pip install python-amazon-ad-api"
        ) from None
    placeholder = f"Bearer {PLACEHOLDER}"

    def request(method: str, url: str, **kwargs: Any) -> requests.Response:
        if auth.sends_token_to(url):
            kwargs["auth"] = auth
        else:  # not an Ads API host: no placeholder (nor token) goes there
            headers = dict(kwargs.get("headers") or {})
            for name in [n for n, v in headers.items() if n.lower() == "authorization"]:
                if headers[name] == placeholder:
                    del headers[name]
            kwargs["headers"] = headers
        return requests.request(method, url, **kwargs)  # noqa: S113 - the SDK passes timeout

    class _Requests:
        """What the SDK's client module sees as `requests`: its downloads go through
        `request` above; everything else is the real module."""

        def __getattr__(self, name: str) -> Any:
            return getattr(requests, name)

        def get(self, url: str, **kwargs: Any) -> requests.Response:
            return request("GET", url, **kwargs)

    def get_auth(self: Any) -> Any:
        auth.ensure_token()  # refreshed here, once for all threads; sent by AdsAuth
        return AccessTokenResponse(access_token=PLACEHOLDER)

    return install(
        "use_with_ad_api",
        auth,
        [
            (client_module, "request", request),
            (client_module, "requests", _Requests()),
            (access_token_client.AccessTokenClient, "get_auth", get_auth),
        ],
        "Several advertisers of one client id share one AdsAuth: pass each client "
        "ad_api_credentials(auth, profile_id=...)",
    )
