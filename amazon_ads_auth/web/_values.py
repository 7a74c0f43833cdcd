"""What `ConsentFlow.begin()` and `complete()` return (where to send the browser with which
cookie, and the tenant's saved login), the `ANY_TENANT` opt-out, and `ConsentPage`: what a
page of the flow says, for the default renderer or an app's own template."""

from __future__ import annotations

import dataclasses
import enum
from typing import Final, Literal

from .._logins.records import Login

PageKind = Literal[
    "connected",
    "cancelled",
    "start_again",
    "other_tenant",
    "not_signed_in",
    "invalid_request",
    "unavailable",
]


class AnyTenant(enum.Enum):
    """The type of `ANY_TENANT`."""

    ANY_TENANT = "ANY_TENANT"

    def __repr__(self) -> str:
        return "ANY_TENANT"


ANY_TENANT: Final = AnyTenant.ANY_TENANT
"""`complete(..., tenant=ANY_TENANT)`: skip the signed-in-tenant check, for an app that has no
sign-in at all. Anyone who can plant a cookie on the app's site (a sibling subdomain, an http
page on the host) can then make a victim's consent land on the attacker's tenant: use it only
when there is no sign-in to check against."""


@dataclasses.dataclass(frozen=True)
class ConsentPage:
    """One page of the flow, as the advertiser sees it: what happened (`kind`), the HTTP
    `status`, a `title`, a plain-words `message`, and the primary action (`action_label`,
    `action_url`). 5xx pages carry a short `reference` that is also in the log record
    with the details. Give `render_page=` a callable taking one to use your own template."""

    kind: PageKind
    status: int
    title: str
    message: str
    action_label: str
    action_url: str
    reference: str | None = None


@dataclasses.dataclass(frozen=True)
class ConsentStart:
    """Where to send the browser (`url`) and the cookie to set on that response."""

    url: str
    cookie_name: str
    cookie_value: str = dataclasses.field(repr=False)
    cookie_max_age: int
    secure: bool
    tenant: str
    region: str

    def set_cookie_header(self) -> str:
        """A complete Set-Cookie value (see `cookie_header`)."""
        return cookie_header(self.cookie_name, self.cookie_value, self.cookie_max_age, self.secure)


@dataclasses.dataclass(frozen=True)
class ConsentResult:
    """A completed consent: the tenant's saved `login` (profiles filled in) and where the
    person wanted to go back to (a path on the app, or None)."""

    login: Login
    tenant: str
    return_to: str | None
    state: str = dataclasses.field(default="", repr=False)  # which consent: for the marker


def cookie_header(name: str, value: str, max_age: int, secure: bool) -> str:
    """The consent cookie's Set-Cookie value: HttpOnly, SameSite=Lax (the callback is a
    top-level GET from Amazon, which Lax lets through), Path=/, and Secure unless the app is
    on loopback http. `max_age` 0 removes it."""
    return f"{name}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Lax" + (
        "; Secure" if secure else ""
    )
