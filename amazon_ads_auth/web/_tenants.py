"""Web tenants in a namespace of their own ("<client id>/tenant:<id>"), apart from CLI
logins: the view `ConsentFlow.directory()` lists, and the move of a tenant's grant that the
release before namespaces saved under "<client id>/<tenant id>"."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any, cast

from .._errors import AdsAuthError, StoreError
from .._logins.records import DEFAULT_STORE_KEY, Login, load_logins
from .._stores.base import LoginRecordStore, TokenStore
from .._stores.grant import GrantRecord, read_grant, write_grant
from .._stores.keys import LOGIN, TENANT, GrantKey
from .._token import Token

logger = logging.getLogger("amazon_ads_auth")


def legacy_of(key: GrantKey) -> GrantKey | None:
    """Where the release before namespaces kept this tenant, unless that is where the CLI
    keeps its own default login (a tenant "default" was never told apart from it)."""
    legacy = key.legacy_tenant()
    if legacy.store_key == DEFAULT_STORE_KEY or legacy.namespace != LOGIN:
        return None
    return legacy


def migrate_tenant(store: TokenStore, key: GrantKey) -> bool:
    """Move the tenant's grant from its old key to `key` (one write, then the old one
    deleted, under both locks); True if one was moved. An unreadable old grant, or one a
    CLI login of this version wrote, stays where it is."""
    legacy = legacy_of(key)
    if legacy is None:
        return False
    with store.lock(str(legacy)), store.lock(str(key)):
        if exists(store, str(key)):
            return False
        try:
            record = read_grant(store, str(legacy))
        except AdsAuthError:
            return False
        if record is None or not legacy_tenant_record(record.login):
            return False
        login = {**dict(record.login or {}), "kind": TENANT}
        write_grant(store, str(key), dataclasses.replace(record, login=login))
        store.delete(str(legacy))
    logger.info("moved the grant of tenant %r into the tenants' namespace", key.tenant_id)
    return True


def forget_legacy(store: TokenStore, key: GrantKey) -> None:
    """After a new consent, the tenant's grant under its old key is stale: remove it."""
    legacy = legacy_of(key)
    if legacy is None:
        return
    with store.lock(str(legacy)):
        try:
            record = read_grant(store, str(legacy))
        except AdsAuthError:
            return
        if record is not None and legacy_tenant_record(record.login):
            store.delete(str(legacy))


def exists(store: TokenStore, key: str) -> bool:
    """Whether a grant is stored under `key`, readable or not."""
    try:
        return read_grant(store, key) is not None
    except AdsAuthError:
        return True


def legacy_tenant_record(login: Mapping[str, Any] | None) -> bool:
    """A login record the release before namespaces wrote (it has no "kind"): under
    "<client id>/<tenant id>", a tenant's; a CLI login of this version says "login"."""
    return isinstance(login, Mapping) and "kind" not in login and login.get("demo") is not True


class TenantView:
    """The tenants' part of a store: what `ConsentFlow.directory()` lists. Every other
    call goes to the store itself."""

    def __init__(self, store: TokenStore, client_id: str) -> None:
        self._store = store
        self._client_id = client_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def __repr__(self) -> str:
        return f"TenantView({self._store!r})"

    def load(self, key: str) -> Token | None:
        return self._store.load(key)

    def save(self, key: str, token: Token) -> None:
        self._store.save(key, token)

    def delete(self, key: str) -> None:
        self._store.delete(key)

    def lock(self, key: str) -> AbstractContextManager[None]:
        return self._store.lock(key)

    def load_login(self, key: str) -> dict[str, Any] | None:
        return cast(LoginRecordStore, self._store).load_login(key)

    def save_login(self, key: str, record: dict[str, Any]) -> None:
        cast(LoginRecordStore, self._store).save_login(key, record)

    def keys(self) -> list[str]:
        return [x.key for x in self._tenants()]

    def grant_records(self) -> dict[str, GrantRecord | StoreError]:
        found: dict[str, GrantRecord | StoreError] = {}
        for login in self._tenants():
            try:
                record = read_grant(self._store, login.key)
            except StoreError as exc:
                found[login.key] = exc
                continue
            if record is not None:
                found[login.key] = record
        return found

    def _tenants(self) -> list[Login]:
        return [
            x
            for x in load_logins(self._store)
            if x.namespace == TENANT and x.client_id == self._client_id
        ]
