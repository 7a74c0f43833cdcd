"""The `amazon-ads-auth` command: Amazon's three onboarding steps in one `login`, plus the
commands people reach for when debugging (token, profiles, status, logout, emulator).

Exit codes: 0 ok, 1 a user-fixable error (one line, with a hint), 2 usage.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import sys
import threading
import time
import urllib.request
import webbrowser
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import click
import requests

from ._auth import AdsAuth, header_items
from ._errors import (
    AdsAuthError,
    AuthorizationDeniedError,
    ConfigurationError,
    InvalidClientError,
    InvalidGrantError,
    TokenRequestError,
)
from ._loopback import CODE_LIFETIME, RedirectListener, loopback_port
from ._lwa import DEFAULT_SCOPE, parse_redirect
from ._open_store import open_store
from ._redact import mask_url
from ._regions import Region
from ._store import TokenStore
from ._token import Token

DEFAULT_REDIRECT_URI = "http://localhost:8765/callback"
_F = TypeVar("_F", bound=Callable[..., Any])


@dataclasses.dataclass
class Target:
    """Where a command talks to and with what: resolved from options, env vars and
    `--emulator`."""

    client_id: str | None
    client_secret: str | None
    region: Region
    store_url: str
    store_key: str
    token_url: str | None
    authorization_url: str | None
    api_url: str
    emulator: Any = None

    def store(self) -> TokenStore:
        return open_store(self.store_url)

    def auth(self, store: TokenStore, *, profile_id: str | None = None) -> AdsAuth:
        if not self.client_id:
            raise ConfigurationError("no client id: pass --client-id or set AMAZON_ADS_CLIENT_ID")
        if not self.client_secret:
            self.client_secret = click.prompt("Client secret", hide_input=True, err=True)
        refresh_token = None
        if self.emulator is not None and store.load(f"{self.client_id}/{self.store_key}") is None:
            # A fresh in-process emulator knows no grant yet: give this command a demo one.
            refresh_token = self.emulator.issue_refresh_token()
        return AdsAuth(
            self.client_id,
            self.client_secret or "",
            refresh_token,
            store=store,
            store_key=self.store_key,
            region=self.region,
            token_url=self.token_url,
            authorization_url=self.authorization_url,
            api_hosts=[self.api_url],
            profile_id=profile_id,
        )


def common_options(function: _F) -> _F:
    """The options every command takes; `--emulator` starts a local emulator for one command."""
    decorators = [
        click.option("--client-id", envvar="AMAZON_ADS_CLIENT_ID", help="LwA client id."),
        click.option(
            "--client-secret",
            envvar="AMAZON_ADS_CLIENT_SECRET",
            help="LwA client secret (prompted, hidden, when needed and missing).",
        ),
        click.option(
            "--region",
            envvar="AMAZON_ADS_REGION",
            default="na",
            show_default=True,
            type=click.Choice(["na", "eu", "fe"], case_sensitive=False),
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
            default="default",
            show_default=True,
            help="Which grant (e.g. one per advertiser).",
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


@contextlib.contextmanager
def target_from(options: dict[str, Any]) -> Iterator[Target]:
    """Resolve the common options (starting an emulator for `--emulator`)."""
    region = Region.parse(options.pop("region") or "na")
    use_emulator = options.pop("use_emulator")
    api_url = options.pop("api_url")
    store_url = options.pop("store_url")
    target = Target(
        client_id=options.pop("client_id"),
        client_secret=options.pop("client_secret"),
        region=region,
        # An in-process emulator's grants die with it: keep them out of the real store.
        store_url=store_url or ("memory:" if use_emulator else "file:"),
        store_key=options.pop("store_key"),
        token_url=options.pop("token_url"),
        authorization_url=options.pop("authorization_url"),
        api_url=api_url or region.api_url,
    )
    if not use_emulator:
        yield target
        return
    from .testing import Emulator

    with Emulator() as emulator:
        target.emulator = emulator
        target.client_id = target.client_id or emulator.client_id
        target.client_secret = target.client_secret or emulator.client_secret
        target.token_url = target.token_url or emulator.token_url
        target.authorization_url = target.authorization_url or emulator.authorization_url
        target.api_url = api_url or emulator.api_url
        yield target


def handle_errors(function: _F) -> _F:
    """Turn library errors into one line with a hint and exit code 1."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except AdsAuthError as exc:
            click.echo(f"Error: {explain(exc)}", err=True)
            sys.exit(1)
        except requests.RequestException as exc:
            click.echo(
                f"Error: the Ads API could not be reached ({type(exc).__name__}): check "
                "--region and your network",
                err=True,
            )
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def explain(exc: AdsAuthError) -> str:
    """One line that says what happened and what to do."""
    if isinstance(exc, InvalidGrantError):
        return (
            "the authorization code expired (codes live 5 minutes) or was already used, or "
            "the grant was revoked: run `amazon-ads-auth login` again"
        )
    if isinstance(exc, InvalidClientError):
        return "client authentication failed: check the client id and client secret"
    if isinstance(exc, TokenRequestError) and exc.error == "invalid_scope":
        return (
            "invalid_scope: the client is not yet approved for the Amazon Ads API, or the "
            "scope is wrong"
        )
    if isinstance(exc, AuthorizationDeniedError):
        if exc.error == "access_denied":
            return "consent was denied on the Amazon page: run login again and allow access"
        if exc.error == "invalid_scope":
            return (
                "invalid_scope: the client is not yet approved for the Amazon Ads API, or "
                "the scope is wrong"
            )
    return str(exc)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="amazon-ads-auth")
