"""Connect your customers' Amazon Ads accounts from a web app.

`ConsentFlow` is framework-neutral (it imports no web framework); the adapters are thin:
`amazon_ads_auth.web.starlette.consent_routes` (Starlette, FastAPI) and
`amazon_ads_auth.web.flask.consent_blueprint` (Flask). Anything else (Django, aiohttp,
Litestar) calls `begin()` and `complete()` in two views, and shows the `ConsentPage` of
`page_for_error()` with `render_default_page()` or its own template.
"""

from __future__ import annotations

from .._errors import ConsentError
from ._flow import ConsentFlow
from ._pages import connected_page, not_signed_in_page, page_for_error, render_default_page
from ._values import ANY_TENANT, AnyTenant, ConsentPage, ConsentResult, ConsentStart

# Shown, and pickled, as amazon_ads_auth.web.ConsentFlow, not ..._flow.ConsentFlow.
for _public in (
    AnyTenant,
    ConsentFlow,
    ConsentPage,
    ConsentResult,
    ConsentStart,
    connected_page,
    not_signed_in_page,
    page_for_error,
    render_default_page,
):
    _public.__module__ = __name__
del _public

__all__ = [
    "ANY_TENANT",
    "AnyTenant",
    "ConsentError",
    "ConsentFlow",
    "ConsentPage",
    "ConsentResult",
    "ConsentStart",
    "connected_page",
    "not_signed_in_page",
    "page_for_error",
    "render_default_page",
]
