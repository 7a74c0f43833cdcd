"""Making Ads SDKs that fetch their own tokens use an AdsAuth instead.

Each adapter makes the SDK's token source ask AdsAuth (single flight, the shared store)
rather than Login with Amazon, and sends the SDK's requests through AdsAuth (its headers,
one replay after a 401). The SDK is only ever handed a placeholder as its token. Installed
with one call; each returns a function that undoes it (safe in any order), and a
process-wide adapter serves one AdsAuth: a second install for another is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import _export_lazily

_WHERE = {
    "PLACEHOLDER": "_ad_api",
    "ad_api_credentials": "_ad_api",
    "ads_api_v1_config": "_ads_api_v1",
    "use_with_ad_api": "_ad_api",
    "use_with_ads_api_v1": "_ads_api_v1",
    "use_with_amazon_ads_api": "_amazon_ads_api",
}

if TYPE_CHECKING:
    from ._ad_api import PLACEHOLDER as PLACEHOLDER
    from ._ad_api import ad_api_credentials as ad_api_credentials
    from ._ad_api import use_with_ad_api as use_with_ad_api
    from ._ads_api_v1 import ads_api_v1_config as ads_api_v1_config
    from ._ads_api_v1 import use_with_ads_api_v1 as use_with_ads_api_v1
    from ._amazon_ads_api import use_with_amazon_ads_api as use_with_amazon_ads_api

__all__, __getattr__, __dir__ = _export_lazily(__name__, _WHERE)
