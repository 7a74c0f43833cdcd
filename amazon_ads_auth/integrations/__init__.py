"""Making Ads SDKs that fetch their own tokens use an AdsAuth instead.

Each adapter makes the SDK's token source ask AdsAuth (single flight, the shared store)
rather than Login with Amazon, and sends the SDK's requests through AdsAuth (its headers,
one replay after a 401). The SDK is only ever handed a placeholder as its token. Installed
with one call; each returns a function that undoes it (safe in any order), and a
process-wide adapter serves one AdsAuth: a second install for another is refused.
"""

from __future__ import annotations

from ._ad_api import PLACEHOLDER, ad_api_credentials, use_with_ad_api
from ._ads_api_v1 import ads_api_v1_config, use_with_ads_api_v1
from ._amazon_ads_api import use_with_amazon_ads_api

__all__ = [
    "PLACEHOLDER",
    "ad_api_credentials",
    "ads_api_v1_config",
    "use_with_ad_api",
    "use_with_ads_api_v1",
    "use_with_amazon_ads_api",
]
