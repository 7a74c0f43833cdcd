"""What `AdsAuth.from_login()` and `AdsAuth.from_env()` decide: the constructor arguments,
from keyword arguments, AMAZON_ADS_* variables and the stored logins (see `_resolve`).

Demo logins (made with `--emulator`) are used only when asked for with `demo=True`, as
`Sandbox.login_kwargs()` does; otherwise they are invisible, whatever store they are in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from .._auth.settings import env_kwargs, require_client
from .._stores.base import ListableStore, TokenStore
from .records import default_store
from .resolve import Given, LoginLookup


class _Viewable(Protocol):
    def with_profile(self: _A, profile_id: int | str | None) -> _A: ...


_A = TypeVar("_A", bound=_Viewable)


def login_lookup(
    store: TokenStore | None, arguments: dict[str, Any], make: Callable[..., Any]
) -> LoginLookup:
    """The stored logins `arguments` choose among (`demo=True`: the demo ones only); `make`
    builds an auth from settings, for asking the Ads API for profiles."""
    arguments = dict(arguments)
    demo = bool(arguments.pop("demo", False))
    given = Given.from_arguments({k: v for k, v in arguments.items() if v is not None})
    return LoginLookup(store, lambda settings: make(**settings), given, demo=demo)


def auth_of(lookup: LoginLookup, make: Callable[..., _A]) -> _A:
    """The auth of the login `lookup` means, viewed with the profile given, if any.

    Raises: NoTokenError when there is no login; ConfigurationError when the choice is
    ambiguous, no login owns the profile, or no client secret is known."""
    auth = make(**lookup.settings(lookup.find()))
    profile = lookup.given.profile_id
    return auth.with_profile(profile) if profile is not None else auth


def env_settings(
    overrides: dict[str, Any], make: Callable[..., Any]
) -> tuple[dict[str, Any], LoginLookup | None]:
    """`from_env`'s choice: with a refresh token (or a client id that has no stored login)
    the constructor's arguments and None; otherwise `from_login`'s arguments and the lookup
    of the stored logins, read once for both the check and the choice.

    Raises: ConfigurationError for a missing client id or secret."""
    kwargs = env_kwargs(overrides)
    if kwargs.get("refresh_token"):
        return require_client(kwargs), None
    store = kwargs.get("store") or default_store()
    settings = {k: v for k, v in kwargs.items() if k not in ("refresh_token", "store")}
    lookup = login_lookup(store, settings, make)
    client_id = kwargs.get("client_id")
    if client_id and not has_login(lookup, client_id):
        # A client with no login yet: its first use says to run `amazon-ads-auth login`.
        return require_client(kwargs), None
    return settings, lookup


def has_login(lookup: LoginLookup, client_id: str) -> bool:
    """Whether the lookup's store holds a real (not demo) login of `client_id` (False for
    a store that cannot list)."""
    if not isinstance(lookup.store, ListableStore):
        return False
    return any(x.client_id == client_id for x in lookup.logins())