def main() -> None:
    """Log in to the Amazon Ads API once; get tokens, profiles and status from the shell."""


# ----- login ---------------------------------------------------------------------------------


@main.command()
@common_options
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    default=[DEFAULT_SCOPE],
    show_default=True,
    help="Scope to ask for (repeatable).",
)
@click.option(
    "--redirect-uri",
    default=DEFAULT_REDIRECT_URI,
    show_default=True,
    help="An Allowed Return URL of your client. http://localhost:PORT/... is received here; "
    "anything else (e.g. https://amazon.com) is pasted back.",
)
@click.option("--paste", is_flag=True, help="Paste the redirected URL instead of listening.")
@click.option("--no-browser", is_flag=True, help="Only print the consent URL.")
@click.option("--no-pkce", is_flag=True, hidden=True)
@click.option("--wait", "wait_seconds", type=float, default=CODE_LIFETIME, hidden=True)
@handle_errors
def login(
    scopes: tuple[str, ...],
    redirect_uri: str,
    paste: bool,
    no_browser: bool,
    no_pkce: bool,
    wait_seconds: float,
    **options: Any,
) -> None:
    """Consent, code exchange and profile lookup in one go; stores the grant."""
    with target_from(options) as target:
        store = target.store()
        auth = target.auth(store)
        request = auth.authorization_request(redirect_uri, scope=list(scopes), pkce=not no_pkce)
        listen = not paste and loopback_port(redirect_uri) is not None
        listener = RedirectListener(redirect_uri, request.state).start() if listen else None
        try:
            click.echo("Open this URL to grant access (it is valid for 5 minutes):", err=True)
            click.echo(request.url, err=True)
            opened = False if no_browser else _open_browser(request.url)
            auto = target.emulator is not None and not opened
            if listener is not None:
                if auto:
                    threading.Thread(target=_follow, args=(request.url,), daemon=True).start()
                click.echo(f"Waiting for the redirect to {redirect_uri} ...", err=True)
                code = listener.wait(wait_seconds)
            else:
                # Hidden: the code is a secret and need not stay in the scrollback.
                pasted = (
                    _location(request.url)
                    if auto
                    else click.prompt(
                        "Paste the full URL you were redirected to, or just the code (hidden)",
                        hide_input=True,
                        err=True,
                    )
                )
                code = _code_from(pasted.strip(), request.state)
        finally:
            if listener is not None:
                listener.close()
        token = auth.fetch_token(
            code=code, redirect_uri=redirect_uri, code_verifier=request.code_verifier
        )
        click.echo(
            f"Logged in: grant stored in {store!r} under key "
            f"{auth.client_id}/{target.store_key}; refresh token ends in "
            f"{_last4(token.refresh_token)}",
            err=True,
        )
        _print_profiles(_get_profiles(auth, target.api_url), as_json=False)
        if target.emulator is not None and target.store_url == "memory:":
            click.echo(
                "(emulator: the grant was kept in memory only; pass --store to keep it)", err=True
            )


