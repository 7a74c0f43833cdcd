"""Connect your customers' Amazon Ads accounts from a web app.

`ConsentFlow` is framework-neutral (it imports no web framework); the adapters are thin:
`amazon_ads_auth.web.starlette.consent_routes` (Starlette, FastAPI) and
`amazon_ads_auth.web.flask.consent_blueprint` (Flask). Anything else (Django, aiohttp,
Litestar) calls `begin()` and `complete()` in two views.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import _export_lazily

# ConsentError is the library's (it reads as amazon_ads_auth.ConsentError), re-exported here.
_WHERE = {
    "ConsentError": "amazon_ads_auth._errors",
    "ConsentFlow": "_flow",
    "ConsentResult": "_values",
    "ConsentStart": "_values",
}

if TYPE_CHECKING:
    from .._errors import ConsentError as ConsentError
    from ._flow import ConsentFlow as ConsentFlow
    from ._values import ConsentResult as ConsentResult
    from ._values import ConsentStart as ConsentStart

__all__, __getattr__, __dir__ = _export_lazily(__name__, _WHERE)
