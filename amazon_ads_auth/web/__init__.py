"""Connect your customers' Amazon Ads accounts from a web app.

`ConsentFlow` is framework-neutral (it imports no web framework); the adapters are thin:
`amazon_ads_auth.web.starlette.consent_routes` (Starlette, FastAPI) and
`amazon_ads_auth.web.flask.consent_blueprint` (Flask). Anything else (Django, aiohttp,
Litestar) calls `begin()` and `complete()` in two views.
"""

from __future__ import annotations

from .._errors import ConsentError
from ._expiring import ExpiringTenant
from ._flow import ConsentFlow
from ._values import ConsentResult, ConsentStart

# Shown, and pickled, as amazon_ads_auth.web.ConsentFlow, not ..._flow.ConsentFlow.
for _public in (ConsentFlow, ConsentResult, ConsentStart, ExpiringTenant):
    _public.__module__ = __name__
del _public

__all__ = ["ConsentError", "ConsentFlow", "ConsentResult", "ConsentStart", "ExpiringTenant"]
