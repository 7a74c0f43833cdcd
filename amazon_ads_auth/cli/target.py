"""What a CLI command works on: the options every command takes, and how they resolve to a
store, a login and an AdsAuth.

After one `login`, commands need no flags: the stored login names the client id, region,
URLs and (unless `--no-save-secret`) the secret. Flags and AMAZON_ADS_* variables override
what is stored. `--emulator` starts a local emulator for the one command and works on the
demo store, a folder of its own, with the demo client: AMAZON_ADS_TOKEN_STORE, _STORE_KEY,
_CLIENT_ID, _CLIENT_SECRET and _REGION do not apply there, and plain commands never use a
login marked demo. The emulator signs its tokens with a fixed demo key, so every later
`--emulator` command accepts them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import click

from .._auth.adsauth import AdsAuth
from .._auth.connect import connect
from .._errors import AdsAuthError, ConfigurationError, NoTokenError
from .._logins.records import DEFAULT_STORE_KEY, Login, load_logins
from .._logins.resolve import (
    ENV,
    Given,
    LoginLookup,
    ResolvedLogin,
    api_base_url,
    env_value,
    is_profile_id,
)
from .._redact import Secret, describe_store
from .._regions import Region
from .._stores.base import MemoryTokenStore, TokenStore
from .._stores.file import demo_store_url
from .._stores.keys import GrantKey
from .._stores.url import open_store
from .sandbox import demo_logged_out, sandbox

_F = TypeVar("_F", bound=Callable[..., Any])


def _region(context: click.Context, parameter: click.Parameter, value: str | None) -> str | None:
    """--region or AMAZON_ADS_REGION: na, eu or fe; a bad value names where it came from."""
    if value is None or Region.is_one(value):
        return None if value is None else value.strip().lower()
    from_env = context.get_parameter_source("region") is click.core.ParameterSource.ENVIRONMENT
    if from_env and context.params.get("use_emulator"):
        return None  # AMAZON_ADS_REGION does not apply to the sandbox (a flag on the command
        # line is processed first, so --emulator is known here)
    raise click.BadParameter(
        f"{value!r} is not a region: use na, eu or fe",
        param_hint=ENV["region"] if from_env else "'--region'",
    )


def profile_option(function: _F) -> _F:
    """--profile-id, checked to be a numeric Ads profile id (a usage error otherwise)."""

    def check(context: click.Context, parameter: click.Parameter, value: str | None) -> str | None:
        if value is not None and not is_profile_id(value.strip()):
            raise click.BadParameter(
                f"{value!r} is not a numeric Ads profile id (see `amazon-ads-auth profiles`)"
            )
        return None if value is None else value.strip()

    return click.option(
        "--profile-id",
        callback=check,
        help="Send the Amazon-Advertising-API-Scope header for it; alone, picks the login "
        "that owns it.",
    )(function)


_OPTIONS: dict[str, Callable[[_F], _F]] = {
    "client_id": click.option(
        "--client-id",
        envvar=ENV["client_id"],
        help="LwA client id (default: the stored login's).",
    ),
    "client_secret": click.option(
        "--client-secret",
        envvar=ENV["client_secret"],
        help="LwA client secret (default: the stored login's; else prompted, hidden).",
    ),
    "region": click.option(
        "--region",
        envvar=ENV["region"],
        default=None,
        callback=_region,
        metavar="[na|eu|fe]",
        help="na, eu or fe (default: the stored login's, else na).",
    ),
    "store_url": click.option(
        "--store",
        "store_url",
        envvar=ENV["token_store"],
        default=None,
        help="Token store URL: file: (default), file:///path, keyring:, redis://..., "
        "sqlite:///path, postgresql://..., memory:",
    ),
    "store_key": click.option(
        "--store-key",
        envvar=ENV["store_key"],
        default=None,
        help="Which login (e.g. one per advertiser; default: 'default', or the only one).",
    ),
    "token_url": click.option("--token-url", hidden=True),
    "authorization_url": click.option("--authorization-url", hidden=True),
    "api_url": click.option("--api-url", hidden=True),
    "use_emulator": click.option(
        "--emulator",
        "use_emulator",
        is_flag=True,
        help="Run against a local LwA/Ads API emulator (no Amazon account needed).",
    ),
}
# status and logout only read the store: no secret, region or URLs apply to them.
STORE_ONLY = ("client_id", "store_url", "store_key", "use_emulator")


def common_options(function: _F) -> _F:
    """The options of commands that talk to Amazon; `--emulator` starts a local emulator for
    one command."""
    for name in reversed(list(_OPTIONS)):
        function = _OPTIONS[name](function)
    return function


def store_options(function: _F) -> _F:
    """The options of commands that only read the store (status, logout)."""
    for name in reversed(STORE_ONLY):
        function = _OPTIONS[name](function)
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
    store_given: bool = False  # --store or AMAZON_ADS_TOKEN_STORE named a store
    _store: TokenStore | None = None

    @property
    def where(self) -> str:
        """The store as shown to the user: a folder path, or its URL with no password."""
        return describe_store(self.store())

    def store(self) -> TokenStore:
        if self._store is None:
            self._store = open_store(self.store_url)
        return self._store

    def logins(self) -> list[Login]:
        """The logins this command may use: the demo ones under --emulator, else the real."""
        return self._lookup(None).logins()

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
            raise click.UsageError(
                "no client id: pass --client-id or set AMAZON_ADS_CLIENT_ID (the client id of "
                "your LwA security profile; try --emulator to run without one)"
            )
        # The store is opened and read before the consent page: a store that is down is
        # found now, not after the one-time code is spent.
        self.store().load(str(GrantKey.login(self.client_id, self.store_key)))
        if not self.client_secret:
            self.client_secret = click.prompt("Client secret", hide_input=True, err=True)
        return AdsAuth._from_resolved(self._unrecorded(self.client_id, self.client_secret or ""))

    def _unrecorded(
        self,
        client_id: str,
        secret: str,
        refresh_token: str | None = None,
        store: TokenStore | None = None,
    ) -> ResolvedLogin:
        """The resolution for a client given outright, with no stored login (a new login,
        the sandbox's first demo grant, or a refresh token from the environment)."""
        overrides = self.overrides()
        hosts = overrides.get("api_hosts")
        return ResolvedLogin(
            client_id=client_id,
            client_secret=Secret(secret),
            refresh_token=None if refresh_token is None else Secret(refresh_token),
            region=overrides.get("region"),
            store=store if store is not None else self.store(),
            store_key=self.store_key or DEFAULT_STORE_KEY,
            token_url=overrides.get("token_url"),
            authorization_url=overrides.get("authorization_url"),
            api_hosts=None if hosts is None else tuple(hosts),
            api_url=self.api_url,
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
        if self.emulator is not None and not lookup.logins() and not demo_logged_out():
            self._demo_login()
            lookup = self._lookup(profile_id)
        try:
            login = lookup.find(pick_with="--store-key")
        except NoTokenError:
            from_env = self._from_refresh_token(profile_id)
            if from_env is not None:
                return from_env
            self._refuse_demo_only()
            raise
        given = lookup.given
        if not login.has_secret and given.client_secret is None:
            secret = click.prompt(f"Client secret for {login.label()}", hide_input=True, err=True)
            given = dataclasses.replace(given, client_id=login.client_id, client_secret=secret)
        return AdsAuth._from_resolved(lookup.resolved_for(login, given)), login

    def _from_refresh_token(self, profile_id: str | None) -> tuple[AdsAuth, Login] | None:
        """No login: AMAZON_ADS_REFRESH_TOKEN with the client id and secret (flags or
        AMAZON_ADS_CLIENT_ID/_SECRET), as the "no login" message says. Nothing is written
        to a store unless one was named (--store or AMAZON_ADS_TOKEN_STORE): the token
        lives in memory for this one command. None when no refresh token is set.

        Raises: click.UsageError naming what is missing besides the refresh token."""
        if self.emulator is not None:
            return None
        refresh_token = env_value("refresh_token")
        if refresh_token is None:
            return None
        missing = [
            f"--{name.replace('_', '-')} (or {ENV[name]})"
            for name in ("client_id", "client_secret")
            if not getattr(self, name)
        ]
        if missing:
            raise click.UsageError(
                f"{ENV['refresh_token']} is set, but not {' and '.join(missing)}: a refresh "
                "token is used only with the client id and secret it was issued to"
            )
        assert self.client_id is not None and self.client_secret is not None
        store = self.store() if self.store_given else MemoryTokenStore()
        resolved = self._unrecorded(self.client_id, self.client_secret, refresh_token, store)
        if profile_id is not None:
            resolved = dataclasses.replace(resolved, profile_id=profile_id)
        login = Login(
            client_id=self.client_id,
            store_key=resolved.store_key or DEFAULT_STORE_KEY,
            region=Region.parse(self.region or "na").value,
            api_url=self.api_url,
            recorded=False,
        )
        return AdsAuth._from_resolved(resolved), login

    def _lookup(self, profile_id: str | None) -> LoginLookup:
        return LoginLookup(
            self.store(),
            AdsAuth._from_resolved,
            self.given(profile_id),
            demo=self.emulator is not None,
        )

    def api_url_for(self, login: Login) -> str:
        """Where `GET /v2/profiles` goes for `login` (see `_logins.resolve`)."""
        return api_base_url(login, self.given())

    def _demo_login(self) -> None:
        """A command run with --emulator before any demo login: give it a demo grant."""
        assert self.emulator is not None
        client_id = self.client_id or self.emulator.client_id
        refresh_token = self.emulator.issue_refresh_token()
        record = Login(
            client_id=client_id,
            store_key=self.store_key or DEFAULT_STORE_KEY,
            token_url=self.emulator.token_url,
            api_url=self.emulator.api_url,
            client_secret=self.emulator.client_secret,
            demo=True,
        ).with_profiles(self.emulator.profiles)
        settings = {
            "client_id": client_id,
            "client_secret": self.emulator.client_secret,
            "refresh_token": refresh_token,
            **{k: v for k, v in self.overrides().items() if k != "client_secret"},
        }
        connect(  # one write: the demo grant, its record and its consent time
            settings,
            lambda auth: auth.ensure_token(),
            record,
            self.store(),
            api_url=self.emulator.api_url,
            fetch=False,
            consented_at=self.emulator.clock(),
        )

    def _refuse_demo_only(self) -> None:
        """Plain commands never use demo logins; when the store holds demo logins and
        nothing else (or it is the default store and only the demo folder has logins),
        say how to use them."""
        if self.emulator is not None:
            return
        try:
            everything = load_logins(self.store())
            problems: list[str] = getattr(self.store(), "problems", lambda: [])()
        except AdsAuthError:
            return
        if problems or any(not x.demo for x in everything):
            return  # real logins (or unreadable grants) exist: the error stands as it is
        demo_here = bool(everything)
        if not demo_here and self.store_url == "file:":
            with contextlib.suppress(AdsAuthError, OSError):  # an unusable demo folder: no hint
                demo_here = bool(load_logins(open_store(demo_store_url())))
        if demo_here:
            raise ConfigurationError(
                "only a demo login exists (made with --emulator): add --emulator to use it, "
                "or log in for real with `amazon-ads-auth login --client-id ...`"
            )


# Under --emulator these may not be given as flags, and their variables do not apply: the
# sandbox has its own client and its own folder of demo logins.
_SEALED = {
    "store_url": "--store",
    "client_id": "--client-id",
    "client_secret": "--client-secret",
    "region": "--region",
}


def check_profile_variable() -> None:
    """AMAZON_ADS_PROFILE_ID, when set, must be a profile id: a usage error naming it."""
    value = os.environ.get(ENV["profile_id"], "").strip()
    if value and not is_profile_id(value):
        raise click.BadParameter(
            f"{value!r} is not a numeric Ads profile id", param_hint=ENV["profile_id"]
        )


def _from_command_line(name: str) -> bool:
    context = click.get_current_context(silent=True)
    if context is None:
        return False
    return context.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE


@contextlib.contextmanager
def target_from(options: dict[str, Any]) -> Iterator[Target]:
    """Resolve the common options (starting an emulator for `--emulator`, sealed off from
    real logins: the demo folder, the demo client, whatever the environment says)."""
    use_emulator = options.pop("use_emulator")
    check_profile_variable()
    if use_emulator:
        for name, flag in _SEALED.items():
            if _from_command_line(name):
                raise click.UsageError(
                    f"{flag} cannot be used with --emulator: the sandbox always uses its demo "
                    "client and the demo folder, apart from real logins"
                )
            options[name] = None
        if not _from_command_line("store_key"):
            options["store_key"] = None  # AMAZON_ADS_STORE_KEY names a real login
    region = options.pop("region", None)
    store_url = options.pop("store_url")
    target = Target(
        client_id=options.pop("client_id"),
        client_secret=options.pop("client_secret", None),
        region=Region.parse(region).value if region else None,
        store_url=store_url or (demo_store_url() if use_emulator else "file:"),
        store_given=bool(store_url),
        store_key=options.pop("store_key"),
        token_url=options.pop("token_url", None),
        authorization_url=options.pop("authorization_url", None),
        api_url=options.pop("api_url", None),
    )
    if target.store_key is not None:  # no CLI store key reaches a web tenant's grant
        GrantKey.login("-", target.store_key)
    if not use_emulator:
        yield target
        return
    with sandbox(target.store_key) as emulator:
        target.emulator = emulator
        target.client_id = emulator.client_id
        target.client_secret = emulator.client_secret
        target.token_url = target.token_url or emulator.token_url
        target.authorization_url = target.authorization_url or emulator.authorization_url
        target.api_url = target.api_url or emulator.api_url
        yield target
