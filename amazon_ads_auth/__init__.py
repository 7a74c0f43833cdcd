"""Authentication for the Amazon Ads API that disappears into `auth=AdsAuth(...)`.

Login with Amazon tokens for requests and httpx (sync and async), kept in a pluggable store
and refreshed once, before they expire, however many threads, tasks or processes share them.
"""

from __future__ import annotations

from ._auth import AdsAuth
from ._callback_store import CallbackTokenStore
from ._consent import AuthorizationRequest
from ._directory import LoginDirectory
from ._errors import (
    AdsAuthError,
    AuthorizationDeniedError,
    ConfigurationError,
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

__all__ = [
    "AdsAuth",
    "AdsAuthError",
    "AuthorizationDeniedError",
    "AuthorizationRequest",
    "CallbackTokenStore",
    "ConfigurationError",
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

# Public classes show the package in reprs and tracebacks (amazon_ads_auth.AdsAuth, not
# amazon_ads_auth._auth.AdsAuth); pickle finds them here by the same name.
for _name in __all__:
    _public = globals()[_name]
    if isinstance(_public, type):
        _public.__module__ = __name__
del _name, _public
