"""URL rules: https everywhere except loopback, and which hosts may receive the token."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from ._errors import ConfigurationError

_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_loopback(host: str) -> bool:
    """True for localhost and loopback IP addresses (IPv4 127/8, IPv6 ::1)."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_secure_url(url: str, what: str) -> str:
    """Return `url` if it is https, or http to a loopback host; else raise ConfigurationError."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except (ValueError, TypeError, AttributeError):
        raise ConfigurationError(f"{what} is not a URL: {url!r}") from None
    if parts.scheme == "https" and host:
        return url
    if parts.scheme == "http" and host and is_loopback(host):
        return url
    raise ConfigurationError(
        f"{what} must be an https:// URL (plain http is allowed only to loopback "
        f"addresses such as 127.0.0.1), got {url!r}"
    )


def with_scheme(url: str, scheme: str) -> str:
    """`url` with its scheme replaced (used to satisfy oauthlib's https-only check after
    our own check already allowed plain http to loopback)."""
    return urlunsplit(urlsplit(url)._replace(scheme=scheme))


class HostScope:
    """The set of origins that may receive the token and the Ads API headers.

    Entries are "host", "host:port" or a URL. Non-loopback hosts are https-only; loopback
    hosts also match plain http, for tests and the emulator. Matching is exact on host and
    port, so "advertising-api.amazon.com.evil.example" never matches.
    """

    __slots__ = ("_origins", "_prefixes")

    def __init__(self, entries: Iterable[str]) -> None:
        origins: set[tuple[str, str, int | None]] = set()
        prefixes: list[str] = []
        for entry in entries:
            for scheme, host, port in _parse_entry(entry):
                default = _DEFAULT_PORTS[scheme]
                key_port = None if port in (None, default) else port
                origins.add((scheme, host, key_port))
                shown = f"[{host}]" if ":" in host else host
                prefixes.append(f"{scheme}://{shown}:{port or default}/")
                if key_port is None:
                    prefixes.append(f"{scheme}://{shown}/")
        if not origins:
            raise ConfigurationError("api_hosts is empty: name at least one Ads API host")
        self._origins = frozenset(origins)
        self._prefixes = tuple(prefixes)

    @property
    def prefixes(self) -> tuple[str, ...]:
        """URL prefixes ("scheme://host[:port]/") of every allowed origin, for fast matching
        of normalized URL strings such as requests' prepared URLs."""
        return self._prefixes

    def matches_url_string(self, url: str) -> bool:
        """True if a normalized URL string (as requests prepares it) is an allowed origin."""
        return url.startswith(self._prefixes)

    def matches(self, scheme: str, host: str, port: int | None) -> bool:
        """True if the origin is allowed; `port` is None for the scheme's default port."""
        if (scheme, host, port) in self._origins:
            return True
        return (
            port is not None
            and port == _DEFAULT_PORTS.get(scheme)
            and ((scheme, host, None) in self._origins)
        )


def _parse_entry(entry: str) -> list[tuple[str, str, int | None]]:
    if not isinstance(entry, str) or not entry.strip():
        raise ConfigurationError(f"api_hosts entries must be host names, got {entry!r}")
    text = entry.strip()
    try:
        parts = urlsplit(text if "://" in text else f"//{text}")
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        raise ConfigurationError(f"api_hosts entry {entry!r} is not a host[:port]") from None
    if not host:
        raise ConfigurationError(f"api_hosts entry {entry!r} has no host")
    loopback = is_loopback(host)
    if parts.scheme == "http" and not loopback:
        raise ConfigurationError(
            f"api_hosts entry {entry!r} is plain http: the token is only sent over https "
            "(or to a loopback address)"
        )
    if parts.scheme not in ("", "http", "https"):
        raise ConfigurationError(f"api_hosts entry {entry!r}: only http(s) hosts are allowed")
    schemes = ["https", "http"] if loopback else ["https"]
    return [(scheme, host, port) for scheme in schemes]
