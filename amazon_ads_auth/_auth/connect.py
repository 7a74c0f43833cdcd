"""A code exchange that ends in one write: the grant and its whole record, or nothing.

`amazon-ads-auth login` and `ConsentFlow.complete()` exchange the code and ask the Ads API
for the profiles with the new token kept in memory only, then save token, login record and
consent time in one store operation under the key's lock. If the exchange or the save
fails, nothing is saved and the previous grant is untouched; if only the profiles cannot be
fetched, the grant is saved whole with its profiles marked unknown, and the caller is told.
Two completions for one key leave the later one, whole.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from .._errors import AdsAuthError, StoreError
from .._logins.profiles import fetch_profiles
from .._logins.records import Login
from .._redact import Secret, printable
from .._stores.base import MemoryTokenStore, TokenStore
from .._stores.grant import new_grant, read_grant, write_grant
from .._token import Token
from .adsauth import AdsAuth


@dataclasses.dataclass(frozen=True)
class Connected:
    """A saved grant: its login (profiles filled in, or marked unknown), its token, and the
    error that kept the profiles unknown (None when they were fetched or not asked for)."""

    login: Login
    token: Token
    profiles_error: AdsAuthError | None = None


def connect(
    settings: dict[str, Any],
    exchange: Callable[[AdsAuth], Token],
    login: Login,
    store: TokenStore,
    *,
    api_url: str,
    fetch: bool = True,
    consented_at: float | None = None,
) -> Connected:
    """Exchange (with `exchange(auth)`, on an AdsAuth made from `settings` over a store in
    memory), fetch the profiles unless `fetch` is False (then `login`'s are kept), then
    save the whole grant of `login.key` in `store` in one write under its lock.
    `consented_at` is for a grant issued without an exchange (the emulator's demo login):
    its consent time.

    Raises: what the exchange raises (nothing saved); StoreError when the save fails
    (nothing saved)."""
    scratch = MemoryTokenStore()
    auth = AdsAuth(**_unwrapped(settings), store=scratch, store_key=login.store_key)
    error: AdsAuthError | None = None
    try:
        token = exchange(auth)
        if fetch:
            try:
                login = login.with_profiles(fetch_profiles(auth, api_url))
            except AdsAuthError as exc:
                login, error = login.without_profiles(), exc
        record = read_grant(scratch, login.key)
    finally:
        auth.close()
    if record is None:  # the exchange saved it in memory a moment ago
        raise StoreError(f"the new grant of {printable(login.key)!r} was lost before saving")
    if consented_at is not None:
        record = new_grant(record.token, None, consented_at=consented_at)
    whole = dataclasses.replace(record, login=login.to_record())
    with store.lock(login.key):
        write_grant(store, login.key, whole)
    return Connected(login=login, token=token, profiles_error=error)


def _unwrapped(settings: dict[str, Any]) -> dict[str, Any]:
    """`settings` with a `Secret` client secret as its text (a caller keeps the secret
    wrapped, so no frame local of its holds the plain value)."""
    secret = settings.get("client_secret")
    if isinstance(secret, Secret):
        return {**settings, "client_secret": secret.value}
    return settings
