"""The console script's front door (and `python -m amazon_ads_auth`): `amazon-ads-auth token`
answered from the store when the stored token is fresh, without loading click, requests or
httpx (shell scripts call `$(amazon-ads-auth token)` in loops; AWS Lambda pays every
start-up).

Only the plain forms (`token`, `token --store-key KEY`) with no AMAZON_ADS_* variable set
take this path, and only when the chosen real login has its secret saved and its access
token is outside the refresh margin; anything else, or any doubt at all, goes to the full
CLI, which then decides exactly as it always does (the same login choice, refreshing,
errors with hints).
"""

from __future__ import annotations

import os
import sys


def fresh_token(arguments: list[str]) -> str | None:
    """The access token the full CLI would print at once, or None to let it decide."""
    if arguments[:1] != ["token"] or any(k.startswith("AMAZON_ADS_") for k in os.environ):
        return None
    rest = arguments[1:]
    if rest and not (len(rest) == 2 and rest[0] == "--store-key" and rest[1]):
        return None
    try:
        from ._errors import AdsAuthError
        from ._limits import DEFAULT_REFRESH_MARGIN
        from ._logins.records import choose, load_logins
        from ._stores.file import FileTokenStore

        store = FileTokenStore()
        logins = [x for x in load_logins(store) if not x.demo]
        login = choose(logins, where=store.where, store_key=rest[1] if rest else None)
        token = store.load(login.key)
    except (AdsAuthError, OSError, ValueError):
        return None
    if not login.has_secret:
        return None  # the full CLI asks for the secret first: so it does here too
    if token is None or token.is_expired(DEFAULT_REFRESH_MARGIN):
        return None
    return token.access_token


def main() -> None:
    """`amazon-ads-auth`: the fast answer when there is one, else the full CLI."""
    token = fresh_token(sys.argv[1:])
    if token is not None:
        sys.stdout.write(token + "\n")
        return
    from .cli import main as cli

    cli()


if __name__ == "__main__":
    main()
