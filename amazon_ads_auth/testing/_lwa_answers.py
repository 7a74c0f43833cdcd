"""Login with Amazon's answers that need no state: OAuth error bodies, the redirect that
refuses a consent (with Amazon's wording), and the PKCE check."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from ._wire import Answer, redirect

ERROR_TEXT = {
    "access_denied": "The user denied the request.",
    "invalid_scope": "An unknown scope was requested",
    "invalid_request": "The request is malformed",
    "unsupported_response_type": "The response_type is not supported",
}


def verifier_matches(verifier: str, challenge: str, method: str) -> bool:
    if method == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        expected = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    else:
        expected = verifier
    return bool(verifier) and hmac.compare_digest(expected, challenge)


def oauth_error(status: int, error: str, description: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": error, "error_description": description}


def refusal(redirect_uri: str, error: str, query: Mapping[str, str]) -> Answer:
    params = {"error": error, "error_description": ERROR_TEXT.get(error, error)}
    if "state" in query:
        params["state"] = query["state"]
    return redirect(redirect_uri, params)
