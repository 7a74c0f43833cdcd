"""Authentication for the Amazon Ads API that disappears into `auth=AdsAuth(...)`.

Login with Amazon tokens for requests and httpx (sync and async), kept in a pluggable store
and refreshed once, before they expire, however many threads, tasks or processes share them.
"""

from __future__ import annotations

from ._auth import AdsAuth
from ._errors import (
    AdsAuthError,
    AuthorizationDeniedError,
    ConfigurationError,
    InvalidClientError,
    InvalidGrantError,
    NoTokenError,
    StateMismatchError,
    StoreError,
    TokenEndpointError,
    TokenFormatError,
    TokenRequestError,
)
from ._lwa import AuthorizationRequest
from ._regions import Region
from ._store import MemoryTokenStore, TokenStore
from ._token import Token

__all__ = [
    "AdsAuth",
    "AdsAuthError",
    "AuthorizationDeniedError",
    "AuthorizationRequest",
    "ConfigurationError",
    "InvalidClientError",
    "InvalidGrantError",
    "MemoryTokenStore",
    "NoTokenError",
    "Region",
    "StateMismatchError",
    "StoreError",
    "Token",
    "TokenEndpointError",
    "TokenFormatError",
    "TokenRequestError",
    "TokenStore",
]

__version__ = "0.1.0"
