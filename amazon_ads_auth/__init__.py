"""Authentication for the Amazon Ads API that disappears into `auth=AdsAuth(...)`.

Login with Amazon tokens for requests and httpx (sync and async), kept in a pluggable store
and refreshed once, before they expire, however many threads, tasks or processes share them.

The names below load on first use (PEP 562), so `import amazon_ads_auth` costs almost
nothing and `from amazon_ads_auth import AdsAuth` loads only what AdsAuth needs; the
`amazon-ads-auth token` command can then answer from the store without requests or httpx.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# The public names, each with the private module that defines it: the one list. `__all__`,
# the lazy loading and the public `__module__` all come from it. The imports under
# TYPE_CHECKING say the same for type checkers (`X as X` marks a re-export);
# tests/test_exported_members.py keeps the two equal.
_WHERE = {
    "add_event_listener": "_refresh.events",
    "AdsAuth": "_auth.adsauth",
    "AdsAuthError": "_errors",
    "AuthorizationDeniedError": "_errors",
    "AuthorizationRequest": "_lwa.consent",
    "CallbackTokenStore": "_stores.callback",
    "check_grants": "_ops.check",
    "ConfigurationError": "_errors",
    "ConsentError": "_errors",
    "EncryptedTokenStore": "_stores.encrypted",
    "FileTokenStore": "_stores.file",
    "GrantCheck": "_ops.check",
    "GrantChecked": "_refresh.events",
    "GrantConnected": "_refresh.events",
    "GrantDisconnected": "_refresh.events",
    "GrantExpiredError": "_errors",
    "GrantExpiring": "_refresh.events",
    "GrantState": "_ops.check",
    "InvalidClientError": "_errors",
    "InvalidGrantError": "_errors",
    "KeyringTokenStore": "_stores.keyring",
    "ListableStore": "_stores.base",
    "Login": "_logins.records",
    "LoginDirectory": "_auth.directory",
    "LoginRecordStore": "_stores.base",
    "MemoryTokenStore": "_stores.base",
    "NoTokenError": "_errors",
    "open_store": "_stores.url",
    "Profile": "_logins.records",
    "ProxyAuthenticationError": "_errors",
    "RecordListingStore": "_stores.base",
    "RedisTokenStore": "_stores.redis",
    "RefreshFailed": "_refresh.events",
    "RefreshTokenPolicy": "_stores.grant",
    "Region": "_regions",
    "SQLTokenStore": "_stores.sql",
    "StateMismatchError": "_errors",
    "StoreError": "_errors",
    "Token": "_token",
    "TokenEndpointError": "_errors",
    "TokenExchanged": "_refresh.events",
    "TokenFormatError": "_errors",
    "TokenRefreshed": "_refresh.events",
    "TokenRequestError": "_errors",
    "TokenStore": "_stores.base",
    "TryLockStore": "_stores.base",
}

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from ._auth.adsauth import AdsAuth as AdsAuth
    from ._auth.directory import LoginDirectory as LoginDirectory
    from ._errors import AdsAuthError as AdsAuthError
    from ._errors import AuthorizationDeniedError as AuthorizationDeniedError
    from ._errors import ConfigurationError as ConfigurationError
    from ._errors import ConsentError as ConsentError
    from ._errors import GrantExpiredError as GrantExpiredError
    from ._errors import InvalidClientError as InvalidClientError
    from ._errors import InvalidGrantError as InvalidGrantError
    from ._errors import NoTokenError as NoTokenError
    from ._errors import ProxyAuthenticationError as ProxyAuthenticationError
    from ._errors import StateMismatchError as StateMismatchError
    from ._errors import StoreError as StoreError
    from ._errors import TokenEndpointError as TokenEndpointError
    from ._errors import TokenFormatError as TokenFormatError
    from ._errors import TokenRequestError as TokenRequestError
    from ._logins.records import Login as Login
    from ._logins.records import Profile as Profile
    from ._lwa.consent import AuthorizationRequest as AuthorizationRequest
    from ._ops.check import GrantCheck as GrantCheck
    from ._ops.check import GrantState as GrantState
    from ._ops.check import check_grants as check_grants
    from ._refresh.events import GrantChecked as GrantChecked
    from ._refresh.events import GrantConnected as GrantConnected
    from ._refresh.events import GrantDisconnected as GrantDisconnected
    from ._refresh.events import GrantExpiring as GrantExpiring
    from ._refresh.events import RefreshFailed as RefreshFailed
    from ._refresh.events import TokenExchanged as TokenExchanged
    from ._refresh.events import TokenRefreshed as TokenRefreshed
    from ._refresh.events import add_event_listener as add_event_listener
    from ._regions import Region as Region
    from ._stores.base import ListableStore as ListableStore
    from ._stores.base import LoginRecordStore as LoginRecordStore
    from ._stores.base import MemoryTokenStore as MemoryTokenStore
    from ._stores.base import RecordListingStore as RecordListingStore
    from ._stores.base import TokenStore as TokenStore
    from ._stores.base import TryLockStore as TryLockStore
    from ._stores.callback import CallbackTokenStore as CallbackTokenStore
    from ._stores.encrypted import EncryptedTokenStore as EncryptedTokenStore
    from ._stores.file import FileTokenStore as FileTokenStore
    from ._stores.grant import RefreshTokenPolicy as RefreshTokenPolicy
    from ._stores.keyring import KeyringTokenStore as KeyringTokenStore
    from ._stores.redis import RedisTokenStore as RedisTokenStore
    from ._stores.sql import SQLTokenStore as SQLTokenStore
    from ._stores.url import open_store as open_store
    from ._token import Token as Token


# Every table handed to `_export_lazily`: (package, {public name: defining module}).
_TABLES: list[tuple[str, dict[str, str]]] = []


def _export_lazily(
    package: str, where: dict[str, str]
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """`__all__`, `__getattr__` and `__dir__` for a package whose public names live in
    private modules (`where`: name -> module, within `package` or written out in full).

    A name's module is imported when the name is first asked for (PEP 562). Classes and
    functions then read as the package's (`amazon_ads_auth.AdsAuth`, in reprs, tracebacks
    and pickles) rather than as their private module's: on every first lookup in any of
    these packages, each public class or function whose module is loaded by then, however
    it was reached (a private import, the library's own imports), is given its package as
    `__module__`. A re-exported name (a module outside `package`) keeps its own. Python
    has no "after import" callback short of an import hook, so a module the library first
    loads later on its own (`open_store("file:")` loading `FileTokenStore`) reads as the
    package's from the next lookup of any public name; everything `AdsAuth`, the web flow
    or the emulator import with themselves (the errors, `Token`, `Region`, `Login`) is
    named at their own lookup.
    """
    table = {name: _absolute(module, package) for name, module in where.items()}
    _TABLES.append((package, table))
    _name_the_loaded()

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        _name_the_loaded()
        setattr(sys.modules[package], name, value)  # the next lookup skips __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *table})

    return sorted(table), __getattr__, __dir__


def _absolute(module: str, package: str) -> str:
    """`module` as an absolute name: a module of `package` is named from it (`_flow` in
    `amazon_ads_auth.web` is `amazon_ads_auth.web._flow`); a name from elsewhere in the
    library is written out in full (`amazon_ads_auth._errors`)."""
    return module if module.split(".")[0] == __name__ else f"{package}.{module}"


def _name_the_loaded() -> None:
    """Give every loaded public class and function its package as `__module__`."""
    for package, table in _TABLES:
        for name, module_name in table.items():
            module = sys.modules.get(module_name)
            if module is None or not module_name.startswith(package + "."):
                continue
            value = getattr(module, name, None)  # None while its module is still loading
            if isinstance(value, (type, types.FunctionType)) and value.__module__ == module_name:
                value.__module__ = package
            if isinstance(value, type):  # and its twins (AdsAuth's httpx2 class: _auth/compat)
                twins: list[type] = value.__subclasses__()
                for twin in twins:
                    if twin.__qualname__ == value.__qualname__ and twin.__module__ == module_name:
                        twin.__module__ = package


__all__, __getattr__, __dir__ = _export_lazily(__name__, _WHERE)
