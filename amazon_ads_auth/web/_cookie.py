"""The consent cookie, sans I/O: what `begin()` must remember until the callback, signed
with the app's secret key so it cannot be forged, and dated so it cannot be used later.

The cookie is the browser binding: `state` goes to Amazon in the URL, and only the browser
that started holds the signed cookie that names it. The PKCE verifier is not in the cookie
at all: it is derived from the secret key and `state`, so it never leaves the server.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import json
import math
from typing import Any

from .._errors import ConfigurationError, ConsentError
from .._redact import Secret, SecretBytes

VERSION = 1
_SIGNING = b"amazon-ads-auth consent cookie v1\0"
_VERIFIER = b"amazon-ads-auth pkce verifier v1\0"
_DONE_SIGNING = b"amazon-ads-auth consent done v1\0"
_GRANT = b"amazon-ads-auth grant fingerprint v1\0"
MAX_COOKIE_LENGTH = 3800  # under the 4096 bytes browsers keep for a cookie and its attributes
START_AGAIN = "start again from this browser"


@dataclasses.dataclass(frozen=True)
class ConsentState:
    """What one consent attempt carries from `begin()` to `complete()`."""

    state: str
    tenant: str
    region: str
    scope: str
    return_to: str | None
    expires_at: float
    client_id: str

    def to_json(self) -> dict[str, Any]:
        return {"v": VERSION, **dataclasses.asdict(self)}


Key = SecretBytes | bytes  # the signing key; kept in SecretBytes so no frame local shows it


@dataclasses.dataclass(frozen=True)
class DoneState:
    """The "done" marker a completed callback leaves in the browser (a second short-lived
    signed cookie): which consent (`state`) connected which tenant, and a keyed fingerprint
    of the grant it saved, so a reload knows the tenant's grant is still that consent's."""

    state: str
    tenant: str
    key: str
    grant: str
    profiles: int
    return_to: str | None
    expires_at: float
    client_id: str


def seal(consent: ConsentState, key: Key) -> str:
    """The cookie value: the payload and its HMAC-SHA256, both base64url, "payload.mac".

    Raises: ConfigurationError when it would be longer than browsers keep a cookie."""
    payload = json.dumps(
        consent.to_json(), separators=(",", ":"), sort_keys=True, ensure_ascii=False
    )
    body = _b64(payload.encode())
    value = f"{body}.{_mac(key, body)}"
    if len(value) > MAX_COOKIE_LENGTH:
        raise ConfigurationError(
            f"the consent cookie would be {len(value)} bytes, more than browsers keep: use a "
            "shorter tenant id, return path or scope"
        )
    return value


def unseal(value: str | None, key: Key, *, now: float, client_id: str) -> ConsentState:
    """The consent a cookie carries, if its signature holds, it has not expired and it was
    made for this client.

    Raises: ConsentError (reason "cookie") saying the person must start again."""
    if not value:
        raise ConsentError(
            "no consent cookie came back with this callback (the consent was started in "
            f"another browser, or cookies are blocked): {START_AGAIN}",
            reason="cookie",
        )
    body, dot, mac = value.partition(".")
    if (
        not dot
        or len(value) > MAX_COOKIE_LENGTH
        or not hmac.compare_digest(mac.encode("ascii", "replace"), _mac(key, body).encode())
    ):
        raise ConsentError(
            "the consent cookie is not valid (it was changed, or signed with another key): "
            + START_AGAIN,
            reason="cookie",
        )
    consent = _decoded(body)
    if consent is None or consent.client_id != client_id:
        raise ConsentError(
            f"the consent cookie was made for another app or version: {START_AGAIN}",
            reason="cookie",
        )
    if not now < consent.expires_at:
        raise ConsentError(
            f"the consent took too long (its cookie has expired): {START_AGAIN}",
            reason="cookie",
        )
    return consent


def derive_verifier(key: Key, state: str) -> Secret:
    """The PKCE code verifier of the attempt named by `state` (43 characters, RFC 7636),
    in a `Secret` so no frame local or repr shows it."""
    return Secret(_b64(hmac.new(_raw(key), _VERIFIER + state.encode(), hashlib.sha256).digest()))


def seal_done(done: DoneState, key: Key) -> str:
    """The "done" marker's cookie value, signed like the consent cookie (another label)."""
    body = _b64(json.dumps(dataclasses.asdict(done), separators=(",", ":")).encode())
    return f"{body}.{_mac(key, body, _DONE_SIGNING)}"


def unseal_done(value: str | None, key: Key, *, now: float, client_id: str) -> DoneState | None:
    """The marker a cookie carries, or None if there is none, or it is forged, expired or
    another client's."""
    if not value or len(value) > MAX_COOKIE_LENGTH:
        return None
    body, _, mac = value.partition(".")
    expected = _mac(key, body, _DONE_SIGNING).encode()
    if not hmac.compare_digest(mac.encode("ascii", "replace"), expected):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        done = DoneState(**data)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, RecursionError):
        return None
    if done.client_id != client_id or not isinstance(done.expires_at, (int, float)):
        return None
    return done if now < done.expires_at else None


def grant_fingerprint(key: Key, refresh_token: str) -> str:
    """A keyed fingerprint of a grant (its refresh token): equal for the same grant, and
    telling nothing about the token without the key."""
    return _b64(hmac.new(_raw(key), _GRANT + refresh_token.encode(), hashlib.sha256).digest()[:12])


def _decoded(body: str) -> ConsentState | None:
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(data, dict) or data.pop("v", None) != VERSION:
        return None
    names = {field.name for field in dataclasses.fields(ConsentState)}
    if set(data) != names:
        return None
    texts = ("state", "tenant", "region", "scope", "client_id")
    if not all(isinstance(data[name], str) for name in texts):
        return None
    if data["return_to"] is not None and not isinstance(data["return_to"], str):
        return None
    expires = data["expires_at"]
    if isinstance(expires, bool) or not isinstance(expires, (int, float)):
        return None
    if not math.isfinite(expires):
        return None
    return ConsentState(**data)


def _mac(key: Key, body: str, label: bytes = _SIGNING) -> str:
    return _b64(
        hmac.new(_raw(key), label + body.encode("ascii", "replace"), hashlib.sha256).digest()
    )


def _raw(key: Key) -> bytes:
    return key.value if isinstance(key, SecretBytes) else key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
