"""Which tenants to ask to connect again: their refresh token ends soon (or has ended).

Amazon Ads refresh tokens expire 365 days after consent; the grant record knows when
(`refresh_expires_at`, from the consent time written at the code exchange).
`ConsentFlow.expiring()` lists the tenants (the "tenant:<id>" namespace, never a CLI
login) whose consent ends within a window, with the days left, so the app can show a
"reconnect your Amazon Ads account" banner; sending the tenant through `begin()` again
replaces the grant with a new one and a new consent time.
"""

from __future__ import annotations

import dataclasses
import datetime

from .._logins.records import Login, load_logins
from .._refresh.events import days_left, refresh_expires_at
from .._stores.base import TokenStore
from .._stores.grant import EXPIRED
from .._stores.keys import TENANT


@dataclasses.dataclass(frozen=True)
class ExpiringTenant:
    """A tenant whose consent ends at `expires_at`, in `days_left` days (0: today, or
    `expired`). Ask them to reconnect: `flow.begin(tenant)`."""

    tenant: str
    days_left: int
    expires_at: datetime.datetime
    expired: bool = False


def tenant_of(login: Login) -> str | None:
    """The tenant id of a grant the flow stored ("tenant:<id>"), else None (a CLI login,
    or a tenant of the release before namespaces, until `migrate_tenant` moves it)."""
    return login.tenant if login.namespace == TENANT else None


def expiring_tenants(
    store: TokenStore, client_id: str, within: datetime.timedelta, now: float
) -> list[ExpiringTenant]:
    """The tenants of `client_id` in `store` whose refresh token ends within `within` of
    `now` (or already has), soonest first. Grants of unknown expiry are never listed, nor
    CLI logins."""
    found = []
    for login in load_logins(store):
        tenant, expires_at = tenant_of(login), refresh_expires_at(login)
        if tenant is None or login.client_id != client_id or login.demo or expires_at is None:
            continue
        if expires_at.timestamp() - now <= within.total_seconds():
            expired = expires_at.timestamp() <= now or login.last_refresh == EXPIRED
            found.append(ExpiringTenant(tenant, days_left(expires_at, now), expires_at, expired))
    return sorted(found, key=lambda x: (x.expires_at, x.tenant))
