"""The sandbox: the emulator `amazon-ads-auth ... --emulator` runs, on the demo logins."""

from __future__ import annotations

from typing import Any

from ._emulator import DEMO_SIGNING_KEY, Emulator


class Sandbox(Emulator):
    """The emulator `amazon-ads-auth ... --emulator` runs, on the demo logins.

        with Sandbox() as sandbox:
            auth = AdsAuth.from_login(**sandbox.login_kwargs())

    Its tokens are signed with DEMO_SIGNING_KEY, so the grant a `login --emulator` stored
    keeps working in every later sandbox, and in your own code.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("signing_key", DEMO_SIGNING_KEY)
        super().__init__(**kwargs)

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
