"""`amazon-ads-auth status`: every stored grant, sorted by key, with its consent, its
refresh token's expiry, its last refresh and a state; `--json`; `--expiring-within`."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from typing import Any

import click

from .._errors import AdsAuthError
from .._logins.records import Login, cannot_be_read, shorten
from .._redact import printable
from .._token import Token
from .errors import explain, handle_errors
from .output import (
    expiry,
    in_days,
    key_flag,
    last4,
    last_refresh_text,
    login_fields,
    parse_within,
    print_table,
    state_text,
    utc_text,
)
from .target import store_options, target_from


@click.command(short_help="Show every stored login, its token and its consent.")
@store_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per grant (no secrets).")
@click.option(
    "--expiring-within",
    "within",
    metavar="DURATION",
    help="Only grants whose refresh token expires within DURATION (30d, 12h, 2w); exit 1 "
    "when there is any.",
)
@handle_errors
def status(as_json: bool, within: str | None, **options: Any) -> None:
    """Every stored login, sorted by key: client, region, access token, consent date,
    refresh-token expiry, last refresh and state (ok, revoked, expired, expiring in N days,
    unreadable)."""
    window = parse_within(within) if within is not None else None
    with target_from(options) as target:
        store = target.store()
        now = time.time()
        warn = window if window is not None else EXPIRING_SOON
        shown: list[tuple[Login, Token | None]] = []
        for login in target.logins():
            if target.client_id and login.client_id != target.client_id:
                continue
            stored: Token | None = None
            if login.unreadable is None:
                try:
                    stored = store.load(login.key)
                except AdsAuthError as exc:  # one bad grant must not hide the others
                    login = dataclasses.replace(login, unreadable=explain(exc))
                else:
                    if stored is None:
                        continue
            if window is not None and not _expires_within(login, now, window):
                continue
            shown.append((login, stored))
        problems: list[str] = [] if window is not None else _problems(store)
        if as_json:
            objects = [login_fields(x, t, now, warn) for x, t in shown]
            objects += [
                {"store_key": None, "state": "unreadable", "unreadable": printable(p)}
                for p in problems
            ]
            click.echo(json.dumps(objects, indent=2))
        elif not shown and not problems:
            if window is not None:
                click.echo(f"No grant in {target.where} expires within {within}.")
            else:
                click.echo(f"No logins in {target.where}: run `amazon-ads-auth login`.")
        else:
            _status_table(shown, problems, now, warn)
        if window is not None and shown:
            sys.exit(1)


EXPIRING_SOON = 30 * 86400.0  # `status` calls a grant "expiring" this long before its end


def _expires_within(login: Login, now: float, window: float) -> bool:
    if login.last_refresh == "expired":
        return True
    expires = login.refresh_expires_at
    return expires is not None and expires - now <= window


def _problems(store: Any) -> list[str]:
    problems = getattr(store, "problems", None)
    return list(problems()) if callable(problems) else []


def _status_table(
    shown: list[tuple[Login, Token | None]], problems: list[str], now: float, warn: float
) -> None:
    rows = [
        (
            "STORE KEY",
            "KIND",
            "CLIENT ID",
            "REGION",
            "ACCESS TOKEN",
            "REFRESH",
            "SECRET",
            "PROFILES",
            "CONSENTED",
            "REFRESH TOKEN EXPIRES",
            "LAST REFRESH",
            "STATE",
        )
    ]
    advice: list[str] = []
    for login, stored in shown:
        state = state_text(login, now, warn)
        if login.unreadable is not None:
            advice.append(str(cannot_be_read(login)))
            rows.append(
                (
                    login.store_key,
                    login.namespace,
                    shorten(login.client_id),
                    "?",
                    "unreadable",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "unreadable",
                )
            )
            continue
        assert stored is not None
        if state in ("revoked", "expired") or state.startswith("expiring"):
            advice.append(_renew_advice(login, state))
        rows.append(
            (
                login.store_key,
                login.namespace,
                shorten(login.client_id),
                login.region if login.recorded else "?",
                expiry(stored.expires_at),
                f"...{last4(stored.refresh_token)}" if stored.refresh_token else "none",
                "saved" if login.has_secret else "not saved",
                str(len(login.profiles)) if login.recorded and login.profiles_known else "?",
                utc_text(login.consented_at, date_only=True) or "unknown",
                in_days(login.refresh_expires_at, now),
                last_refresh_text(login),
                state,
            )
        )
    for problem in problems:
        rows.append(("?", "?", "?", "?", "unreadable", "", "", "", "", "", "", "unreadable"))
        advice.append(problem)
    print_table(rows)
    for line in advice:
        click.echo(printable(line))


def _renew_advice(login: Login, state: str) -> str:
    """What to do about a grant that is revoked, expired or expiring: connect again."""
    if login.namespace == "tenant":
        return f"{login.store_key}: {state}: ask the advertiser to connect again from your app"
    return f"{login.store_key}: {state}: run `amazon-ads-auth login{key_flag(login)}`"