def _open_browser(url: str) -> bool:
    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return bool(webbrowser.open(url))


def _follow(url: str) -> None:
    """Be the browser for the emulator: load the consent page and follow its redirect.
    The redirect carries the code, so it is fetched with urllib, which logs no URLs
    (requests' urllib3 would write it to a DEBUG log)."""
    with contextlib.suppress(OSError, AdsAuthError):
        location = _location(url)
        if location.startswith(("http://127.0.0.1", "http://localhost")):
            with urllib.request.urlopen(location, timeout=30):  # noqa: S310 - loopback only
                pass


def _location(url: str) -> str:
    answer = requests.get(url, allow_redirects=False, timeout=30)
    location = answer.headers.get("location")
    if answer.status_code not in (301, 302, 303, 307) or not location:
        raise ConfigurationError(
            f"the consent page answered HTTP {answer.status_code} without a redirect: check the "
            "client id and that the redirect URI is an Allowed Return URL"
        )
    return location


def _code_from(pasted: str, state: str) -> str:
    if "://" in pasted or pasted.startswith("?"):
        return parse_redirect(pasted, state)
    if not pasted or any(c.isspace() for c in pasted):
        raise ConfigurationError("that is neither a URL nor an authorization code")
    click.echo("Warning: a bare code cannot be checked against this login's state.", err=True)
    return pasted


# ----- token, profiles -------------------------------------------------------------------------


@main.command()
@common_options
@click.option("--headers", "as_headers", is_flag=True, help="Print Ads API header lines.")
@click.option("--json", "as_json", is_flag=True, help="Print the token fields as JSON.")
@click.option("--profile-id", help="Add the Amazon-Advertising-API-Scope header (--headers).")
@handle_errors
def token(as_headers: bool, as_json: bool, profile_id: str | None, **options: Any) -> None:
    """Print a fresh access token (refreshing if needed), e.g. for curl."""
    with target_from(options) as target:
        auth = target.auth(target.store(), profile_id=profile_id)
        fresh = auth.ensure_token()
        if as_json:
            click.echo(json.dumps(_token_fields(fresh), indent=2))
        elif as_headers:
            for name, value in header_items(auth, fresh).items():
                click.echo(f"{name}: {value}")
        else:
            click.echo(fresh.access_token)


def _token_fields(token: Token) -> dict[str, Any]:
    return {
        "access_token": token.access_token,
        "token_type": token.token_type,
        "expires_at": token.expires_at,
        "expires_in": max(0, round(token.expires_at - time.time())),
        "scope": token.scope,
        "refresh_token_last4": _last4(token.refresh_token),
    }


@main.command()
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print the profiles as JSON.")
@handle_errors
def profiles(as_json: bool, **options: Any) -> None:
    """List the advertising profiles the stored grant can use (GET /v2/profiles)."""
    with target_from(options) as target:
        auth = target.auth(target.store())
        _print_profiles(_get_profiles(auth, target.api_url), as_json=as_json)


def _get_profiles(auth: AdsAuth, api_url: str) -> list[dict[str, Any]]:
    response = requests.get(f"{api_url.rstrip('/')}/v2/profiles", auth=auth, timeout=30)
    if response.status_code != 200:
        try:
            details = response.json().get("details", "")
        except ValueError:
            details = ""
        raise ConfigurationError(
            f"GET /v2/profiles answered HTTP {response.status_code}"
            + (f" ({details})" if details else "")
            + ": check --region and that the client is approved for the Ads API"
        )
    data = response.json()
    return data if isinstance(data, list) else []


def _print_profiles(items: list[dict[str, Any]], *, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(items, indent=2))
        return
    if not items:
        click.echo("No profiles in this region: try --region eu or --region fe.")
        return
    rows = [("PROFILE ID", "COUNTRY", "CURRENCY", "TYPE", "NAME")]
    for item in items:
        info = item.get("accountInfo") or {}
        rows.append(
            (
                str(item.get("profileId", "")),
                str(item.get("countryCode", "")),
                str(item.get("currencyCode", "")),
                str(info.get("type", "")),
                str(info.get("name", "")),
            )
        )
    _print_table(rows)


