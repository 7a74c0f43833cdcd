"""open_store(url): a token store from one configuration string (CLI flags, env vars)."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import unquote, urlsplit

from .._errors import ConfigurationError
from .base import MemoryTokenStore, TokenStore

SCHEMES = (
    "memory:",
    "file:",
    "file:///path",
    "keyring:",
    "keyring:SERVICE",
    "redis://",
    "rediss://",
    "sqlite:///path",
    "postgresql://",
    "postgresql+psycopg://",
)


def open_store(url: str, *, keys: Sequence[str | bytes] | None = None) -> TokenStore:
    """`memory:`, `file:` (default folder) or `file:///path`, `keyring:` or `keyring:SERVICE`,
    `redis://host:port/db` or `rediss://...`, `sqlite:///path/grants.db`, `postgresql://...`
    or `postgresql+psycopg://...` (the SQL table is created if missing).

    With `keys` (default: AMAZON_ADS_STORE_KEYS, when set) the store is wrapped in an
    EncryptedTokenStore; `keys=()` never wraps it."""
    store = _open(url)
    if keys is None:
        from .encrypted import keys_from_env

        keys = keys_from_env()
    if not keys:
        return store
    from .encrypted import EncryptedTokenStore

    return EncryptedTokenStore(store, list(keys))


def _open(url: str) -> TokenStore:
    if not isinstance(url, str) or ":" not in url:
        raise _unknown(url)
    if any(not c.isprintable() for c in unquote(url)):
        raise ConfigurationError(
            "the token store URL has a control character (a NUL or a line break, perhaps "
            "%00 or a stray newline where it was pasted): fix AMAZON_ADS_TOKEN_STORE or --store"
        )
    scheme, _, rest = url.partition(":")
    scheme = scheme.lower()
    if scheme == "memory":
        return MemoryTokenStore()
    if scheme == "file":
        from .file import FileTokenStore

        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise ConfigurationError(
                f"file store URLs name a local path (file:///path), got {url!r}"
            )
        path = unquote(parts.path) if rest.startswith("//") else unquote(rest)
        return FileTokenStore(path or None)
    if scheme == "keyring":
        from .keyring import KeyringTokenStore

        return KeyringTokenStore(rest) if rest else KeyringTokenStore()
    if scheme in ("redis", "rediss"):
        from .redis import RedisTokenStore

        return RedisTokenStore(url)
    if scheme in ("sqlite", "postgresql") or scheme.startswith(("sqlite+", "postgresql+")):
        from .sql import SQLTokenStore

        return SQLTokenStore(url, create=True)
    raise _unknown(url)


def _unknown(url: object) -> ConfigurationError:
    shown = url.split(":", 1)[0] + ":..." if isinstance(url, str) else repr(url)
    return ConfigurationError(f"unknown token store {shown!r}: use one of {', '.join(SCHEMES)}")
