"""The "done" marker: how a reload of a completed callback (or of the success page) knows
that this browser's consent connected the signed-in tenant, and that the tenant's grant
is still the one that consent saved.

After a consent the callback sets a second short-lived signed cookie naming the consent's
`state`, the tenant, its store key and a keyed fingerprint of the grant saved (HMAC of its
refresh token under the app's secret key). A reload is "connected" only if the marker is
genuine and recent, names the signed-in tenant (and the callback's `state`), and the grant
in the store has the same fingerprint (not disconnected or replaced by a later consent).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from .._stores.base import TokenStore
from ._cookie import DoneState, Key, grant_fingerprint, seal_done, unseal_done
from ._values import ConsentResult


def done_marker(
    result: ConsentResult, store: TokenStore, key: Key, expires_at: float, client_id: str
) -> str:
    """The marker's cookie value for a consent just completed."""
    token = store.load(result.login.key)
    done = DoneState(
        state=result.state,
        tenant=result.tenant,
        key=result.login.key,
        grant=grant_fingerprint(key, token.refresh_token) if token and token.refresh_token else "",
        profiles=len(result.login.profiles),
        return_to=result.return_to,
        expires_at=expires_at,
        client_id=client_id,
    )
    return seal_done(done, key)


def completed_consent(
    done_cookie: str | None,
    tenant: str,
    callback_url: str | None,
    store: TokenStore,
    key: Key,
    now: float,
    client_id: str,
) -> DoneState | None:
    """The marker's consent if it holds for `tenant` (and `callback_url`), else None."""
    done = unseal_done(done_cookie, key, now=now, client_id=client_id)
    if done is None or done.tenant != tenant or not done.grant:
        return None
    if callback_url is not None:
        query = urlsplit(callback_url).query if "?" in callback_url else callback_url
        if parse_qs(query.lstrip("?")).get("state", []) != [done.state]:
            return None
    token = store.load(done.key)
    if token is None or not token.refresh_token:
        return None
    return done if grant_fingerprint(key, token.refresh_token) == done.grant else None