def _print_table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        click.echo("  ".join(cells).rstrip())


# ----- status, logout ----------------------------------------------------------------------------


@main.command()
@common_options
@handle_errors
def status(**options: Any) -> None:
    """Show stored grants: client, key, access-token expiry, refresh token (last 4)."""
    with target_from(options) as target:
        store = target.store()
        keys = getattr(store, "keys", None)
        if keys is None:
            raise ConfigurationError(
                f"the store {mask_url(target.store_url)} cannot list its grants"
            )
        rows = [("CLIENT ID", "STORE KEY", "ACCESS TOKEN", "REFRESH TOKEN")]
        for key in keys():
            client_id, _, store_key = key.partition("/")
            if target.client_id and client_id != target.client_id:
                continue
            try:
                stored = store.load(key)
            except AdsAuthError as exc:  # one bad grant must not hide the others
                rows.append((client_id, store_key, "unreadable", explain(exc)))
                continue
            if stored is None:
                continue
            refresh = f"yes (...{_last4(stored.refresh_token)})" if stored.refresh_token else "no"
            rows.append((client_id, store_key, _expiry(stored.expires_at), refresh))
        for problem in getattr(store, "problems", lambda: [])():
            rows.append(("?", "?", "unreadable", problem))
        if len(rows) == 1:
            click.echo(f"No grants in {mask_url(target.store_url)}: run `amazon-ads-auth login`.")
            return
        _print_table(rows)


@main.command()
@common_options
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@handle_errors
def logout(yes: bool, **options: Any) -> None:
    """Delete a stored grant (a corrupt one too)."""
    with target_from(options) as target:
        if not target.client_id:
            raise ConfigurationError("no client id: pass --client-id or set AMAZON_ADS_CLIENT_ID")
        store = target.store()
        key = f"{target.client_id}/{target.store_key}"
        try:
            found = store.load(key) is not None
        except AdsAuthError as exc:
            click.echo(f"The grant {key} cannot be read ({explain(exc)}).", err=True)
            found = True
        if not found:
            click.echo(f"No grant stored under {key}.")
            return
        where = mask_url(target.store_url)
        if not yes:
            click.confirm(f"Delete the grant {key} from {where}?", abort=True, err=True)
        with store.lock(key):
            store.delete(key)
        click.echo(f"Deleted the grant {key}.")


# ----- emulator ----------------------------------------------------------------------------------


@main.command()
@click.option("--port", type=int, default=8080, show_default=True, help="0 picks a free port.")
def emulator(port: int) -> None:
    """Run the local LwA + Ads API emulator in the foreground (Ctrl-C stops it)."""
    from .testing import Emulator

    with Emulator(port=port) as emu:
        refresh_token = emu.issue_refresh_token()
        click.echo(f"Emulator running at {emu.url}")
        click.echo(f"  token URL:         {emu.token_url}")
        click.echo(f"  authorization URL: {emu.authorization_url}")
        click.echo(f"  Ads API URL:       {emu.api_url}")
        click.echo(f"  client id:         {emu.client_id}")
        click.echo(f"  client secret:     {emu.client_secret}  (demo credentials)")
        click.echo(f"  a refresh token:   {refresh_token}")
        click.echo(
            "Try: amazon-ads-auth login --no-browser --store memory: "
            f"--client-id {emu.client_id} --client-secret {emu.client_secret} "
            f"--token-url {emu.token_url} --authorization-url {emu.authorization_url} "
            f"--api-url {emu.api_url}"
        )
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


def _last4(secret: str | None) -> str:
    return secret[-4:] if secret and len(secret) >= 12 else "----"


def _expiry(expires_at: float) -> str:
    delta = expires_at - time.time()
    amount = abs(delta)
    if amount < 90:
        text = f"{amount:.0f} s"
    elif amount < 90 * 60:
        text = f"{amount / 60:.0f} min"
    else:
        text = f"{amount / 3600:.1f} h"
    return f"expires in {text}" if delta > 0 else f"expired {text} ago"
