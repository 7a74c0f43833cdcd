"""Scrubbing secrets out of text that may reach a message, a log record or a terminal.

A secret can come back in another form than it was sent: percent-encoded in a URL or form
body (`Atzr%7C...`, `+` for spaces), or HTML-escaped in an error page. Every form is removed,
and text is redacted before it is cut short, so an excerpt never shows the start of a secret.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, urlsplit, urlunsplit

# LwA tokens carry these prefixes (the "|" possibly encoded); anything shaped like one is a
# secret wherever it appears.
_TOKEN_PATTERN = re.compile(r"Atz[ar](?:\||%7[Cc]|&#124;|&#x7[Cc];|&vert;)[^\s\"'&,;<>]+")
_MAX_EXCERPT = 200
REDACTED = "<redacted>"


def _forms(secret: str) -> set[str]:
    return {
        secret,
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        quote(secret),
        html.escape(secret),
        html.escape(secret).replace("|", "&#124;"),
    }


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Return `text` with every given secret (raw, percent-encoded or HTML-escaped) and every
    LwA-shaped token replaced."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            # Longest forms first, so a form containing another is replaced whole.
            for form in sorted(_forms(secret), key=len, reverse=True):
                text = text.replace(form, REDACTED)
    return _TOKEN_PATTERN.sub(REDACTED, text)


def excerpt(body: bytes, secrets: Iterable[str | None] = ()) -> str:
    """A short, redacted, single-line preview of a response body for error messages."""
    text = body.decode("utf-8", "replace")
    text = printable(" ".join(text.split()))
    text = redact(text, secrets)
    if len(text) > _MAX_EXCERPT:
        text = text[:_MAX_EXCERPT] + "..."
    return text


def mask_url(url: str) -> str:
    """`url` with its userinfo masked ("user:pw@" becomes "***:***@", "token@" becomes
    "***@", redis://:pw@ becomes redis://:***@): any URL the library prints, token, API,
    store or proxy, may carry a credential there."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<an unreadable URL>"
    if "@" not in parts.netloc:
        return printable(url)
    user = "***" if parts.username else ""
    host = parts.netloc.rpartition("@")[2]
    shown = f"{user}:***@{host}" if password is not None else f"{user}@{host}"
    return printable(urlunsplit(parts._replace(netloc=shown)))


def printable(text: str) -> str:
    """`text` with control characters (terminal escapes, NUL, line breaks) shown escaped,
    for anything from the network or the user that ends up in a message."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


class Secret:
    """A secret string that stays out of reprs, and so out of the frame locals error-report
    tools (Sentry and the like) capture when an exception passes through our code."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "Secret(<redacted>)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.value == self.value

    def __hash__(self) -> int:
        return hash(self.value)


class SecretBytes:
    """`Secret` for a key of bytes (the web flow's cookie-signing key): out of reprs and so
    out of captured frame locals. Use `.value` only inside the expression that needs it."""

    __slots__ = ("value",)

    def __init__(self, value: bytes) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "SecretBytes(<redacted>)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretBytes) and other.value == self.value

    def __hash__(self) -> int:
        return hash(self.value)


def describe_store(store: object) -> str:
    """A store as messages show it: a folder path, `redis://host:port/db` with its prefix,
    `keyring:SERVICE` or `memory:` for the built-in stores (never a password), else its
    repr."""
    where = getattr(store, "where", None)
    return where if isinstance(where, str) and where else repr(store)
