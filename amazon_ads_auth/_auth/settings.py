"""Checking AdsAuth's arguments (reading them from the environment is `_logins.resolve`'s).

Bad input is refused at construction with a ConfigurationError that names the setting,
rather than failing later on the wire (a CR, LF or NUL in a header value) or, worse, being
sent (a profile id "-5").
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from .._errors import ConfigurationError
from .._limits import EXPECTED_TOKEN_LIFETIME
from .._logins.resolve import ENV, is_profile_id
from .._lwa.sender import RetryPolicy, TokenTransport
from .._redact import Secret
from .._refresh.events import GrantEvents, OnEvent, check_on_event
from .._refresh.grant_io import GrantIO
from .._refresh.manager import TokenManager
from .._regions import ADS_API_HOSTS, Region
from .._stores.base import MemoryTokenStore, TokenStore
from .._stores.keys import GrantKey
from .._token import Token
from .._urls import HostScope, require_secure_url

if TYPE_CHECKING:
    import httpx

_HEADER_BREAKERS = ("\r", "\n", "\0")


def require_text(name: str, value: object, env_var: str | None, *, header: bool = False) -> str:
    """`value` if it is a non-empty string (and, for header values, one line)."""
    if not isinstance(value, str) or not value.strip():
        where = f" (or set {env_var})" if env_var else ""
        raise ConfigurationError(f"{name} must be a non-empty string{where}")
    if header and any(c in value for c in _HEADER_BREAKERS):
        raise ConfigurationError(
            f"{name} contains a line break or NUL character: it is sent as an HTTP header, "
            "so it must be one line (check for a stray newline where it was pasted)"
        )
    return value


def require_number(name: str, value: object, *, minimum: float) -> float:
    """`value` as a float if it is a finite real number >= minimum."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(f"{name} must be a number >= {minimum}, got {value!r}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number) or not number >= minimum:
        raise ConfigurationError(f"{name} must be a finite number >= {minimum}, got {value!r}")
    return number


def require_margin(value: object) -> float:
    """The refresh margin: finite, >= 0 and below LwA's 3600 s token lifetime (a margin at
    or above the lifetime would make every fresh token count as due for refresh)."""
    margin = require_number("refresh_margin", value, minimum=0.0)
    if margin >= EXPECTED_TOKEN_LIFETIME:
        raise ConfigurationError(
            f"refresh_margin must be below the access-token lifetime "
            f"({EXPECTED_TOKEN_LIFETIME:.0f} s), got {value!r}: use a few minutes (default 300)"
        )
    return margin


def profile_text(profile_id: int | str | None) -> str | None:
    """A profile id as sent in the Scope header: plain ASCII digits only."""
    if profile_id is None:
        return None
    text = str(profile_id).strip() if isinstance(profile_id, (int, str)) else ""
    if isinstance(profile_id, bool) or not is_profile_id(text):
        raise ConfigurationError(
            "profile_id must be a numeric Ads profile id, digits only (see GET /v2/profiles), "
            f"got {profile_id!r}"
        )
    return text


def account_text(account_id: str | None) -> str | None:
    if account_id is None:
        return None
    if not isinstance(account_id, str) or not account_id.strip():
        raise ConfigurationError(f"account_id must be a non-empty string, got {account_id!r}")
    require_text("account_id", account_id, None, header=True)
    return account_id.strip()


def require_count(max_retries: object) -> int:
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ConfigurationError(f"max_retries must be an int >= 0, got {max_retries!r}")
    return max_retries


def deadline_within_lock(store: object, deadline: float) -> float:
    """A store lock with a TTL must outlive the refresh it guards, or a second process
    could refresh while the first still is: a shorter TTL shortens the deadline to 80% of
    it."""
    ttl = getattr(store, "lock_ttl", None)
    if isinstance(ttl, (int, float)) and not isinstance(ttl, bool) and ttl > 0:
        return min(deadline, 0.8 * float(ttl))
    return deadline


_DEFAULT_HOSTS = HostScope(ADS_API_HOSTS)
_STORE_TYPES: dict[type, bool] = {}  # isinstance on a runtime protocol is slow: once per type


def _is_store(store: object) -> bool:
    kind = type(store)
    known = _STORE_TYPES.get(kind)
    if known is None:
        known = _STORE_TYPES[kind] = isinstance(store, TokenStore)
    return known


