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
    from ._auth import AdsAuth
    from ._callback_store import CallbackTokenStore
    from ._consent import AuthorizationRequest
    from ._directory import LoginDirectory
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
    from ._file_store import FileTokenStore
    from ._keyring_store import KeyringTokenStore
    from ._logins import Login, Profile
    from ._open_store import open_store
    from ._redis_store import RedisTokenStore
    from ._regions import Region
    from ._store import MemoryTokenStore, TokenStore
    from ._token import Token

# Where each public name lives.
_WHERE = {
    "AdsAuth": "_auth",
    "CallbackTokenStore": "_callback_store",
    "AuthorizationRequest": "_consent",
    "LoginDirectory": "_directory",
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
    "FileTokenStore": "_file_store",
    "KeyringTokenStore": "_keyring_store",
    "Login": "_logins",
    "Profile": "_logins",
    "open_store": "_open_store",
    "RedisTokenStore": "_redis_store",
    "Region": "_regions",
    "MemoryTokenStore": "_store",
    "TokenStore": "_store",
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
