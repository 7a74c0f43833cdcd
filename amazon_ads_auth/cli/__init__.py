"""The `amazon-ads-auth` command: Amazon's three onboarding steps in one `login`, plus the
commands people reach for when debugging (token, api, profiles, status, logout, emulator).

Exit codes: 0 ok, 1 a user-fixable error (one line, with a hint), 2 usage.
"""

from __future__ import annotations

import contextlib
import json
import shlex
from collections.abc import Callable
from typing import Any, TypeVar

import click

from .._auth.connect import connect
from .._errors import AdsAuthError, StoreError
from .._logins.profiles import fetch_profiles
from .._logins.records import (
    DEFAULT_STORE_KEY,
    Login,
    choose,
    save_login,
)
from .._lwa.consent import DEFAULT_SCOPE
from .._redact import printable
from .._refresh.events import GrantConnected, GrantDisconnected, deliver
from .._stores.base import LoginRecordStore
from .._stores.grant import GrantRecordStore
from .._stores.keys import GrantKey
from .api import api
from .check import check
from .consent import receive_code
from .errors import explain, handle_errors
from .loopback import CODE_LIFETIME, RedirectListener, loopback_port
from .mcp import mcp
from .output import (
    key_flag,
    last4,
    print_profiles,
    profile_items,
    token_fields,
)
from .sandbox import serve_emulator, set_demo_logged_out
from .status import status
from .store import store
from .target import Target, common_options, profile_option, store_options, target_from

DEFAULT_REDIRECT_URI = "http://localhost:8765/callback"
# The emulator's client accepts any loopback redirect URI: --emulator listens on a free port.
EMULATOR_REDIRECT_URI = "http://localhost:0/callback"
_F = TypeVar("_F", bound=Callable[..., Any])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="amazon-ads-auth")
def main() -> None:
    """Log in to the Amazon Ads API once; get tokens, profiles and status from the shell."""


main.add_command(api)
main.add_command(store)
main.add_command(mcp)
main.add_command(check)
main.add_command(status)


# ----- login ---------------------------------------------------------------------------------


@main.command(short_help="Log in: consent, code exchange, profiles; stores it.")
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
    default=None,
    help="An Allowed Return URL of your client. http://localhost:PORT/... is received here; "
    "anything else (e.g. https://amazon.com) is pasted back; port 0 listens on a free port "
    f"(for clients that accept any, like the emulator's).  [default: {DEFAULT_REDIRECT_URI}; "
    f"with --emulator, {EMULATOR_REDIRECT_URI}]",
)
@click.option("--paste", is_flag=True, help="Paste the redirected URL instead of listening.")
@click.option("--no-browser", is_flag=True, help="Only print the consent URL.")
@click.option(
    "--no-save-secret",
    is_flag=True,
    help="Do not keep the client secret with the grant (later commands then ask for it).",
)
@click.option("--no-pkce", is_flag=True, hidden=True)
@click.option("--wait", "wait_seconds", type=float, default=CODE_LIFETIME, hidden=True)
@handle_errors
def login(
    scopes: tuple[str, ...],
    redirect_uri: str | None,
    paste: bool,
    no_browser: bool,
    no_save_secret: bool,
    no_pkce: bool,
    wait_seconds: float,
    **options: Any,
) -> None:
    """Consent, code exchange and profile lookup in one go; stores the login."""
    with target_from(options) as target, contextlib.ExitStack() as cleanup:
        GrantKey.login("-", target.store_key)  # a CLI store key never reaches a web tenant
        auth = target.login_auth()
        if redirect_uri is None:
            emulated = target.emulator is not None
            redirect_uri = EMULATOR_REDIRECT_URI if emulated else DEFAULT_REDIRECT_URI
        listener = None
        if not paste and loopback_port(redirect_uri) == 0:
            listener = RedirectListener(redirect_uri)  # bound now, on a free port
            cleanup.callback(listener.close)
            redirect_uri = listener.redirect_uri
        request = auth.authorization_request(redirect_uri, scope=list(scopes), pkce=not no_pkce)
        code = receive_code(
            request,
            paste=paste,
            no_browser=no_browser,
            emulated=target.emulator is not None,
            wait_seconds=wait_seconds,
            listener=listener,
        )
        api_url = target.api_url or auth.region.api_url
        record = Login(
            client_id=auth.client_id,
            store_key=target.store_key or DEFAULT_STORE_KEY,
            region=auth.region.value,
            scope=request.scope,
            token_url=target.token_url or auth.region.token_url,
            authorization_url=target.authorization_url or auth.region.authorization_url,
            api_url=api_url,
            client_secret=None if no_save_secret else target.client_secret,
            demo=target.emulator is not None,
        )
        settings = {
            "client_id": auth.client_id,
            "client_secret": target.client_secret or "",
            **{k: v for k, v in target.overrides().items() if k != "client_secret"},
        }
        connected = connect(
            settings,
            lambda scratch: scratch.fetch_token(
                code=code, redirect_uri=redirect_uri, code_verifier=request.code_verifier
            ),
            record,
            target.store(),
            api_url=api_url,
        )
        record = connected.login
        recorded = isinstance(target.store(), (GrantRecordStore, LoginRecordStore))
        deliver(GrantConnected(record.key, record.region, "cli", len(record.profiles)), None)
        click.echo(
            f"Logged in: {printable(record.label())} stored in {target.where}; refresh token "
            f"ends in {last4(connected.token.refresh_token)}"
            + ("" if recorded else " (this store keeps no login record: pass --client-id later)"),
            err=True,
        )
        if connected.profiles_error is not None:
            click.echo(
                f"Warning: the grant is saved, but its profiles could not be fetched "
                f"({explain(connected.profiles_error)}): run `amazon-ads-auth profiles "
                f"--refresh{key_flag(record)}` to fetch them later.",
                err=True,
            )
        else:
            print_profiles(profile_items(record.profiles), as_json=False)
        if target.emulator is not None:
            set_demo_logged_out(False)
            named = (
                ""
                if record.store_key == DEFAULT_STORE_KEY
                else f" --store-key {shlex.quote(record.store_key)}"
            )
            click.echo(
                f"Demo login: try `amazon-ads-auth token --headers --emulator{named}`.", err=True
            )