@dataclasses.dataclass(frozen=True)
class AuthSettings:
    """AdsAuth's constructor arguments, checked once: what the adapter and the token
    manager are built from. Secrets are wrapped, so a repr shows none."""

    client_id: str
    client_secret: Secret
    refresh_token: Secret | None
    region: Region
    profile_id: str | None
    account_id: str | None
    store: TokenStore
    store_key: str
    hosts: HostScope
    token_url: str
    authorization_url: str
    refresh_margin: float
    timeout: float
    policy: RetryPolicy
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    on_new_token: Callable[[Token], None] | None
    token_transport: httpx.BaseTransport | None = None
    on_event: OnEvent | None = None

    @classmethod
    def check(
        cls,
        client_id: object,
        client_secret: object,
        refresh_token: object,
        *,
        region: Region | str,
        profile_id: int | str | None,
        account_id: str | None,
        store: TokenStore | None,
        store_key: object,
        api_hosts: Iterable[str] | None,
        token_url: str | None,
        authorization_url: str | None,
        refresh_margin: float,
        timeout: float,
        max_retries: int,
        retry_backoff: float,
        refresh_deadline: float,
        clock: Callable[[], float] | None,
        sleep: Callable[[float], None] | None,
        on_new_token: Callable[[Token], None] | None,
        token_transport: httpx.BaseTransport | None = None,
        on_event: OnEvent | None = None,
    ) -> AuthSettings:
        """Raises: ConfigurationError naming the first argument that is not usable."""
        client_id = require_text("client_id", client_id, ENV["client_id"], header=True)
        secret = require_text("client_secret", client_secret, ENV["client_secret"])
        refresh = None
        if refresh_token is not None:
            refresh = require_text("refresh_token", refresh_token, ENV["refresh_token"])
        store_key = require_text("store_key", store_key, None)
        if isinstance(api_hosts, str):
            raise ConfigurationError("api_hosts must be a list of hosts, not one string")
        if store is not None and not _is_store(store):
            raise ConfigurationError(
                f"store must implement load/save/delete/lock, got {type(store).__name__}"
            )
        if on_new_token is not None and not callable(on_new_token):
            raise ConfigurationError("on_new_token must be a function taking a Token")
        if token_transport is not None and not callable(
            getattr(token_transport, "handle_request", None)
        ):
            raise ConfigurationError(
                "token_transport must be an httpx transport (with handle_request), got "
                f"{type(token_transport).__name__}"
            )
        deadline = require_number("refresh_deadline", refresh_deadline, minimum=0.001)
        parsed_region = Region.parse(region)
        return cls(
            client_id=client_id,
            client_secret=Secret(secret),
            refresh_token=None if refresh is None else Secret(refresh),
            region=parsed_region,
            profile_id=profile_text(profile_id),
            account_id=account_text(account_id),
            store=store if store is not None else MemoryTokenStore(),
            store_key=store_key,
            hosts=_DEFAULT_HOSTS if api_hosts is None else HostScope(api_hosts),
            token_url=require_secure_url(token_url or parsed_region.token_url, "token_url"),
            authorization_url=require_secure_url(
                authorization_url or parsed_region.authorization_url, "authorization_url"
            ),
            refresh_margin=require_margin(refresh_margin),
            timeout=require_number("timeout", timeout, minimum=0.001),
            policy=RetryPolicy(
                max_retries=require_count(max_retries),
                backoff=require_number("retry_backoff", retry_backoff, minimum=0.0),
                deadline=deadline_within_lock(store, deadline),
            ),
            clock=clock or time.time,
            sleep=sleep or time.sleep,
            on_new_token=on_new_token,
            token_transport=token_transport,
            on_event=check_on_event(on_event),
        )

    def token_manager(self) -> TokenManager:
        """The token manager these settings describe, with its own token transport."""
        transport = TokenTransport(
            timeout=self.timeout,
            policy=self.policy,
            clock=self.clock,
            sleep=self.sleep,
            http=self.token_transport,
        )
        key = str(GrantKey(self.client_id, self.store_key))
        grant = GrantIO(
            client_id=self.client_id,
            client_secret=self.client_secret,
            store=self.store,
            key=key,
            token_url=self.token_url,
            transport=transport,
            on_new_token=self.on_new_token,
            clock=self.clock,
        )
        return TokenManager(
            grant,
            refresh_token=self.refresh_token.value if self.refresh_token else None,
            refresh_margin=self.refresh_margin,
            refresh_deadline=self.policy.deadline,
            clock=self.clock,
            events=GrantEvents(key, self.region.value, self.on_event),
        )
