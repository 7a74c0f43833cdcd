"""`amazon-ads-auth api [METHOD] PATH`: call the Ads API with the stored login, in the
manner of `gh api` and `az rest`.

The login is resolved as for `token`; `--profile-id` adds the Scope header. A PATH is
joined to the login's Ads API URL; a full URL must be an Ads API host of that login (the
token is never sent anywhere else), written plainly: an authority with a backslash or an
`@` (userinfo) is refused with exit 2, because HTTP libraries and `urlsplit` read such a
URL's host differently. The host rule is checked on the URL as requests prepared it, the
one it sends to; the body and `--header` values go nowhere else either. The answer's body
is pretty JSON on a terminal and as received otherwise (`--raw` keeps it as received), with
the call's own token redacted if it echoes it; a non-2xx answer prints Amazon's error body
and exits 1.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import click

from .._errors import ConfigurationError
from .._redact import printable, redact
from .errors import handle_errors
from .target import common_options, profile_option, target_from

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")


def parse_headers(values: tuple[str, ...]) -> dict[str, str]:
    """`--header "Name: value"` options as a dict.

    Raises: click.BadParameter for one without a colon or with a line break."""
    headers: dict[str, str] = {}
    for value in values:
        name, colon, text = value.partition(":")
        if not colon or not name.strip() or any(c in value for c in "\r\n\0"):
            raise click.BadParameter(f"{value!r} is not 'Name: value'", param_hint="'--header'")
        headers[name.strip()] = text.strip()
    return headers


def read_data(data: str | None) -> bytes | None:
    """`--data JSON`, `--data @file` or `--data @-` (standard input), checked to be JSON.

    Raises: click.BadParameter for a file that cannot be read or text that is not JSON."""
    if data is None:
        return None
    if data.startswith("@"):
        source = data[1:]
        try:
            text = sys.stdin.read() if source == "-" else Path(source).read_text("utf-8")
        except OSError as exc:
            raise click.BadParameter(
                f"cannot read {source}: {exc.strerror}", param_hint="'--data'"
            ) from None
    else:
        text = data
    try:
        json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON ({exc})", param_hint="'--data'") from None
    return text.encode()


def split_arguments(arguments: tuple[str, ...], has_data: bool) -> tuple[str, str]:
    """(METHOD, PATH) from `[METHOD] PATH`: GET by default, POST when there is a body."""
    if len(arguments) == 1:
        return ("POST" if has_data else "GET"), arguments[0]
    if len(arguments) == 2 and arguments[0].upper() in _METHODS:
        return arguments[0].upper(), arguments[1]
    raise click.UsageError(
        f"expected [METHOD] PATH, METHOD one of {', '.join(_METHODS)}; got {' '.join(arguments)}"
    )


def plain_authority(url: str) -> str | None:
    """Why `url`'s authority (between "//" and the path) is not written plainly, or None:
    a backslash (a slash to some libraries, not to others) or an "@" (userinfo, which can
    hide the real host)."""
    rest = url.partition("://")[2]
    end = min([i for i in (rest.find(c) for c in "/?#") if i >= 0], default=len(rest))
    authority = rest[:end]
    if "\\" in authority:
        return "a backslash"
    if "@" in authority:
        return "an '@' (a user name or password in the URL)"
    return None


def show_body(body: bytes, *, raw: bool, pretty: bool, secrets: list[str | None]) -> None:
    """The answer's body, with any secret the call held (the access token) redacted."""
    if not body:
        return
    text = body.decode("utf-8", "replace")
    if pretty and not raw:
        with contextlib.suppress(ValueError):
            text = json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    click.echo(redact(text, secrets), nl=not text.endswith("\n"))


@click.command(short_help="Call the Ads API with the stored login.")
@click.argument("arguments", nargs=-1, required=True, metavar="[METHOD] PATH")
@common_options
@profile_option
@click.option("--data", "data", help="The request body: JSON, @file, or @- for stdin.")
@click.option("--header", "headers", multiple=True, help="An extra header 'Name: value'.")
@click.option("--raw", is_flag=True, help="Print the body as received, even on a terminal.")
@click.option("--include", "-i", is_flag=True, help="Print the status line and headers.")
@handle_errors
def api(
    arguments: tuple[str, ...],
    profile_id: str | None,
    data: str | None,
    headers: tuple[str, ...],
    raw: bool,
    include: bool,
    **options: Any,
) -> None:
    """Call the Ads API with the stored login, e.g. `api /v2/profiles`."""
    body = read_data(data)
    method, path = split_arguments(arguments, body is not None)
    extra = parse_headers(headers)
    if body is not None and not any(k.lower() == "content-type" for k in extra):
        extra["Content-Type"] = "application/json"
    if "://" in path and (why := plain_authority(path)) is not None:
        click.echo(
            f"Error: {printable(path)[:200]} has {why} before its path: write the URL "
            "plainly (https://HOST/PATH), or give a path such as /v2/profiles",
            err=True,
        )
        sys.exit(2)
    with target_from(options) as target:
        auth, login = target.resolve(profile_id=profile_id)
        url = (
            path
            if "://" in path
            else target.api_url_for(login).rstrip("/") + "/" + path.lstrip("/")
        )
        import requests

        with requests.Session() as session:
            # The URL as requests will send it (normalised), checked before anything goes.
            prepared = session.prepare_request(
                requests.Request(method, url, data=body, headers=extra)
            )
            if not (auth.sends_token_to(url) and auth.sends_token_to(prepared.url or "")):
                raise ConfigurationError(
                    f"{printable(url)[:200]} is not an Ads API host of the login "
                    f"{login.label()}: the token, the body and the headers are only sent to "
                    "its Ads API hosts; give a path such as /v2/profiles"
                )
            prepared.prepare_auth(auth)
            settings = session.merge_environment_settings(prepared.url, {}, None, None, None)
            answer = session.send(prepared, timeout=60, **settings)
        held = [auth.token.access_token if auth.token else None]
        if include:
            click.echo(f"HTTP {answer.status_code} {answer.reason}")
            for name, value in answer.headers.items():
                click.echo(f"{name}: {value}")
            click.echo()
        show_body(answer.content, raw=raw, pretty=sys.stdout.isatty(), secrets=held)
        if not 200 <= answer.status_code < 300:
            click.echo(
                f"Error: the Ads API answered {answer.status_code} {answer.reason}", err=True
            )
            sys.exit(1)
