"""Getting the authorization code for `login`: open the consent page, then receive the
redirect on the loopback listener or take the pasted URL (or bare code)."""

from __future__ import annotations

import contextlib
import threading
import urllib.request
import webbrowser

import click
import requests

from .._errors import AdsAuthError, AuthorizationDeniedError, ConfigurationError
from .._lwa.consent import AuthorizationRequest, parse_redirect
from .loopback import RedirectListener, loopback_port


def receive_code(
    request: AuthorizationRequest,
    *,
    paste: bool,
    no_browser: bool,
    emulated: bool,
    wait_seconds: float,
    listener: RedirectListener | None = None,
) -> str:
    """Show the consent URL, open it, and return the code that comes back. With the
    emulator and no browser, follow the consent page ourselves (unattended demo).
    `listener`: one already bound (on a free port) for the request's redirect URI."""
    redirect_uri = request.redirect_uri
    try:
        if listener is None and not paste and loopback_port(redirect_uri) is not None:
            listener = RedirectListener(redirect_uri)
        if listener is not None:
            listener.expected_state = request.state
            listener.start()
        click.echo("Open this URL to grant access (it is valid for 5 minutes):", err=True)
        click.echo(request.url, err=True)
        opened = False if no_browser else _open_browser(request.url)
        auto = emulated and not opened
        if auto:
            click.echo("The emulator's consent page is followed for you.", err=True)
        elif opened:
            click.echo("Opened the consent page in your browser.", err=True)
        else:
            click.echo("No browser was opened: open the URL above in one.", err=True)
        if listener is not None:
            if auto:
                threading.Thread(target=_follow, args=(request.url,), daemon=True).start()
            else:
                click.echo(_hint(redirect_uri), err=True)
            click.echo(
                f"Waiting for the redirect to {redirect_uri} ({_clock(wait_seconds)} left) ...",
                err=True,
            )
            return listener.wait(wait_seconds, on_tick=_say_time_left)
        if auto:
            return _code_from(_location(request.url).strip(), request.state)
        return _pasted_code(request.state)
    finally:
        if listener is not None:
            listener.close()


PASTE_ATTEMPTS = 3


def _hint(redirect_uri: str) -> str:
    return (
        "If the browser shows an Amazon error page instead of a consent page, check "
        f"--client-id and that {redirect_uri} is an Allowed Return URL of your LwA security "
        "profile. Browser on another machine? Run login again with --paste."
    )


def _clock(seconds: float) -> str:
    whole = max(0, round(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


def _say_time_left(seconds: float) -> None:
    """At most every 30 s while waiting: a line, not a spinner, so logs stay readable."""
    click.echo(f"Still waiting for the redirect: {_clock(seconds)} left.", err=True)


def _pasted_code(state: str) -> str:
    """Ask for the redirected URL (or the bare code) until it is usable, 3 times at most.
    Input is hidden: the code is a secret and need not stay in the scrollback."""
    for attempt in range(1, PASTE_ATTEMPTS + 1):
        pasted = click.prompt(
            "Paste the full URL you were redirected to, or just the code (hidden)",
            hide_input=True,
            err=True,
        )
        try:
            return _code_from(pasted.strip(), state)
        except AuthorizationDeniedError:
            raise
        except AdsAuthError as exc:
            if attempt == PASTE_ATTEMPTS:
                raise
            left = PASTE_ATTEMPTS - attempt
            click.echo(f"That did not work ({exc}); try again ({left} left).", err=True)
    raise AssertionError("unreachable")


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
