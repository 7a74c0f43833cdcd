"""The sandbox: the emulator `amazon-ads-auth ... --emulator` runs, on the demo logins.

Each store key is an advertiser of its own: `login --emulator` (the key "default") is the
demo user with the one demo profile; `login --emulator --store-key brand-b` is the account
"brand-b" with two profiles of its own (US and CA), the same every time, so an agency's
`LoginDirectory` routing can be tried offline. The account's name travels in the signed
tokens, and its profiles follow from the name, so every later sandbox knows them.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ._accounts import account_profile
from ._emulator import DEMO_SIGNING_KEY, Emulator

DEFAULT_STORE_KEY = "default"


def sandbox_profiles(store_key: str) -> list[dict[str, Any]]:
    """The profiles of the sandbox account for `store_key` (not "default"): a US and a CA
    profile whose ids follow from the key (15 digits, as Amazon's), so they are stable."""
    digest = hashlib.sha256(f"amazon-ads-auth sandbox {store_key}".encode()).digest()
    first = 10**14 + int.from_bytes(digest[:8], "big") % (8 * 10**14)
    first -= first % 2  # even, so the pair never overlaps another key's pair
    return [
        account_profile(first, f"{store_key} (sandbox US)"),
        account_profile(first + 1, f"{store_key} (sandbox CA)", country="CA", currency="CAD"),
    ]


class Sandbox(Emulator):
    """The emulator `amazon-ads-auth ... --emulator` runs, on the demo logins.

        with Sandbox() as sandbox:
            auth = AdsAuth.from_login(**sandbox.login_kwargs())

    Its tokens are signed with DEMO_SIGNING_KEY, so the grant a `login --emulator` stored
    keeps working in every later sandbox, and in your own code. With `store_key` (other
    than "default"), its consents and `issue_refresh_token()` are given by that store key's
    account, which sees `sandbox_profiles(store_key)`; whatever its key, a sandbox answers
    every account's tokens with that account's profiles.
    """

    def __init__(self, *, store_key: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("signing_key", DEMO_SIGNING_KEY)
        super().__init__(**kwargs)
        self.accounts.derive_with(sandbox_profiles)
        self.account: str | None = None
        if store_key is not None and store_key != DEFAULT_STORE_KEY:
            self.account = store_key
            self.accounts.consent_as(store_key)
            self.profiles = sandbox_profiles(store_key)

    def issue_refresh_token(
        self,
        client_id: str | None = None,
        scope: str = "",
        *,
        value: str | None = None,
        account: str | None = None,
        consented_at: float | None = None,
    ) -> str:
        """As `Emulator.issue_refresh_token`; the grant is the sandbox account's unless
        `account` names another."""
        return super().issue_refresh_token(
            client_id,
            scope,
            value=value,
            account=account or self.account,
            consented_at=consented_at,
        )

    def login_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `AdsAuth.from_login` (or `LoginDirectory`) that use the
        demo logins, and only those, with the demo client (whatever AMAZON_ADS_CLIENT_ID
        and _CLIENT_SECRET say), pointed at this sandbox."""
        from .._stores.file import demo_store_url
        from .._stores.url import open_store

        return {
            "store": open_store(demo_store_url()),
            "demo": True,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            **self.auth_kwargs(),
        }
