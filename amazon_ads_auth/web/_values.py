"""What `ConsentFlow.begin()` and `complete()` return: where to send the browser with which
cookie, and the tenant's saved login."""

from __future__ import annotations

import dataclasses

from .._logins.records import Login


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


def cookie_header(name: str, value: str, max_age: int, secure: bool) -> str:
    """The consent cookie's Set-Cookie value: HttpOnly, SameSite=Lax (the callback is a
    top-level GET from Amazon, which Lax lets through), Path=/, and Secure unless the app is
    on loopback http. `max_age` 0 removes it."""
    return f"{name}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Lax" + (
        "; Secure" if secure else ""
    )
