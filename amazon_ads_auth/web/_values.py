"""What `ConsentFlow.begin()` and `complete()` return: where to send the browser with which
cookie, and the tenant's saved login."""

from __future__ import annotations

import dataclasses

from .._logins import Login


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
        """A complete Set-Cookie value: HttpOnly, SameSite=Lax (the callback is a top-level
        GET from Amazon, which Lax lets through), Path=/, Secure unless the app is on
        loopback http."""
        return (
            f"{self.cookie_name}={self.cookie_value}; Max-Age={self.cookie_max_age}; Path=/; "
            "HttpOnly; SameSite=Lax" + ("; Secure" if self.secure else "")
        )


@dataclasses.dataclass(frozen=True)
class ConsentResult:
    """A completed consent: the tenant's saved `login` (profiles filled in) and where the
    person wanted to go back to (a path on the app, or None)."""

    login: Login
    tenant: str
    return_to: str | None
