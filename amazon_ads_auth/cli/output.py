"""How the CLI shows things: tables, expiry in words, the last 4 characters of a secret."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import click

from .._logins.records import Profile
from .._token import Token


def last4(secret: str | None) -> str:
    return secret[-4:] if secret and len(secret) >= 12 else "----"


def expiry(expires_at: float) -> str:
    delta = expires_at - time.time()
    amount = abs(delta)
    if amount < 90:
        text = f"{amount:.0f} s"
    elif amount < 90 * 60:
        text = f"{amount / 60:.0f} min"
    else:
        text = f"{amount / 3600:.1f} h"
    return f"expires in {text}" if delta > 0 else f"expired {text} ago"


def token_fields(token: Token) -> dict[str, Any]:
    """`token --json`: everything but the refresh token, of which only the last 4."""
    return {
        "access_token": token.access_token,
        "token_type": token.token_type,
        "expires_at": token.expires_at,
        "expires_in": max(0, round(token.expires_at - time.time())),
        "scope": token.scope,
        "refresh_token_last4": last4(token.refresh_token),
    }


def profile_items(profiles: Sequence[Profile]) -> list[dict[str, Any]]:
    """Recorded profiles as `GET /v2/profiles` returned them, every field kept."""
    return [dict(p.raw) for p in profiles]


def print_profiles(items: list[dict[str, Any]], *, as_json: bool) -> None:
    import json

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
    print_table(rows)


def print_table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        click.echo("  ".join(cells).rstrip())
