"""How the CLI shows things: tables, expiry in words, the last 4 characters of a secret."""

from __future__ import annotations

import datetime
import math
import time
from collections.abc import Sequence
from typing import Any

import click

from .._logins.records import Login, Profile
from .._redact import printable
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
    rows = [[printable(cell) for cell in row] for row in rows]  # stored text never escapes
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        click.echo("  ".join(cells).rstrip())


DAY = 86400.0


def utc_text(when: float | None, *, date_only: bool = False) -> str | None:
    """ISO 8601 in UTC ("2026-07-01T09:30:00Z", or the date alone), None for None."""
    if when is None:
        return None
    moment = datetime.datetime.fromtimestamp(when, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%d" if date_only else "%Y-%m-%dT%H:%M:%SZ")


def in_days(when: float | None, now: float) -> str:
    """ "in 212 days", "today", "3 days ago", or "unknown"."""
    if when is None:
        return "unknown"
    days = int((when - now) // DAY) if when >= now else -int((now - when) // DAY)
    if days == 0:
        return "today" if when >= now else "today (passed)"
    if days > 0:
        return f"in {days} day{'s' if days != 1 else ''}"
    return f"{-days} day{'s' if days != -1 else ''} ago"


def state_text(login: Login, now: float, within: float) -> str:
    """The STATE column: ok, revoked, expired, "expiring in N days", unreadable."""
    state = login.state_at(now, expiring_within=within)
    if state == "expiring" and login.refresh_expires_at is not None:
        days = max(0, int((login.refresh_expires_at - now) // DAY))
        return f"expiring in {days} day{'s' if days != 1 else ''}"
    return state


def last_refresh_text(login: Login) -> str:
    if login.last_refresh is None or login.last_refresh_at is None:
        return "-"
    return f"{login.last_refresh} {utc_text(login.last_refresh_at, date_only=True)}"


def login_fields(login: Login, token: Token | None, now: float, within: float) -> dict[str, Any]:
    """`status --json`: one object per grant, no secrets (the refresh token's last 4 only).

    Fields: store_key, namespace ("login" or "tenant"), tenant, client_id, region, demo,
    recorded, state (ok, revoked, expired, expiring, unreadable), unreadable (why, or null),
    consented_at, refresh_expires_at (ISO 8601 UTC, or null when unknown),
    refresh_expires_in_days, last_refresh ({outcome, at, error} or null),
    access_token_expires_at, refresh_token_last4, secret_saved, profiles (count, or null
    when unknown)."""
    outcome = None
    if login.last_refresh is not None:
        outcome = {
            "outcome": login.last_refresh,
            "at": utc_text(login.last_refresh_at),
            "error": login.last_refresh_error,
        }
    expires = login.refresh_expires_at
    return {
        "store_key": printable(login.store_key),
        "namespace": login.namespace,
        "tenant": None if login.tenant is None else printable(login.tenant),
        "client_id": printable(login.client_id),
        "region": login.region if login.recorded else None,
        "demo": login.demo,
        "recorded": login.recorded,
        "state": login.state_at(now, expiring_within=within),
        "unreadable": None if login.unreadable is None else printable(login.unreadable),
        "consented_at": utc_text(login.consented_at),
        "refresh_expires_at": utc_text(expires),
        "refresh_expires_in_days": None if expires is None else int((expires - now) // DAY),
        "last_refresh": outcome,
        "access_token_expires_at": utc_text(token.expires_at) if token else None,
        "refresh_token_last4": last4(token.refresh_token) if token else None,
        "secret_saved": login.has_secret,
        "profiles": len(login.profiles) if login.recorded and login.profiles_known else None,
    }


def parse_within(text: str) -> float:
    """ "30d", "12h", "2w" or a number of days, in seconds.

    Raises: click.BadParameter."""
    value = text.strip().lower()
    unit = {"d": DAY, "h": 3600.0, "w": 7 * DAY}.get(value[-1:])
    number = value[:-1] if unit is not None else value
    try:
        amount = float(number)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a duration: use 30d, 12h or 2w") from None
    if not math.isfinite(amount) or amount < 0:
        raise click.BadParameter(f"{text!r} is not a duration: use 30d, 12h or 2w")
    return amount * (unit or DAY)


def key_flag(login: Login) -> str:
    """ " --store-key K" for a login that is not the default one (shell-quoted)."""
    if login.store_key == "default":
        return ""
    import shlex

    return f" --store-key {shlex.quote(printable(login.store_key))}"
