"""Which tenants' grants list an advertising profile: a bounded cache, filled from the
login records, so `ConsentFlow.auth(tenant, profile_id=P)` refuses a profile known to be
another tenant's without an Ads API call, and says so without naming that tenant."""

from __future__ import annotations

import collections
import threading
from collections.abc import Sequence

from .._auth.settings import profile_text
from .._errors import ConfigurationError
from .._logins.records import Login, load_logins
from .._stores.base import LoginRecordStore, TokenStore

OWNER_CACHE_SIZE = 4096  # profile ids whose owning tenants are remembered, per flow


class ProfileOwners:
    """profile id -> the tenants whose records list it (at most `size` profiles, the least
    recently seen dropped first). Safe to share between threads."""

    def __init__(self, store: TokenStore, client_id: str, size: int = OWNER_CACHE_SIZE) -> None:
        self._store = store
        self._client_id = client_id
        self._size = size
        self._owners: collections.OrderedDict[str, frozenset[str]] = collections.OrderedDict()
        # tenant -> (its store key, the profiles its record lists): bounded like the above
        self._tenants: collections.OrderedDict[str, tuple[str, frozenset[str]]] = (
            collections.OrderedDict()
        )
        self._guard = threading.Lock()

    def __len__(self) -> int:
        return len(self._owners)

    def remember(self, tenant: str, key: str, profile_ids: Sequence[str]) -> None:
        """`tenant`'s grant (under `key`) lists `profile_ids` (and no others), as a consent
        just saved."""
        listed = frozenset(profile_ids)
        with self._guard:
            _, before = self._tenants.get(tenant, ("", frozenset()))
            for profile in before - listed:
                if profile in self._owners:
                    self._owners[profile] = self._owners[profile] - {tenant}
            for profile in listed:
                self._put(profile, self._owners.get(profile, frozenset()) | {tenant})
            self._put_tenant(tenant, key, listed)

    def refuse_foreign(self, tenant: str, profile_id: int | str | None) -> None:
        """Refuse, naming nobody else, a profile that another tenant's grant lists and
        this tenant's does not. Known from the cache (then only this tenant's own record
        is read again, in case its profiles were refreshed since), else from the store's
        records (read once per unknown profile). A profile nobody is known to own is left
        to the resolution (which asks the Ads API for this tenant's profiles once).

        Raises: ConfigurationError."""
        profile = profile_text(profile_id) if profile_id is not None else None
        if profile is None:
            return
        with self._guard:
            owners = self._owners.get(profile)
            key = self._tenants.get(tenant, (None, None))[0]
        if owners is not None and tenant not in owners and owners and key is not None:
            if self._own_record_lists(key, profile):
                owners = owners | {tenant}
                with self._guard:
                    self._put(profile, owners)
                    _, listed = self._tenants.get(tenant, (key, frozenset()))
                    self._put_tenant(tenant, key, listed | {profile})
        elif owners is None or tenant not in owners:
            owners = self._from_store(profile)
        if tenant in owners or not owners:
            return
        raise ConfigurationError(
            f"tenant {tenant!r} has no Amazon Ads profile {profile}: its grant does not list "
            "it. Use one of the tenant's own profiles; if the advertiser has just added this "
            "one, refresh the tenant's profiles (LoginDirectory.refresh_profiles) or connect "
            "again"
        )

    def _own_record_lists(self, key: str, profile: str) -> bool:
        records = self._store if isinstance(self._store, LoginRecordStore) else None
        login = Login.from_record(key, records.load_login(key) if records else None)
        return login.owns(profile)

    def _from_store(self, profile: str) -> frozenset[str]:
        """The tenants of this client whose records list `profile` (all read records are
        remembered; a store that cannot list its grants knows no owner)."""
        try:
            logins = load_logins(self._store)
        except ConfigurationError:
            return frozenset()
        found: dict[str, list[str]] = {}
        tenants: list[tuple[str, str, frozenset[str]]] = []
        for login in logins:
            # Web tenants only: a CLI login of the same client is nobody's tenant.
            if login.client_id == self._client_id and login.tenant is not None:
                listed = frozenset(p.profile_id for p in login.profiles)
                tenant = login.tenant
                tenants.append((tenant, login.key, listed))
                for profile_key in listed:
                    found.setdefault(profile_key, []).append(tenant)
        with self._guard:
            for tenant, key, listed in tenants[-self._size :]:
                self._put_tenant(tenant, key, listed)
            for listed_id, owners in found.items():
                self._put(listed_id, frozenset(owners))
            return self._owners.get(profile, frozenset())

    def _put_tenant(self, tenant: str, key: str, listed: frozenset[str]) -> None:
        self._tenants[tenant] = (key, listed)
        self._tenants.move_to_end(tenant)
        while len(self._tenants) > self._size:
            self._tenants.popitem(last=False)

    def _put(self, profile: str, owners: frozenset[str]) -> None:
        self._owners[profile] = owners
        self._owners.move_to_end(profile)
        while len(self._owners) > self._size:
            self._owners.popitem(last=False)
