"""What `AdsAuth.from_login()` and `AdsAuth.from_env()` decide: the constructor arguments,
from keyword arguments, AMAZON_ADS_* variables and the stored logins (see `_resolve`).

Demo logins (made with `--emulator`) are used only when asked for with `demo=True`, as
`Sandbox.login_kwargs()` does; otherwise they are invisible, whatever store they are in.
"""

from __future__ import annotations

from typing import Any

from ._logins import default_store, load_logins
from ._resolve import Given, LoginLookup, MakeAuth
from ._settings import env_kwargs, require_client
from ._store import ListableStore, TokenStore


def login_settings(
    store: TokenStore | None, arguments: dict[str, Any], make_auth: MakeAuth
) -> tuple[dict[str, Any], str | None]:
    """The settings of the login `arguments` mean, and the profile id to view it with.

    Raises: NoTokenError when there is no login; ConfigurationError when the choice is
    ambiguous, no login owns the profile, or no client secret is known."""
    demo = bool(arguments.pop("demo", False))
    given = Given.from_arguments({k: v for k, v in arguments.items() if v is not None})
    lookup = LoginLookup(store, make_auth, given, demo=demo)
    return lookup.settings(lookup.find()), given.profile_id


def env_settings(overrides: dict[str, Any]) -> tuple[dict[str, Any], TokenStore | None]:
    """`from_env`'s arguments: with a refresh token (or a client id that has no stored
    login) the constructor's arguments and None; otherwise `from_login`'s and its store.

    Raises: ConfigurationError for a missing client id or secret."""
    kwargs = env_kwargs(overrides)
    if kwargs.get("refresh_token"):
        return require_client(kwargs), None
    store = kwargs.get("store") or default_store()  # opened once, for both uses below
    client_id = kwargs.get("client_id")
    if client_id and not has_login(store, client_id):
        # A client with no login yet: its first use says to run `amazon-ads-auth login`.
        return require_client(kwargs), None
    return {k: v for k, v in kwargs.items() if k not in ("refresh_token", "store")}, store


def has_login(store: TokenStore, client_id: str) -> bool:
    """Whether `store` holds a real (not demo) login of `client_id` (False for a store that
    cannot list)."""
    if not isinstance(store, ListableStore):
        return False
    if not any(key.partition("/")[0] == client_id for key in store.keys()):
        return False
    return any(x.client_id == client_id and not x.demo for x in load_logins(store))
