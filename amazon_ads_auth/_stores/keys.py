"""GrantKey: the one place that joins and splits a grant's key in a store.

A key is "<client id>/<store key>". Store keys live in two namespaces that never meet:

- **logins** (the CLI, `AdsAuth(store_key=...)`, `from_login`): "default", "acme", ...;
- **tenants** of a web app (`ConsentFlow`): "tenant:<tenant id>".

A CLI `--store-key` may not start with "tenant:", and a tenant id is always prefixed, so no
tenant id can reach a CLI login and no CLI store key can reach a tenant.
"""

from __future__ import annotations

import dataclasses

from .._errors import ConfigurationError
from .._redact import printable

LOGIN = "login"
TENANT = "tenant"
TENANT_PREFIX = "tenant:"
DEFAULT_STORE_KEY = "default"


@dataclasses.dataclass(frozen=True, order=True)
class GrantKey:
    """Where one grant lives: its client id and its store key (which carries the namespace).

    `str(key)` is the text stores are given; `GrantKey.parse` reads it back."""

    client_id: str
    store_key: str

    @classmethod
    def login(cls, client_id: str, store_key: str | None = None) -> GrantKey:
        """The key of a login (CLI or script): `store_key` defaults to "default".

        Raises: ConfigurationError for a store key in the tenants' namespace."""
        store_key = DEFAULT_STORE_KEY if store_key is None else store_key
        if store_key.startswith(TENANT_PREFIX):
            raise ConfigurationError(
                f"the store key {printable(store_key)!r} is in the namespace of web tenants "
                f"({TENANT_PREFIX!r}...): pick a store key that does not start with "
                f"{TENANT_PREFIX!r}; tenants are reached through ConsentFlow"
            )
        return cls(client_id, store_key)

    @classmethod
    def tenant(cls, client_id: str, tenant: str) -> GrantKey:
        """The key of a web tenant's grant: "<client id>/tenant:<tenant id>"."""
        return cls(client_id, TENANT_PREFIX + tenant)

    @classmethod
    def parse(cls, text: str) -> GrantKey | None:
        """The key a store listed, or None when it is not a grant's key (no client id)."""
        client_id, slash, store_key = text.partition("/")
        if not slash or not client_id or not store_key:
            return None
        return cls(client_id, store_key)

    @property
    def namespace(self) -> str:
        """ "tenant" for a web tenant's grant, else "login"."""
        return TENANT if self.store_key.startswith(TENANT_PREFIX) else LOGIN

    @property
    def tenant_id(self) -> str | None:
        """The tenant id of a tenant's grant, else None."""
        if self.namespace != TENANT:
            return None
        return self.store_key[len(TENANT_PREFIX) :]

    def legacy_tenant(self) -> GrantKey:
        """Where the release before namespaces kept this tenant's grant: "<client id>/<id>"."""
        return GrantKey(self.client_id, self.tenant_id or self.store_key)

    def __str__(self) -> str:
        return f"{self.client_id}/{self.store_key}"
