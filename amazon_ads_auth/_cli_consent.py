"""Getting the authorization code for `login`: open the consent page, then receive the
redirect on the loopback listener or take the pasted URL (or bare code)."""

from __future__ import annotations

import contextlib
import threading
import urllib.request
import webbrowser

import click
import requests

from ._consent import AuthorizationRequest, parse_redirect
from ._errors import AdsAuthError, ConfigurationError
from ._loopback import RedirectListener, loopback_port


def receive_code(
    request: AuthorizationRequest,
    *,
    paste: bool,
    no_browser: bool,
    emulated: bool,
    wait_seconds: float,
) -> str:
    """Show the consent URL, open it, and return the code that comes back. With the
    emulator and no browser, follow the consent page ourselves (unattended demo)."""
    redirect_uri = request.redirect_uri
    listen = not paste and loopback_port(redirect_uri) is not None
    listener = RedirectListener(redirect_uri, request.state).start() if listen else None
    try:
        click.echo("Open this URL to grant access (it is valid for 5 minutes):", err=True)
        click.echo(request.url, err=True)
        opened = False if no_browser else _open_browser(request.url)
        auto = emulated and not opened
        if listener is not None:
            if auto:
                threading.Thread(target=_follow, args=(request.url,), daemon=True).start()
            click.echo(f"Waiting for the redirect to {redirect_uri} ...", err=True)
            return listener.wait(wait_seconds)
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
        return _code_from(pasted.strip(), request.state)
    finally:
        if listener is not None:
            listener.close()


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
        if location.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
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
