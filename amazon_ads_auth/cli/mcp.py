"""`amazon-ads-auth mcp`: Amazon's Ads MCP server with the stored login, for assistants.

mcp stdio    a local MCP server over stdio relaying to the endpoint (the secure default)
mcp proxy    a loopback HTTP proxy for clients that only take a URL
mcp config   the assistant's JSON that starts `mcp stdio` (never a token)
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

from .._errors import AdsAuthError, ConfigurationError
from ..mcp.accounts import Fixed
from ..mcp.auth import McpAuth
from ..mcp.config import CLIENTS, BridgeChoice, config_document, default_path, write_config
from ..mcp.endpoints import AMAZON_MCP, MCP_URL_VARIABLE
from .errors import explain, handle_errors
from .target import common_options, profile_option, target_from

_F = TypeVar("_F", bound=Callable[..., Any])


def _account_options(function: _F) -> _F:
    """Which login, which account, which endpoint: shared by stdio and proxy."""
    function = click.option(
        "--mcp-url", envvar=MCP_URL_VARIABLE, hidden=True, help="Another MCP endpoint URL."
    )(function)
    function = click.option(
        "--lite", is_flag=True, help="Amazon's lite endpoint (/mcp/lite: a few meta-tools)."
    )(function)
    function = click.option(
        "--manager-account-id",
        help="Fixed account mode on this manager account (Amazon-Ads-Manager-AccountID).",
    )(function)
    function = click.option(
        "--account-id", help="Fixed account mode on this account (Amazon-Ads-AccountID)."
    )(function)
    function = profile_option(function)
    return common_options(function)


@click.group(short_help="Amazon's Ads MCP server for AI assistants (stdio, proxy, config).")
def mcp() -> None:
    """Use Amazon's Ads MCP server from AI assistants with the stored login: no token in
    any config, refreshed for as long as the session runs."""


def _account(profile_id: str | None, account_id: str | None, manager: str | None) -> Fixed | None:
    given = [v for v in (profile_id, account_id, manager) if v is not None]
    if not given:
        return None
    if len(given) > 1:
        raise click.UsageError(
            "give one of --profile-id, --account-id or --manager-account-id (fixed account "
            "mode pins one account), or none for Amazon's default mode"
        )
    return Fixed(profile_id=profile_id, account_id=account_id, manager_account_id=manager)


@contextlib.contextmanager
def _mcp_auth(options: dict[str, Any], *, ask_secret: bool) -> Iterator[McpAuth]:
    profile_id = options.pop("profile_id")
    account = _account(profile_id, options.pop("account_id"), options.pop("manager_account_id"))
    lite, url = options.pop("lite"), options.pop("mcp_url")
    with target_from(options) as target:
        if not ask_secret and target.emulator is None:  # stdin is the MCP stream: no prompt
            login = target._lookup(profile_id).find(pick_with="--store-key")
            if not login.has_secret and not target.client_secret:
                raise ConfigurationError(
                    f"no client secret is stored for {login.label()}: log in again without "
                    "--no-save-secret, or set AMAZON_ADS_CLIENT_SECRET in the server's env"
                )
        auth, _ = target.resolve(profile_id=profile_id)
        if url is None and target.emulator is not None:
            url = target.emulator.api_url + AMAZON_MCP.path
        yield McpAuth(auth, account=account, url=url, lite=lite)


@mcp.command(short_help="Serve MCP over stdio, relayed with fresh headers (for assistants).")
@_account_options
def stdio(**options: Any) -> None:
    """A local MCP server on stdin/stdout that relays every message to Amazon's Ads MCP
    endpoint with fresh headers. No port, no token on disk or in any config."""
    from ..mcp.bridge import run_stdio, run_stdio_refusing

    try:
        with _mcp_auth(options, ask_secret=False) as auth:
            click.echo(f"amazon-ads-auth mcp: relaying to {auth.url}", err=True)
            run_stdio(auth)
    except AdsAuthError as exc:
        # No usable login: the assistant still gets an answer it can show.
        text = f"Amazon Ads login needed: {explain(exc)}"
        click.echo(f"Error: {explain(exc)}", err=True)
        run_stdio_refusing(text)


@mcp.command(short_help="A loopback HTTP proxy with fresh headers, for URL-only clients.")
@_account_options
@click.option(
    "--listen",
    default="127.0.0.1",
    show_default=True,
    help="Loopback address to listen on: 127.0.0.1 or ::1 (nothing else).",
)
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="Port (default: free).")
@handle_errors
def proxy(listen: str, port: int, **options: Any) -> None:
    """Serve Amazon's Ads MCP endpoint on a loopback URL with a secret path, printed once.
    Stop with Ctrl-C (or SIGTERM)."""
    from ..mcp.proxy import bind, loopback_address, serve_proxy

    try:
        address = loopback_address(listen)
    except ConfigurationError as exc:
        raise click.BadParameter(str(exc), param_hint="'--listen'") from None
    with _mcp_auth(options, ask_secret=True) as auth:
        auth.headers()  # a login that cannot give a token fails now, not in the client
        sock = bind(address, port)

        def ready(url: str) -> None:
            click.echo(url)  # the capability URL, shown once (stdout only, never logged)
            click.echo(f"proxying to {auth.url}; Ctrl-C to stop", err=True)
            sys.stdout.flush()

        serve_proxy(auth, sock, ready)


@mcp.command(short_help="Print (or --write) an assistant's config that runs `mcp stdio`.")
@click.option("--client", type=click.Choice(CLIENTS), required=True, help="The assistant.")
@click.option("--store-key", help="Which login the bridge uses.")
@profile_option
@click.option("--account-id", help="Fixed account mode on this account.")
@click.option("--region", type=click.Choice(["na", "eu", "fe"]), help="The MCP region.")
@click.option("--lite", is_flag=True, help="Amazon's lite endpoint.")
@click.option("--name", default="amazon-ads", show_default=True, help="The server's name.")
@click.option("--write", is_flag=True, help="Merge it into the assistant's file (backup kept).")
@click.option("--path", type=click.Path(dir_okay=False, path_type=Path), help="That file.")
@handle_errors
def config(
    client: str,
    store_key: str | None,
    profile_id: str | None,
    account_id: str | None,
    region: str | None,
    lite: bool,
    name: str,
    write: bool,
    path: Path | None,
) -> None:
    """The JSON an assistant needs to start the stdio bridge; it holds no token or secret
    (the bridge reads the stored login when it starts)."""
    choice = BridgeChoice(store_key, profile_id, account_id, region, lite)
    document = config_document(client, choice, name)
    if not write:
        click.echo(json.dumps(document, indent=2))
        return
    written = write_config(path or default_path(client), document)
    click.echo(written.diff or "(no change)")
    if written.backup is not None:
        click.echo(f"backup: {written.backup}", err=True)
    click.echo(f"wrote {written.path}; restart the assistant to load it", err=True)
