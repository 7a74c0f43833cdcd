"""Authentication for the Amazon Ads API that disappears into `auth=AdsAuth(...)`.

Login with Amazon tokens for requests and httpx (sync and async), kept in a pluggable store
and refreshed once, before they expire, however many threads, tasks or processes share them.

The names below load on first use (PEP 562), so `import amazon_ads_auth` costs almost
nothing and `from amazon_ads_auth import AdsAuth` loads only what AdsAuth needs; the
`amazon-ads-auth token` command can then answer from the store without requests or httpx.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._auth.adsauth import AdsAuth
    from ._auth.directory import LoginDirectory
    from ._errors import (
        AdsAuthError,
        AuthorizationDeniedError,
        ConfigurationError,
        ConsentError,
        InvalidClientError,
        InvalidGrantError,
        NoTokenError,
        ProxyAuthenticationError,
        StateMismatchError,
        StoreError,
        TokenEndpointError,
        TokenFormatError,
        TokenRequestError,
    )
    from ._logins.records import Login, Profile
    from ._lwa.consent import AuthorizationRequest
    from ._regions import Region
    from ._stores.base import MemoryTokenStore, TokenStore
    from ._stores.callback import CallbackTokenStore
    from ._stores.file import FileTokenStore
    from ._stores.keyring import KeyringTokenStore
    from ._stores.redis import RedisTokenStore
    from ._stores.url import open_store
    from ._token import Token

# Where each public name lives.
_WHERE = {
    "AdsAuth": "_auth.adsauth",
    "CallbackTokenStore": "_stores.callback",
    "AuthorizationRequest": "_lwa.consent",
    "LoginDirectory": "_auth.directory",
    "AdsAuthError": "_errors",
    "AuthorizationDeniedError": "_errors",
    "ConfigurationError": "_errors",
    "InvalidClientError": "_errors",
    "InvalidGrantError": "_errors",
    "NoTokenError": "_errors",
    "ProxyAuthenticationError": "_errors",
    "StateMismatchError": "_errors",
    "ConsentError": "_errors",
    "StoreError": "_errors",
    "TokenEndpointError": "_errors",
    "TokenFormatError": "_errors",
    "TokenRequestError": "_errors",
    "FileTokenStore": "_stores.file",
    "KeyringTokenStore": "_stores.keyring",
    "Login": "_logins.records",
    "Profile": "_logins.records",
    "open_store": "_stores.url",
    "RedisTokenStore": "_stores.redis",
    "Region": "_regions",
    "MemoryTokenStore": "_stores.base",
    "TokenStore": "_stores.base",
    "Token": "_token",
}

__all__ = [
    "AdsAuth",
    "AdsAuthError",
    "AuthorizationDeniedError",
    "AuthorizationRequest",
    "CallbackTokenStore",
    "ConfigurationError",
    "ConsentError",
    "FileTokenStore",
    "InvalidClientError",
    "InvalidGrantError",
    "KeyringTokenStore",
    "Login",
    "LoginDirectory",
    "MemoryTokenStore",
    "NoTokenError",
    "Profile",
    "ProxyAuthenticationError",
    "RedisTokenStore",
    "Region",
    "StateMismatchError",
    "StoreError",
    "Token",
    "TokenEndpointError",
    "TokenFormatError",
    "TokenRequestError",
    "TokenStore",
    "open_store",
]

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use, and keep it here."""
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{where}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
