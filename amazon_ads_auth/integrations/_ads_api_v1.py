"""amazon-ads-api-v1 (`import ads_api`, Python 3.13+): requests through an AdsAuth.

The SDK sends with one httpx.Client per `ClientContext` and fetches tokens itself when given
a refresh token. Built with `ads_api_v1_config(auth)` (a placeholder access token and no
refresh token) it never fetches one; `use_with_ads_api_v1(auth, client)` gives its context an
httpx.Client with `auth=auth`, which sets the real Authorization header and replays once
after a 401. Its public `endpoints=` override sets the base URL. The client slot is private
(`ClientContext._client`): the SDK offers no public way to pass an httpx auth.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

from .._errors import ConfigurationError
from ._ad_api import PLACEHOLDER

if TYPE_CHECKING:
    from .._auth.adsauth import AdsAuth


def ads_api_v1_config(auth: AdsAuth, **settings: Any) -> Any:
    """An `AmazonAdsConfig` for a client driven by `auth` (no secret in it)."""
    try:
        from ads_api.config.settings import AmazonAdsConfig
    except ImportError:
        raise ConfigurationError(
            "ads_api_v1_config needs amazon-ads-api-v1 (Python 3.13+): "
            "pip install amazon-ads-api-v1"
        ) from None
    settings.setdefault("profile_id", auth.profile_id)
    settings.setdefault("account_id", auth.account_id)
    return AmazonAdsConfig(client_id=auth.client_id, access_token=PLACEHOLDER, **settings)


def use_with_ads_api_v1(auth: AdsAuth, client: Any) -> Callable[[], None]:
    """Send every request of `client` (an AdsClient, AdsClientV0/V1 or ClientContext)
    through `auth`; returns undo, which puts the client's own httpx client back while
    ours is still the one in place.

    Raises: ConfigurationError when the client fetches its own tokens, or already goes
    through another AdsAuth (build one client per AdsAuth: it is per client here)."""
    context = getattr(client, "context", None) or getattr(client, "_ctx", None) or client
    config = context.config
    if getattr(config, "_token_manager", None) is not None:
        raise ConfigurationError(
            "this client fetches its own tokens: build its config with ads_api_v1_config(auth)"
        )
    current = context._client
    serving = getattr(current, "auth", None)
    if current is not None and isinstance(serving, type(auth)) and serving is not auth:
        raise ConfigurationError(
            "this client already sends through another AdsAuth: build one client per "
            "AdsAuth (ads_api_v1_config(auth) and use_with_ads_api_v1(auth, client))"
        )
    ours = httpx.Client(base_url=config.base_url, timeout=httpx.Timeout(config.timeout), auth=auth)
    context._client = ours

    def undo() -> None:
        if context._client is ours:
            context._client = current
            ours.close()

    return undo
