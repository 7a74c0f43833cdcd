"""`check_grants`: is every grant in a store still usable, and for how long?

Each grant is classified without changing anything but its token:

- ok: a refresh succeeded (or, with `refresh=False`, the stored token is still valid);
  a token another process refreshed in the last 5 minutes counts as a refresh, so a check
  beside live workers costs them nothing;
- expiring: ok, but the refresh token expires within `within`;
- revoked / expired: invalid_grant, before / at or after the refresh token's known expiry
  (the grant record's `refresh_expires_at`: `GrantExpiredError`); a known expiry that has
  passed is "expired" without a request; with `refresh=False`, a record whose last refresh
  was refused keeps that word (the same rule and words as `amazon-ads-auth status`);
- client: invalid_client (or another OAuth error about the client);
- unreachable: connection errors, timeouts, 429 and 5xx after the usual retries (never
  "revoked": the grant may be fine);
- unreadable: the token or its record cannot be read or used; no secret: the record has no
  client secret and none was given.

One token request per grant at most, through the grant's own token manager (thread lock,
then the store's lock), so a refresh in flight elsewhere is waited for and adopted, never
repeated. Grants are checked `concurrency` at a time.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .._auth.adsauth import AdsAuth
from .._errors import (
    AdsAuthError,
    ConfigurationError,
    GrantExpiredError,
    InvalidClientError,
    InvalidGrantError,
    NoTokenError,
    ProxyAuthenticationError,
    TokenEndpointError,
    TokenRequestError,
)
from .._limits import EXPECTED_TOKEN_LIFETIME
from .._logins.records import Login, load_logins
from .._logins.resolve import ENV, Given, default_store, settings_for
from .._redact import printable
from .._refresh.decisions import VALID, Need
from .._refresh.events import (
    GrantChecked,
    GrantExpiring,
    OnEvent,
    check_on_event,
    days_left,
    deliver,
    error_code,
    refresh_expires_at,
)
from .._stores.base import TokenStore
from .._stores.grant import EXPIRED, REVOKED
from .._stores.keys import TENANT_PREFIX, GrantKey
from .._token import Token

DEFAULT_WITHIN = datetime.timedelta(days=30)
DEFAULT_CONCURRENCY = 8
JUST_REFRESHED = 300.0  # a stored token issued this recently proves the refresh token works


class GrantState(str, enum.Enum):
    """A grant's health, as `check_grants` and `amazon-ads-auth check` report it. A `str`:
    `result.state == "revoked"` holds."""

    OK = "ok"
    EXPIRING = "expiring"
    REVOKED = "revoked"
    EXPIRED = "expired"
    CLIENT = "client"
    UNREACHABLE = "unreachable"
    UNREADABLE = "unreadable"
    NO_SECRET = "no secret"

    def __str__(self) -> str:
        return self.value


_WHAT_TO_DO = {
    GrantState.REVOKED: "the advertiser removed the app or the grant was revoked: ask them "
    "to connect again",
    GrantState.EXPIRED: "the advertiser's consent expired (365 days after it was given): ask "
    "them to connect again",
    GrantState.CLIENT: "client authentication failed: check the client id and secret (rotated?)",
    GrantState.UNREACHABLE: "the token endpoint could not be used after retries: try again "
    "later (the grant may be fine)",
    GrantState.NO_SECRET: "no client secret saved with the login: pass the client id and "
    "secret (--client-id and --client-secret, or AMAZON_ADS_CLIENT_ID/_SECRET)",
}


_SAY_WHY = {GrantState.CLIENT, GrantState.UNREACHABLE}  # the error adds to the hint


@dataclasses.dataclass(frozen=True)
class GrantCheck:
    """One grant's result: `state` (a GrantState), `detail` (one line saying what to do,
    never a secret), `error` (LwA's error code, or "http_503", "timeout"...), the refresh
    token's expiry when known, and whether a token request was made."""

    key: str
    client_id: str
    store_key: str
    region: str
    state: GrantState
    detail: str = ""
    error: str | None = None
    refresh_expires_at: datetime.datetime | None = None
    days_left: int | None = None
    token_request: bool = False
    profiles: int = 0
    namespace: str = "login"
    tenant: str | None = None

    @property
    def ok(self) -> bool:
        return self.state is GrantState.OK

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `amazon-ads-auth check --json` (one object per grant)."""
        expires = self.refresh_expires_at
        return {
            "key": self.key,
            "client_id": self.client_id,
            "store_key": self.store_key,
            "region": self.region,
            "state": self.state.value,
            "detail": self.detail,
            "error": self.error,
            "refresh_expires_at": None if expires is None else expires.isoformat(),
            "days_left": self.days_left,
            "token_request": self.token_request,
            "profiles": self.profiles,
            "namespace": self.namespace,
            "tenant": self.tenant,
        }


def tenant_store_key(tenant: str) -> str:
    """The store key of a web tenant (`ConsentFlow`): "tenant:<id>", its own namespace."""
    return GrantKey.tenant("", tenant).store_key


def check_grants(
    store: TokenStore | None = None,
    *,
    store_key: str | None = None,
    tenant: str | None = None,
    profile_id: int | str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    within: datetime.timedelta = DEFAULT_WITHIN,
    refresh: bool = True,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_event: OnEvent | None = None,
    progress: Callable[[int, int], object] | None = None,
    demo: bool = False,
    **auth_kwargs: Any,
) -> list[GrantCheck]:
    """Classify every grant in `store` (default: AMAZON_ADS_TOKEN_STORE, else the CLI's),
    logins and web tenants alike, or those named by `store_key` (a login), `tenant` (a web
    tenant's id: its grant lives under "tenant:<id>"), `profile_id`, `client_id`; sorted
    by key. The refresh token's expiry and the last refresh outcome are the grant record's.

    `client_secret` (with `client_id`; else AMAZON_ADS_CLIENT_ID and _CLIENT_SECRET, which
    do not narrow) serves that client's logins saved without one; `refresh=False`
    makes no token request for a grant whose stored token is still valid. `on_event`
    hears GrantChecked for each grant, GrantExpiring for each expiring one, and the
    TokenRefreshed / RefreshFailed of the check's refreshes (from its worker threads).
    `progress(done, total)` is called as grants finish. Other keyword arguments are
    AdsAuth's (timeout, max_retries, token_transport, ...).

    Raises: ConfigurationError for bad arguments or a store that cannot list its grants;
    StoreError when the store cannot be listed."""
    if not isinstance(within, datetime.timedelta):
        raise ConfigurationError(f"within must be a datetime.timedelta, got {within!r}")
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigurationError(f"concurrency must be an int >= 1, got {concurrency!r}")
    if client_secret is not None and client_id is None:
        raise ConfigurationError("client_secret needs its client_id: a secret is only used with it")
    if tenant is not None and store_key is not None:
        raise ConfigurationError("tenant= and store_key= name different grants: give one")
    if store_key is not None and store_key.startswith(TENANT_PREFIX):
        raise ConfigurationError(
            f"the store key {printable(store_key)!r} is in the namespace of web tenants: "
            "name a tenant with tenant= (--tenant) instead"
        )
    on_event = check_on_event(on_event)
    store = store if store is not None else default_store()
    profile = None if profile_id is None else str(profile_id).strip()
    wanted_key = tenant_store_key(tenant) if tenant is not None else store_key
    logins = sorted(
        (
            login
            for login in load_logins(store)
            if login.demo == demo
            and (client_id is None or login.client_id == client_id)
            and (wanted_key is None or login.store_key == wanted_key)
            and (profile is None or login.owns(profile))
        ),
        key=lambda x: (x.store_key, x.client_id),
    )
    secret_of = (client_id, client_secret) if client_secret is not None else _env_client()
    checker = _Checker(store, *secret_of, within, refresh, on_event, dict(auth_kwargs))
    results: list[GrantCheck] = []
    if wanted_key is None and profile is None and client_id is None:
        results.extend(checker.unreadable_entries())
    total, done = len(logins) + len(results), len(results)
    with ThreadPoolExecutor(max_workers=min(concurrency, max(1, len(logins)))) as pool:
        for result in pool.map(checker.check, logins):
            results.append(result)
            done += 1
            if progress is not None:
                progress(done, total)
    return results


def _env_client() -> tuple[str | None, str | None]:
    """AMAZON_ADS_CLIENT_ID and _CLIENT_SECRET, used together or not at all."""
    client_id = os.environ.get(ENV["client_id"], "").strip() or None
    secret = os.environ.get(ENV["client_secret"], "").strip() or None
    return (client_id, secret) if client_id and secret else (None, None)


def all_ok(results: Iterable[GrantCheck]) -> bool:
    """True when every grant is ok (the exit status of `amazon-ads-auth check`)."""
    return all(r.ok for r in results)


class _Checker:
    """The per-grant work of one `check_grants` call (run in its worker threads)."""

    def __init__(
        self,
        store: TokenStore,
        client_id: str | None,
        client_secret: str | None,
        within: datetime.timedelta,
        refresh: bool,
        on_event: OnEvent | None,
        auth_kwargs: dict[str, Any],
    ) -> None:
        self.store = store
        self.client_id = client_id
        self.client_secret = client_secret
        self.within = within.total_seconds()
        self.refresh = refresh
        self.on_event = on_event
        self.clock: Callable[[], float] = auth_kwargs.get("clock") or time.time
        # No soft state: a check never leaves a background refresh running behind it.
        auth_kwargs.setdefault("refresh_margin", 0.0)
        if on_event is not None:
            auth_kwargs["on_event"] = on_event
        self.auth_kwargs = auth_kwargs

    def unreadable_entries(self) -> list[GrantCheck]:
        """Entries the store lists as problems (token files it cannot read)."""
        problems: list[str] = list(getattr(self.store, "problems", lambda: [])())
        found = []
        for problem in problems:
            result = GrantCheck("?", "?", "?", "?", GrantState.UNREADABLE, printable(problem))
            found.append(self._report(result))
        return found

    def check(self, login: Login) -> GrantCheck:
        try:
            result = self._classify(login)
        except Exception as exc:  # one bad grant never hides the others
            result = self._result(login, GrantState.UNREADABLE, _line(exc), type(exc).__name__)
        return self._report(result)

    def _report(self, result: GrantCheck) -> GrantCheck:
        deliver(GrantChecked(result.key, result.region, result.state.value), self.on_event)
        if result.state is GrantState.EXPIRING and result.refresh_expires_at is not None:
            days = result.days_left or 0
            deliver(GrantExpiring(result.key, days, result.refresh_expires_at), self.on_event)
        return result

    def _result(
        self,
        login: Login,
        state: GrantState,
        detail: str = "",
        error: str | None = None,
        *,
        requested: bool = False,
    ) -> GrantCheck:
        expires = refresh_expires_at(login)
        tenant = login.tenant
        return GrantCheck(
            key=printable(login.key),
            client_id=printable(login.client_id),
            store_key=printable(login.store_key),
            region=printable(login.region) if login.recorded else "?",
            state=state,
            detail=detail or _WHAT_TO_DO.get(state, ""),
            error=error,
            refresh_expires_at=expires,
            days_left=None if expires is None else days_left(expires, self.clock()),
            token_request=requested,
            profiles=len(login.profiles),
            namespace=login.namespace,
            tenant=None if tenant is None else printable(tenant),
        )

    def _classify(self, login: Login) -> GrantCheck:
        try:
            stored = self.store.load(login.key)
        except AdsAuthError as exc:
            return self._result(login, GrantState.UNREADABLE, _line(exc), type(exc).__name__)
        if stored is None or not stored.refresh_token:
            return self._result(
                login, GrantState.UNREADABLE, "no refresh token is stored for this login"
            )
        expires = refresh_expires_at(login)
        now = self.clock()
        known = login.state_at(now, expiring_within=self.within)  # `status`'s word for it
        passed = expires is not None and expires.timestamp() <= now
        if known in (REVOKED, EXPIRED) and (passed or not self.refresh):
            # The record says so and no request is wanted (or could help: the expiry passed).
            return self._recorded(login, GrantState(known))
        try:
            settings = settings_for(login, self.store, self._given(login))
        except ConfigurationError as exc:
            if not login.has_secret and not self._secret_for(login):
                return self._result(login, GrantState.NO_SECRET)
            return self._result(login, GrantState.UNREADABLE, _line(exc), type(exc).__name__)
        auth = AdsAuth._from_resolved(settings)
        auth._manager.events.notices = False  # the check reports GrantExpiring itself
        try:
            requested = self._refresh(auth, stored)
        except AdsAuthError as exc:
            state = _state_of(exc, expires, self.clock())
            said = f"{_WHAT_TO_DO.get(state, '')} ({_line(exc)})" if state in _SAY_WHY else ""
            return self._result(login, state, said, error_code(exc), requested=True)
        finally:
            auth.close()
        if expires is not None and expires.timestamp() - self.clock() <= self.within:
            days = days_left(expires, self.clock())
            detail = (
                f"the refresh token expires in {days} days: ask the advertiser to connect again"
            )
            return self._result(login, GrantState.EXPIRING, detail, requested=requested)
        return self._result(login, GrantState.OK, "", requested=requested)

    def _refresh(self, auth: AdsAuth, stored: Token) -> bool:
        """Prove the refresh token works, with one token request at most; True if one was
        made. Through the grant's token manager: a refresh in flight elsewhere (another
        thread or process) is waited for and adopted."""
        manager = auth._manager  # the check is the token manager's client
        before = manager.state.refreshes
        token = manager.ensure(VALID)  # a valid stored token (no request), else one refresh
        refreshed = manager.state.refreshes > before
        if refreshed or not self.refresh:
            return refreshed
        if token.expires_at - EXPECTED_TOKEN_LIFETIME >= self.clock() - JUST_REFRESHED:
            return False  # refreshed moments ago (by live workers): that is the proof
        counted = manager.state.refreshes
        manager.ensure(Need.forced(counted))  # adopts a newer stored token if one appears
        return True

    def _recorded(self, login: Login, state: GrantState) -> GrantCheck:
        """A revoked or expired grant as its record says, without a token request."""
        detail = _WHAT_TO_DO[state]
        if login.last_refresh == state.value and login.last_refresh_at is not None:
            when = datetime.datetime.fromtimestamp(login.last_refresh_at, datetime.timezone.utc)
            detail = f"{detail} (the last refresh, {when:%Y-%m-%d}, was refused)"
            return self._result(login, state, detail, login.last_refresh_error)
        return self._result(login, state, detail)

    def _secret_for(self, login: Login) -> str | None:
        return self.client_secret if self.client_id == login.client_id else None

    def _given(self, login: Login) -> Given:
        secret = self._secret_for(login)
        arguments = {
            **self.auth_kwargs,
            "client_id": login.client_id if secret else None,
            "client_secret": secret,
        }
        return Given.from_arguments(arguments, env_names=())


def _state_of(exc: AdsAuthError, expires: datetime.datetime | None, now: float) -> GrantState:
    if isinstance(exc, GrantExpiredError):
        return GrantState.EXPIRED
    if isinstance(exc, InvalidGrantError):
        known_past = expires is not None and expires.timestamp() <= now
        return GrantState.EXPIRED if known_past else GrantState.REVOKED
    if isinstance(exc, (InvalidClientError, TokenRequestError)):
        return GrantState.CLIENT
    if isinstance(exc, (TokenEndpointError, ProxyAuthenticationError)):
        return GrantState.UNREACHABLE
    if isinstance(exc, NoTokenError):
        return GrantState.UNREADABLE
    return GrantState.UNREADABLE


def _line(exc: BaseException) -> str:
    """An error as one printable line (library messages carry no secret)."""
    text = str(exc) if isinstance(exc, AdsAuthError) else type(exc).__name__
    return printable(" ".join(text.split()))
