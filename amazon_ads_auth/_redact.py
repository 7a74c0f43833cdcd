"""Scrubbing secrets out of text that may reach a message, a log record or a terminal."""

from __future__ import annotations

import re
from collections.abc import Iterable

# LwA tokens carry these prefixes; anything shaped like one is a secret wherever it appears.
_TOKEN_PATTERN = re.compile(r"Atz[ar]\|[^\s\"'&,;]+")
_MAX_EXCERPT = 200


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Return `text` with every given secret and every LwA-shaped token replaced."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "<redacted>")
    return _TOKEN_PATTERN.sub("<redacted>", text)


def excerpt(body: bytes, secrets: Iterable[str | None] = ()) -> str:
    """A short, redacted, single-line preview of a response body for error messages."""
    text = body[: _MAX_EXCERPT * 4].decode("utf-8", "replace")
    text = " ".join(text.split())
    text = redact(text, secrets)
    if len(text) > _MAX_EXCERPT:
        text = text[:_MAX_EXCERPT] + "..."
    return text