# ----- token, profiles -------------------------------------------------------------------------


@main.command(short_help="Print a fresh access token (e.g. for curl).")
@common_options
@click.option("--headers", "as_headers", is_flag=True, help="Print Ads API header lines.")
@click.option("--json", "as_json", is_flag=True, help="Print the token fields as JSON.")
@profile_option
@handle_errors
def token(as_headers: bool, as_json: bool, profile_id: str | None, **options: Any) -> None:
    """Print a fresh access token (refreshing if needed), e.g. for curl."""
    with target_from(options) as target:
        auth, _ = target.resolve(profile_id=profile_id)
        fresh = auth.ensure_token()
        if as_json:
            click.echo(json.dumps(token_fields(fresh), indent=2))
        elif as_headers:
            for name, value in auth.headers().items():
                click.echo(f"{name}: {value}")
        else:
            click.echo(fresh.access_token)


@main.command(short_help="List the login's advertising profiles.")
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print the profiles as JSON.")
@click.option("--refresh", is_flag=True, help="Ask the Ads API again and update the record.")
@handle_errors
def profiles(as_json: bool, refresh: bool, **options: Any) -> None:
    """List the advertising profiles of the login (as recorded; --refresh asks again)."""
    with target_from(options) as target:
        auth, login = target.resolve()
        if refresh or not login.recorded or not login.profiles:
            login = login.with_profiles(fetch_profiles(auth, target.api_url_for(login)))
            if login.recorded:
                save_login(target.store(), login)
        print_profiles(profile_items(login.profiles), as_json=as_json)


# ----- status, logout ----------------------------------------------------------------------------


@main.command(short_help="Delete a stored login (a corrupt one too).")
@store_options
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@handle_errors
def logout(yes: bool, **options: Any) -> None:
    """Delete a stored login (a corrupt one too)."""
    with target_from(options) as target:
        store = target.store()
        if target.emulator is not None:
            set_demo_logged_out(True)  # no new demo login until `login --emulator`
        key = _chosen_key(target)
        try:
            found = store.load(key) is not None
        except AdsAuthError as exc:
            click.echo(
                f"The grant {printable(key)} cannot be read ({printable(explain(exc))}).",
                err=True,
            )
            found = True
        if not found:
            click.echo(f"No grant stored under {printable(key)}.")
            return
        if not yes:
            click.confirm(
                f"Delete the grant {printable(key)} from {target.where}?", abort=True, err=True
            )
        with store.lock(key):
            store.delete(key)
        deliver(GrantDisconnected(key, "cli"), None)  # to add_event_listener listeners
        click.echo(f"Deleted the grant {printable(key)}.")


def _chosen_key(target: Target) -> str:
    """The login to delete: one named by --store-key is found even when it cannot be read
    (it is not loaded); without a store key, an unreadable "default" is an error naming
    it, never a reason to pick another login."""
    if target.store_key is not None:
        GrantKey.login("-", target.store_key)  # a CLI store key never reaches a web tenant
    if target.client_id and target.store_key:
        return str(GrantKey.login(target.client_id, target.store_key))
    if target.store_key is not None:
        named = [
            x
            for x in target.logins()
            if x.store_key == target.store_key and target.client_id in (None, x.client_id)
        ]
        if len(named) == 1:
            return named[0].key
    try:
        chosen = choose(
            target.logins(),
            where=target.where,
            store_key=target.store_key,
            client_id=target.client_id,
            pick_with="--store-key",
        )
    except StoreError:
        if not target.client_id:
            raise  # flag-free: the login meant cannot be read; the message says what to run
        return str(GrantKey.login(target.client_id, target.store_key))
    except AdsAuthError:
        if not target.client_id:
            raise
        return str(GrantKey.login(target.client_id, target.store_key))
    return chosen.key


# ----- emulator ----------------------------------------------------------------------------------


@main.command(short_help="Run a local LwA + Ads API emulator.")
@click.option("--port", type=int, default=8080, show_default=True, help="0 picks a free port.")
def emulator(port: int) -> None:
    """Run the local LwA + Ads API emulator in the foreground (Ctrl-C stops it)."""
    serve_emulator(port)
