"""The emulator's Amazon accounts: who signs in on the consent page, and the advertising
profiles each one's grants can see.

With no account added, one user consents at once and sees `Emulator.profiles` (the CLI's
unattended demo follows that redirect by itself). Once accounts are added, the consent page
asks which account signs in, with a link per account and a Cancel link (as a person picks
on Amazon's sign-in page and then allows or cancels). With a new account per consent, every
consent is given at once by a new account (the n-th) with profiles of its own; with
`consent_as(name)`, by that account. Every grant, code and access token sees only the
profiles of the account that consented. The sandbox derives an account's profiles from its
name (`derive_with`), so a new sandbox knows the accounts earlier ones made.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from ._wire import Answer

_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Amazon (emulator): sign in</title></head>
<body><h1>Login with Amazon (emulator)</h1>
<p>Sign in to allow this app to manage your Amazon Ads campaigns.</p>
<ul>{links}</ul>
<p><a id="cancel" href="{cancel}">Cancel</a></p>
</body></html>"""


class Accounts:
    """Account name -> the profiles `GET /v2/profiles` shows its grants."""

    def __init__(self) -> None:
        self._profiles: dict[str, list[dict[str, Any]]] = {}
        self._guard = threading.Lock()
        self._per_consent: Callable[[int], list[dict[str, Any]]] | None = None
        self._made = 0
        self._consenting: str | None = None
        self._derive: Callable[[str], list[dict[str, Any]]] | None = None

    def add(self, name: str, profiles: list[dict[str, Any]]) -> None:
        with self._guard:
            self._profiles[name] = list(profiles)

    def new_per_consent(self, profiles_for: Callable[[int], list[dict[str, Any]]]) -> None:
        self._per_consent = profiles_for

    def consent_as(self, name: str) -> None:
        """Every consent from now on is given at once by the account `name`."""
        self._consenting = name

    def derive_with(self, profiles_for: Callable[[str], list[dict[str, Any]]]) -> None:
        """An account not added has the profiles `profiles_for(name)` (the sandbox's)."""
        self._derive = profiles_for

    def for_consent(self) -> str | None:
        """The account that gives this consent at once: the `consent_as` one, or a new one
        ("user-N") when accounts are made per consent; None: the default user."""
        if self._consenting is not None:
            return self._consenting
        if self._per_consent is None:
            return None
        with self._guard:
            self._made += 1
            name, number = f"user-{self._made}", self._made
        self.add(name, self._per_consent(number))
        return name

    def __contains__(self, name: object) -> bool:
        return name in self._profiles or (self._derive is not None and isinstance(name, str))

    def __bool__(self) -> bool:
        return bool(self._profiles)

    def profiles_of(
        self, account: str | None, default: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """The profiles of `account` (`default`: the emulator's, for grants of no account)."""
        if account is None:
            return default
        if account not in self._profiles and self._derive is not None:
            return self._derive(account)
        return self._profiles.get(account, [])

    def sign_in_page(self, query: Mapping[str, str]) -> Answer:
        """The consent page when accounts exist: one link per account, and Cancel."""

        def link(extra: dict[str, str]) -> str:
            return html.escape("/ap/oa?" + urlencode({**query, **extra}))

        with self._guard:
            names = list(self._profiles)
        links = "".join(
            f'<li><a id="account-{html.escape(name)}" href="{link({"account": name})}">'
            f"Sign in as {html.escape(name)} and allow</a></li>"
            for name in names
        )
        body = _PAGE.format(links=links, cancel=link({"deny": "1"}))
        return Answer(200, {"Content-Type": "text/html;charset=UTF-8"}, body.encode())


# Amazon's marketplace ids by country code, for the profiles `account_profile` makes.
MARKETPLACES = {
    "US": "ATVPDKIKX0DER",
    "CA": "A2EUQ1WTGCTBG2",
    "MX": "A1AM78C64UM0Y8",
    "BR": "A2Q3Y263D00KWC",
    "GB": "A1F83G8C2ARO7P",
    "UK": "A1F83G8C2ARO7P",
    "DE": "A1PA6795UKMFR9",
    "FR": "A13V1IB3VIYZZH",
    "IT": "APJ6JRA9NG5V4",
    "ES": "A1RKKUPIHCS9HS",
    "JP": "A1VC38T7YXB528",
}


def account_profile(
    profile_id: int, name: str, *, country: str = "US", currency: str = "USD"
) -> dict[str, Any]:
    """A profile as `GET /v2/profiles` returns it, for an account of a test or a demo."""
    return {
        "profileId": profile_id,
        "countryCode": country,
        "currencyCode": currency,
        "dailyBudget": 1000.0,
        "timezone": "America/Los_Angeles",
        "accountInfo": {
            "marketplaceStringId": MARKETPLACES.get(country.upper(), MARKETPLACES["US"]),
            "id": f"A{profile_id}",
            "type": "seller",
            "name": name,
        },
    }
