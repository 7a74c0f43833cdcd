"""amazon-ads-api (`import amazon_ads_api`, async, Python 3.12+): requests through AdsAuth.

Each of its API clients (`BaseAdsClient`) fetches tokens with its own `AsyncTokenManager`
and sends with a lazily built `httpx.AsyncClient`; both live in `__slots__` and its regions
are an enum with no base-URL override. The adapter replaces the two methods behind them,
process-wide: tokens come from AdsAuth (the SDK's token request is never made), and the
httpx client carries `auth=auth` (its headers, one replay after a 401, and the loop never
blocked by a refresh). `base_url=` points every client elsewhere (a proxy, or a test's
emulator).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

from .._errors import ConfigurationError
from ._ad_api import PLACEHOLDER
from ._patches import install

if TYPE_CHECKING:
    from .._auth.adsauth import AdsAuth


def use_with_amazon_ads_api(auth: AdsAuth, *, base_url: str | None = None) -> Callable[[], None]:
    """Make every amazon-ads-api client in this process use `auth`; returns undo. The SDK
    gets a placeholder token; AdsAuth sets the real header on Ads API hosts only.

    Raises: ConfigurationError without the SDK, or when it already serves another AdsAuth."""
    try:
        from amazon_ads_api.base import BaseAdsClient
    except ImportError:
        raise ConfigurationError(
            "use_with_amazon_ads_api needs amazon-ads-api (Python 3.12+): "
            "pip install amazon-ads-api"
        ) from None
    original_init = BaseAdsClient.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        if base_url is not None:
            self.base_url = base_url.rstrip("/")

    async def get_access_token(self: Any) -> str:
        await auth.async_ensure_token()  # refreshed here; AdsAuth sends the real header
        return PLACEHOLDER

    async def get_client(self: Any) -> httpx.AsyncClient:
        if self._client is None or self._client.is_closed:
            self._client = httpx.AsyncClient(
                auth=auth, timeout=httpx.Timeout(self.timeout, connect=10.0)
            )
        return self._client  # type: ignore[no-any-return]

    return install(
        "use_with_amazon_ads_api",
        auth,
        [
            (BaseAdsClient, "__init__", init),
            (BaseAdsClient, "_get_access_token", get_access_token),
            (BaseAdsClient, "_get_client", get_client),
        ],
        "Several advertisers of one client id share one AdsAuth (its with_profile views)",
    )
