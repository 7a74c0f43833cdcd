"""Which tenants to ask to connect again: their refresh token ends soon (or has ended).

Amazon Ads refresh tokens expire 365 days after consent; the grant-lifecycle record knows
when. `ConsentFlow.expiring()` lists the tenants whose consent ends within a window, with
the days left, so the app can show a "reconnect your Amazon Ads account" banner; sending
the tenant through `begin()` again replaces the grant with a new one.
"""

from __future__ import annotations

import dataclasses
import datetime

from .._logins.records import Login, load_logins
from .._refresh.events import days_left, refresh_expires_at
from .._stores.base import TokenStore


@dataclasses.dataclass(frozen=True)
class ExpiringTenant:
    """A tenant whose consent ends at `expires_at`, in `days_left` days (0: today, or
    `expired`). Ask them to reconnect: `flow.begin(tenant)`."""

    tenant: str
    days_left: int
    expires_at: datetime.datetime
    expired: bool = False


def tenant_of(login: Login) -> str:
    """The tenant id of a grant the flow stored (its store key; the grant-lifecycle
    namespace changes this one line)."""
    return login.store_key


def expiring_tenants(
    store: TokenStore, client_id: str, within: datetime.timedelta, now: float
) -> list[ExpiringTenant]:
    """The tenants of `client_id` in `store` whose refresh token ends within `within` of
    `now` (or already has), soonest first. Grants of unknown expiry are never listed."""
    found = []
    for login in load_logins(store):
        expires_at = refresh_expires_at(login)
        if login.client_id != client_id or login.demo or expires_at is None:
            continue
        if expires_at.timestamp() - now <= within.total_seconds():
            expired = expires_at.timestamp() <= now
            found.append(
                ExpiringTenant(tenant_of(login), days_left(expires_at, now), expires_at, expired)
            )
    return sorted(found, key=lambda x: (x.expires_at, x.tenant))
