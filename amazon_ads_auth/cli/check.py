"""`amazon-ads-auth check`: the health of every stored grant, for a person or for cron/CI.

A table on a terminal, `--json` for machines; exit 0 only when every grant is ok, 1 when
any is not (or a named grant is missing), 2 on usage errors. With more than 20 grants a
counter runs on stderr, only when stderr is a terminal.
"""

from __future__ import annotations

import datetime
import json
import re
import sys
from typing import Any

import click

from .._logins.records import shorten
from .._logins.resolve import ENV
from .._ops.check import DEFAULT_CONCURRENCY, GrantCheck, all_ok, check_grants
from .errors import handle_errors
from .output import print_table
from .target import profile_option, store_options, target_from

PROGRESS_FROM = 20  # grants: fewer finish before anyone would look at a counter
_UNITS = {"d": 1.0, "w": 7.0, "h": 1 / 24, "": 1.0}


def parse_within(text: str) -> datetime.timedelta:
    """ "30d", "2w", "12h" or a plain number of days.

    Raises: click.BadParameter for anything else."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dwh]?)\s*", text.lower())
    if match is None:
        raise click.BadParameter(f"{text!r} is not a duration: use e.g. 30d, 2w or 12h")
    return datetime.timedelta(days=float(match.group(1)) * _UNITS[match.group(2)])


def _within(context: click.Context, parameter: click.Parameter, value: str) -> datetime.timedelta:
    return parse_within(value)


@click.command(short_help="Check the health of every stored grant.")
@store_options
@click.option(
    "--client-secret",
    envvar=ENV["client_secret"],
    help="The secret of --client-id, for logins saved without one.",
)
@click.option("--tenant", help="Only this web tenant's grant (ConsentFlow; stored as tenant:<id>).")
@profile_option
@click.option(
    "--within",
    default="30d",
    show_default=True,
    callback=_within,
    help="Report a grant as expiring when its refresh token ends within this (30d, 2w, 12h).",
)
@click.option(
    "--no-refresh",
    is_flag=True,
    help="No token request for a grant whose stored token is still valid.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1, max=256),
    default=DEFAULT_CONCURRENCY,
    show_default=True,
    help="Grants checked at once.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per grant, in a list.")
@handle_errors
def check(
    tenant: str | None,
    profile_id: str | None,
    within: datetime.timedelta,
    no_refresh: bool,
    concurrency: int,
    as_json: bool,
    **options: Any,
) -> None:
    """Classify every stored grant (ok, expiring, revoked, expired, client, unreachable,
    unreadable, no secret) with one token request each at most. Exit 0 only when all
    are ok."""
    if tenant is not None and options.get("store_key"):
        raise click.UsageError("--tenant and --store-key name different grants: give one")
    with target_from(options) as target:
        secret = target.client_secret if target.client_id else None
        extra: dict[str, Any] = {}
        if target.emulator is not None:  # the demo logins of this command's emulator
            extra = {"token_url": target.token_url, "api_url": target.api_url}
        results = check_grants(
            target.store(),
            store_key=target.store_key,
            tenant=tenant,
            profile_id=profile_id,
            client_id=target.client_id,
            client_secret=secret,
            within=within,
            refresh=not no_refresh,
            concurrency=concurrency,
            progress=_progress(),
            demo=target.emulator is not None,
            **extra,
        )
        named = target.store_key or tenant or profile_id
        if as_json:
            click.echo(json.dumps([r.to_dict() for r in results], indent=2))
        elif not results:
            click.echo(f"No grants{' match' if named else ''} in {target.where}.", err=True)
        else:
            print_table(_rows(results))
            _summary(results)
        if not results and named:
            raise SystemExit(1)  # a grant the caller named is not there
        if not all_ok(results):
            raise SystemExit(1)


def _rows(results: list[GrantCheck]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = [
        ("STORE KEY", "KIND", "CLIENT ID", "REGION", "STATE", "DAYS LEFT", "DETAIL")
    ]
    for r in results:
        days = "unknown" if r.days_left is None else str(r.days_left)
        detail = "" if r.ok else r.detail
        kind = "?" if r.key == "?" else r.namespace  # KIND as `status` shows it
        row = (r.store_key, kind, shorten(r.client_id), r.region, r.state.value, days, detail)
        rows.append(row)
    return rows


def _summary(results: list[GrantCheck]) -> None:
    bad = [r for r in results if not r.ok]
    if bad:
        click.echo(f"{len(bad)} of {len(results)} grants need attention.", err=True)
    else:
        click.echo(
            "1 grant, ok." if len(results) == 1 else f"All {len(results)} grants are ok.", err=True
        )


def _progress() -> Any:
    """A counter on stderr for more than 20 grants, only on a terminal (never a pipe)."""
    stream = sys.stderr
    if not stream.isatty():
        return None

    def show(done: int, total: int) -> None:
        if total > PROGRESS_FROM:
            end = "\n" if done == total else ""
            stream.write(f"\rchecked {done}/{total} grants{end}")
            stream.flush()

    return show
