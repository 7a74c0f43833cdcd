"""The Login with Amazon model: consent, both token grants, and the tokens it issued.

Codes are single-use and expire after 5 minutes of the emulator's clock; PKCE (plain and
S256) and client authentication (form fields or HTTP Basic) are checked; errors carry the
bodies Amazon sends. With a signing key, tokens carry an HMAC, so every emulator with the
same key accepts the tokens another issued (the CLI's sandbox is a new emulator per command).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import threading
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ._accounts import Accounts
from ._lwa_answers import oauth_error, refusal, verifier_matches
from ._wire import Answer, page, random_token, redirect

KNOWN_SCOPES = frozenset(
    {
        "advertising::campaign_management",
        "advertising::audiences",
        "advertising::test:create_account",
        "cpc_advertising:campaign_management",
        "profile",
    }
)
DEFAULT_GRANT_SCOPE = "advertising::campaign_management"
CODE_LIFETIME = 300.0


class LwaSettings(Protocol):
    """What the model reads from its emulator on every request (tests change these)."""

    client_id: str
    client_secret: str
    redirect_uris: set[str] | None
    access_token_lifetime: int
    expires_in_as_string: bool
    omit_refresh_token_on_refresh: bool
    deny_consent: bool
    refresh_token_lifetime: float | None
    send_refresh_token_expires_in: bool
    clock: Callable[[], float]
    accounts: Accounts


@dataclasses.dataclass
class Grant:
    client_id: str
    refresh_token: str
    scope: str
    revoked: bool = False
    account: str | None = None  # the emulator account that consented (None: the default)
    consented_at: float | None = None  # by the emulator's clock; None: before it was kept


@dataclasses.dataclass
class _Code:
    client_id: str
    redirect_uri: str
    scope: str
    issued_at: float
    challenge: str | None
    method: str
    account: str | None
    used: bool = False


@dataclasses.dataclass
class Access:
    client_id: str
    expires_at: float
    grant: Grant
    revoked: bool = False


class LwaModel:
    """The state of one Login with Amazon: grants, codes and access tokens."""

    def __init__(self, settings: LwaSettings, signing_key: bytes | None = None) -> None:
        self._settings = settings
        self._signing_key = signing_key
        self.grants: dict[str, Grant] = {}
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, Access] = {}
        self._verifiers: list[str] = []
        self._guard = threading.Lock()

    # ----- the two endpoints -----------------------------------------------------------------

    def consent(self, query: Mapping[str, str]) -> Answer:
        """`GET /ap/oa`: the user consents at once (or not, with `deny_consent`); with
        accounts, once one is picked on the sign-in page (or cancels: `deny=1`)."""
        settings = self._settings
        if query.get("client_id") != settings.client_id:
            return page(400, "Unknown client_id: check the client id of your LwA app.")
        redirect_uri = query.get("redirect_uri", "")
        allowed = settings.redirect_uris
        if not redirect_uri or (allowed is not None and redirect_uri not in allowed):
            return page(400, "redirect_uri is not an Allowed Return URL of this client.")
        if query.get("response_type") != "code":
            return refusal(redirect_uri, "unsupported_response_type", query)
        scope = query.get("scope", "")
        if not scope or not set(scope.split()) <= KNOWN_SCOPES:
            return refusal(redirect_uri, "invalid_scope", query)
        account = query.get("account") or settings.accounts.for_consent()
        if settings.accounts and account not in settings.accounts and "deny" not in query:
            return settings.accounts.sign_in_page(query)
        if settings.deny_consent or "deny" in query:
            return refusal(redirect_uri, "access_denied", query)
        method = query.get("code_challenge_method", "plain")
        challenge = query.get("code_challenge")
        if challenge is not None and method not in ("plain", "S256"):
            return refusal(redirect_uri, "invalid_request", query)
        code = random_token(20, alphabet="ANabcdefghijklmnopqrstuvwxyz")
        with self._guard:
            self._codes[code] = _Code(
                settings.client_id,
                redirect_uri,
                scope,
                settings.clock(),
                challenge,
                method,
                account,
            )
        params = {"code": code, "scope": scope}
        if "state" in query:
            params["state"] = query["state"]
        return redirect(redirect_uri, params)

    def token(
        self, form: Mapping[str, str], authorization: str | None
    ) -> tuple[int, dict[str, Any]]:
        """`POST /auth/o2/token`: the status and JSON payload of the answer."""
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:]).decode()
                client_id, _, client_secret = decoded.partition(":")
            except ValueError:
                return oauth_error(401, "invalid_client", "Client authentication failed")
        expected = self._settings.client_secret.encode()
        if client_id != self._settings.client_id or not hmac.compare_digest(
            (client_secret or "").encode(), expected
        ):
            return oauth_error(401, "invalid_client", "Client authentication failed")
        grant_type = form.get("grant_type")
        with self._guard:
            if grant_type == "authorization_code":
                return self._exchange_code(form, client_secret)
            if grant_type == "refresh_token":
                return self._refresh(form)
        if not grant_type:
            return oauth_error(400, "invalid_request", "The request is missing grant_type")
        return oauth_error(400, "unsupported_grant_type", "The grant type is not supported")

    def _exchange_code(
        self, form: Mapping[str, str], client_secret: str | None
    ) -> tuple[int, dict[str, Any]]:
        code = self._codes.get(form.get("code", ""))
        if code is not None and code.method == "S256" and form.get("code_verifier"):
            self._verifiers.append(form["code_verifier"])  # a secret: tests scan for it
        invalid = oauth_error(
            400, "invalid_grant", "The request has an invalid grant parameter : code"
        )
        if code is None or code.used or code.client_id != self._settings.client_id:
            return invalid
        if self._settings.clock() - code.issued_at > CODE_LIFETIME:
            return invalid
        if form.get("redirect_uri") != code.redirect_uri:
            return invalid
        if code.challenge is not None and not verifier_matches(
            form.get("code_verifier", ""), code.challenge, code.method
        ):
            return oauth_error(
                400, "invalid_grant", "The request has an invalid grant parameter : code_verifier"
            )
        code.used = True
        grant = Grant(
            self._settings.client_id,
            self._new_refresh_token(code.account),
            code.scope,
            account=code.account,
            consented_at=self._settings.clock(),
        )
        self.grants[grant.refresh_token] = grant
        answer = self._new_access(grant)
        if client_secret:
            answer["refresh_token"] = grant.refresh_token
            lifetime = self._settings.refresh_token_lifetime
            if self._settings.send_refresh_token_expires_in and lifetime is not None:
                answer["refresh_token_expires_in"] = int(lifetime)
        return 200, answer

    def _refresh(self, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        presented = form.get("refresh_token", "")
        grant = self.grants.get(presented) or self._signed_grant(presented)
        if (
            grant is None
            or grant.revoked
            or grant.client_id != self._settings.client_id
            or self._expired(grant)
        ):
            return oauth_error(
                400,
                "invalid_grant",
                "The request has an invalid grant parameter : refresh_token. User may have "
                "revoked or didn't grant the permission.",
            )
        answer = self._new_access(grant)
        if not self._settings.omit_refresh_token_on_refresh:
            answer["refresh_token"] = grant.refresh_token
        return 200, answer

    def _new_access(self, grant: Grant) -> dict[str, Any]:
        lifetime = self._settings.access_token_lifetime
        expires_at = self._settings.clock() + lifetime
        token = "Atza|" + random_token(400)
        if self._signing_key is not None:
            body = f"{random_token(360)}{_account_part(grant.account)}.{expires_at:.0f}"
            token = f"Atza|{body}.{self._sign('a', body)}"
        self._access[token] = Access(grant.client_id, expires_at, grant)
        expires_in: int | str = str(lifetime) if self._settings.expires_in_as_string else lifetime
        return {"access_token": token, "token_type": "bearer", "expires_in": expires_in}

    # ----- what tests control ----------------------------------------------------------------

    def issue_refresh_token(
        self,
        client_id: str,
        scope: str,
        value: str | None = None,
        account: str | None = None,
        *,
        consented_at: float | None = None,
    ) -> str:
        refresh_token = value or self._new_refresh_token(account)
        when = self._settings.clock() if consented_at is None else consented_at
        grant = Grant(
            client_id,
            refresh_token,
            scope or DEFAULT_GRANT_SCOPE,
            account=account,
            consented_at=when,
        )
        with self._guard:
            self.grants[grant.refresh_token] = grant
        return grant.refresh_token

    def refresh_token_expires_at(self, refresh_token: str) -> float | None:
        with self._guard:
            grant = self.grants.get(refresh_token)
        lifetime = self._settings.refresh_token_lifetime
        if grant is None or grant.consented_at is None or lifetime is None:
            return None
        return grant.consented_at + lifetime

    def _expired(self, grant: Grant) -> bool:
        """Whether the grant's refresh token outlived `refresh_token_lifetime` (Amazon's
        365 days after consent), by the emulator's clock. (The caller holds the guard.)"""
        lifetime = self._settings.refresh_token_lifetime
        if lifetime is None or grant.consented_at is None:
            return False
        return self._settings.clock() >= grant.consented_at + lifetime

    def accept_access_token(
        self, access_token: str, expires_at: float, refresh_token: str | None
    ) -> None:
        with self._guard:
            if refresh_token is None:
                grant = next(iter(self.grants.values()), None)
                if grant is None:
                    raise ValueError(
                        "no grant to tie the access token to: issue_refresh_token() first"
                    )
            else:
                grant = self._known_grant(refresh_token)
            self._access[access_token] = Access(grant.client_id, expires_at, grant)

    def revoke_refresh_token(self, refresh_token: str) -> None:
        with self._guard:
            self._known_grant(refresh_token).revoked = True

    def _known_grant(self, refresh_token: str) -> Grant:
        """The grant of a refresh token this model issued or signed. (The caller holds the
        guard.)

        Raises: ValueError for any other."""
        grant = self.grants.get(refresh_token) or self._signed_grant(refresh_token)
        if grant is None:
            raise ValueError(
                "not a refresh token this emulator issued (issue_refresh_token() or a "
                "consent makes one)"
            )
        return grant

    def revoke_access_tokens(self) -> None:
        with self._guard:
            for access in self._access.values():
                access.revoked = True

    def secrets(self) -> list[str]:
        with self._guard:
            known = [*self.grants, *self._codes, *self._access, *self._verifiers]
            return [self._settings.client_secret, *known]

    def valid_access(self, access_token: str) -> Access | None:
        """The access token's record while the API should accept it, else None."""
        with self._guard:
            access = self._access.get(access_token) or self._signed_access(access_token)
            if access is None or access.revoked or access.grant.revoked:
                return None
            return access if self._settings.clock() < access.expires_at else None

    # ----- signed (stateless) tokens ---------------------------------------------------------

    def _sign(self, kind: str, body: str) -> str:
        assert self._signing_key is not None
        message = f"{self._settings.client_id}|{kind}|{body}".encode()
        return hmac.new(self._signing_key, message, hashlib.sha256).hexdigest()[:32]

    def _new_refresh_token(self, account: str | None = None) -> str:
        if self._signing_key is None:
            return "Atzr|" + random_token(400)
        body = random_token(360) + _account_part(account)
        return f"Atzr|{body}.{self._sign('r', body)}"

    def _verified(self, token: str, prefix: str, kind: str) -> str | None:
        """The signed body of a token this model's key made, else None."""
        if self._signing_key is None or not token.startswith(prefix):
            return None
        body, _, signature = token[len(prefix) :].rpartition(".")
        if not body or not hmac.compare_digest(signature, self._sign(kind, body)):
            return None
        return body

    def _signed_grant(self, refresh_token: str) -> Grant | None:
        """(The caller holds the guard.)"""
        body = self._verified(refresh_token, "Atzr|", "r")
        if body is None:
            return None
        account = _account_of(body.split("."))
        grant = Grant(self._settings.client_id, refresh_token, DEFAULT_GRANT_SCOPE, account=account)
        return self.grants.setdefault(refresh_token, grant)

    def _signed_access(self, access_token: str) -> Access | None:
        """(The caller holds the guard.)"""
        body = self._verified(access_token, "Atza|", "a")
        if body is None:
            return None
        *rest, expiry = body.split(".")
        try:
            expires_at = float(expiry)
        except ValueError:
            return None
        grant = Grant(
            self._settings.client_id, "(signed)", DEFAULT_GRANT_SCOPE, account=_account_of(rest)
        )
        access = Access(self._settings.client_id, expires_at, grant)
        self._access[access_token] = access
        return access


# A signed token names the account that consented (so every emulator with the key knows whose
# profiles its grant sees): `.` and the name in base64url after the random part; nothing for
# the default user, as tokens signed before accounts were named.


def _account_part(account: str | None) -> str:
    if account is None:
        return ""
    return "." + base64.urlsafe_b64encode(account.encode()).decode().rstrip("=")


def _account_of(parts: list[str]) -> str | None:
    """The account a signed token's body parts (random, then maybe the account) name."""
    if len(parts) < 2 or not parts[1]:
        return None
    encoded = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        return base64.urlsafe_b64decode(encoded).decode()
    except ValueError:
        return None
