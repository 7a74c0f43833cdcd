"""Connect your customers' Amazon Ads accounts from a web app.

`ConsentFlow` is framework-neutral (it imports no web framework); the adapters are thin:
`amazon_ads_auth.web.starlette.consent_routes` (Starlette, FastAPI) and
`amazon_ads_auth.web.flask.consent_blueprint` (Flask). Anything else (Django, aiohttp,
Litestar) calls `begin()` and `complete()` in two views, and shows the `ConsentPage` of
`page_for_error()` with `render_default_page()` or its own template.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import _export_lazily

# ConsentError is the library's (it reads as amazon_ads_auth.ConsentError), re-exported here.
_WHERE = {
    "ANY_TENANT": "_values",
    "AnyTenant": "_values",
    "ConsentError": "amazon_ads_auth._errors",
    "ConsentFlow": "_flow",
    "ConsentPage": "_values",
    "ConsentResult": "_values",
    "ConsentStart": "_values",
    "ExpiringTenant": "_expiring",
    "connected_page": "_pages",
    "not_signed_in_page": "_pages",
    "page_for_error": "_pages",
    "render_default_page": "_pages",
}

if TYPE_CHECKING:
    from .._errors import ConsentError as ConsentError
    from ._expiring import ExpiringTenant as ExpiringTenant
    from ._flow import ConsentFlow as ConsentFlow
    from ._pages import connected_page as connected_page
    from ._pages import not_signed_in_page as not_signed_in_page
    from ._pages import page_for_error as page_for_error
    from ._pages import render_default_page as render_default_page
    from ._values import ANY_TENANT as ANY_TENANT
    from ._values import AnyTenant as AnyTenant
    from ._values import ConsentPage as ConsentPage
    from ._values import ConsentResult as ConsentResult
    from ._values import ConsentStart as ConsentStart

__all__, __getattr__, __dir__ = _export_lazily(__name__, _WHERE)
