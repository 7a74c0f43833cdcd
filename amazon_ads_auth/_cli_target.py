"""What a CLI command works on: the options every command takes, and how they resolve to a
store, a login and an AdsAuth.

After one `login`, commands need no flags: the stored login names the client id, region,
URLs and (unless `--no-save-secret`) the secret. Flags and AMAZON_ADS_* variables override
what is stored. `--emulator` starts a local emulator for the one command and works on the
demo store, a folder of its own, so demo grants never mix with real ones; the emulator signs
its tokens with a fixed demo key, so every later `--emulator` command accepts them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import click

from ._auth import AdsAuth
from ._cli_sandbox import sandbox
from ._directory import LoginDirectory
from ._errors import ConfigurationError, NoTokenError
from ._file_store import demo_store_url
from ._logins import DEFAULT_STORE_KEY, Login, save_login
from ._open_store import open_store
from ._redact import mask_url
from ._regions import Region
from ._resolve import Given, LoginLookup, api_base_url
from ._store import TokenStore

_F = TypeVar("_F", bound=Callable[..., Any])


def common_options(function: _F) -> _F:
    """The options every command takes; `--emulator` starts a local emulator for one command."""
    decorators = [
        click.option(
            "--client-id",
            envvar="AMAZON_ADS_CLIENT_ID",
            help="LwA client id (default: the stored login's).",
        ),
        click.option(
            "--client-secret",
            envvar="AMAZON_ADS_CLIENT_SECRET",
            help="LwA client secret (default: the stored login's; else prompted, hidden).",
        ),
        click.option(
            "--region",
            envvar="AMAZON_ADS_REGION",
            default=None,
            type=click.Choice(["na", "eu", "fe"], case_sensitive=False),
            help="na, eu or fe (default: the stored login's, else na).",
        ),
        click.option(
            "--store",
            "store_url",
            envvar="AMAZON_ADS_TOKEN_STORE",
            default=None,
            help="Token store URL: file: (default), file:///path, keyring:, redis://..., memory:",
        ),
        click.option(
            "--store-key",
            envvar="AMAZON_ADS_STORE_KEY",
            default=None,
            help="Which login (e.g. one per advertiser; default: 'default', or the only one).",
        ),
        click.option("--token-url", hidden=True),
        click.option("--authorization-url", hidden=True),
        click.option("--api-url", hidden=True),
        click.option(
            "--emulator",
            "use_emulator",
            is_flag=True,
            help="Run against a local LwA/Ads API emulator (no Amazon account needed).",
        ),
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


@dataclasses.dataclass
class Target:
    """Where a command talks to and with what: options, env vars and `--emulator`."""

    client_id: str | None
    client_secret: str | None
    region: str | None
    store_url: str
    store_key: str | None
    token_url: str | None
    authorization_url: str | None
    api_url: str | None
    emulator: Any = None
    _store: TokenStore | None = None

    @property
    def where(self) -> str:
        """The store URL as shown to the user (a password masked)."""
        return mask_url(self.store_url)

    def store(self) -> TokenStore:
        if self._store is None:
            self._store = open_store(self.store_url)
        return self._store

    def overrides(self) -> dict[str, Any]:
        """The settings given on the command line (or in the environment): they win."""
        given: dict[str, Any] = {
            "region": self.region,
            "token_url": self.token_url,
            "authorization_url": self.authorization_url,
            "client_secret": self.client_secret,
        }
        if self.api_url:
            given["api_hosts"] = [self.api_url]
        return {k: v for k, v in given.items() if v}

    def login_auth(self) -> AdsAuth:
        """The AdsAuth `login` uses: the client id must be given (or the emulator's)."""
        if not self.client_id:
            raise ConfigurationError("no client id: pass --client-id or set AMAZON_ADS_CLIENT_ID")
        if not self.client_secret:
            self.client_secret = click.prompt("Client secret", hide_input=True, err=True)
        return AdsAuth(
            self.client_id,
            self.client_secret or "",
            store=self.store(),
            store_key=self.store_key or DEFAULT_STORE_KEY,
            **{k: v for k, v in self.overrides().items() if k != "client_secret"},
        )

    def given(self, profile_id: str | None = None) -> Given:
        """What the flags and AMAZON_ADS_* variables say (click has merged the two)."""
        return Given(
            client_id=self.client_id,
            client_secret=self.client_secret,
            store_key=self.store_key,
            profile_id=profile_id,
            region=self.region,
            token_url=self.token_url,
            authorization_url=self.authorization_url,
            api_url=self.api_url,
        )

    def resolve(self, *, profile_id: str | None = None) -> tuple[AdsAuth, Login]:
        """The stored login this command means, and its AdsAuth (see `_resolve`)."""
        lookup = self._lookup(profile_id)
        if self.emulator is not None and not lookup.logins():
            self._demo_login()
            lookup = self._lookup(profile_id)
        try:
            login = lookup.find(pick_with="--store-key")
        except NoTokenError:
            self._refuse_demo_only()
            raise
        given = lookup.given
        if not login.has_secret and given.client_secret is None:
            secret = click.prompt(f"Client secret for {login.label()}", hide_input=True, err=True)
            given = dataclasses.replace(given, client_id=login.client_id, client_secret=secret)
        auth = AdsAuth(**lookup.settings(login, given))
        if profile_id is not None:
            auth = auth.with_profile(profile_id)
        return auth, login

    def _lookup(self, profile_id: str | None) -> LoginLookup:
        return LoginLookup(
            self.store(), lambda settings: AdsAuth(**settings), self.given(profile_id)
        )

    def api_url_for(self, login: Login) -> str:
        return api_base_url(login, self.given())

    def _demo_login(self) -> None:
        """A command run with --emulator before any demo login: give it a demo grant."""
        assert self.emulator is not None
        client_id = self.client_id or self.emulator.client_id
        auth = AdsAuth(
            client_id,
            self.emulator.client_secret,
            self.emulator.issue_refresh_token(),
            store=self.store(),
            store_key=self.store_key or DEFAULT_STORE_KEY,
            **{k: v for k, v in self.overrides().items() if k != "client_secret"},
        )
        auth.ensure_token()
        record = Login(
            client_id=client_id,
            store_key=self.store_key or DEFAULT_STORE_KEY,
            token_url=self.emulator.token_url,
            api_url=self.emulator.api_url,
            client_secret=self.emulator.client_secret,
            demo=True,
        )
        save_login(self.store(), record.with_profiles(self.emulator.profiles))

    def _refuse_demo_only(self) -> None:
        """Plain commands never touch demo grants; say so when only a demo login exists."""
        if self.emulator is not None or self.store_url != "file:":
            return
        demo_logins: list[Login] = []
        with contextlib.suppress(Exception):  # an unusable demo folder: no hint, that is all
            demo_logins = LoginDirectory(open_store(demo_store_url())).logins()
        if demo_logins:
            raise ConfigurationError(
                "only a demo login exists (made with --emulator): add --emulator to use it, "
                "or log in for real with `amazon-ads-auth login --client-id ...`"
            )


@contextlib.contextmanager
def target_from(options: dict[str, Any]) -> Iterator[Target]:
    """Resolve the common options (starting an emulator for `--emulator`)."""
    region = options.pop("region")
    use_emulator = options.pop("use_emulator")
    store_url = options.pop("store_url")
    target = Target(
        client_id=options.pop("client_id"),
        client_secret=options.pop("client_secret"),
        region=Region.parse(region).value if region else None,
        store_url=store_url or (demo_store_url() if use_emulator else "file:"),
        store_key=options.pop("store_key"),
        token_url=options.pop("token_url"),
        authorization_url=options.pop("authorization_url"),
        api_url=options.pop("api_url"),
    )
    if not use_emulator:
        yield target
        return
    with sandbox() as emulator:
        target.emulator = emulator
        if target.client_id is None and os.environ.get("AMAZON_ADS_CLIENT_ID") is None:
            target.client_id = emulator.client_id
        target.client_secret = target.client_secret or emulator.client_secret
        target.token_url = target.token_url or emulator.token_url
        target.authorization_url = target.authorization_url or emulator.authorization_url
        target.api_url = target.api_url or emulator.api_url
        yield target
