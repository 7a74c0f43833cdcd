"""The emulator's request and answer, free of any HTTP library.

The models (`_lwa_model`, `_ads_model`) map a `Request` to an `Answer`; the socket server
(`_server`) and the in-process transports (`_transports`) only translate to and from them,
so both serve exactly the same behaviour.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

# How a token request can end without an answer (a fault): the server closes the
# connection (`DROP`, a FIN) or resets it (`RESET`, an RST).
DROP = "drop"
RESET = "reset"
# An in-process client's timeout ran out first (the socket server never sees this one).
TIMEOUT = "timeout"


@dataclasses.dataclass(frozen=True)
class Request:
    """One request: method, path with query, headers (lower-case names) and body, and how
    long an in-process client waits for the answer (None: a socket client, its own clock)."""

    method: str
    target: str
    headers: Mapping[str, str]
    body: bytes = b""
    timeout: float | None = None

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> str:
        return urlsplit(self.target).query


@dataclasses.dataclass(frozen=True)
class Answer:
    """What the emulator answers; `hang_up` (DROP or RESET) means no answer at all."""

    status: int = 200
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    body: bytes = b""
    hang_up: str | None = None


def json_answer(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Answer:
    """An Ads API style JSON answer (`payload` None: an empty body)."""
    body = json.dumps(payload).encode() if payload is not None else b""
    return Answer(status, {"Content-Type": "application/json", **(headers or {})}, body)


def oauth_json(status: int, payload: Mapping[str, Any]) -> Answer:
    """A token endpoint answer, with the content type LwA sends."""
    headers = {"Content-Type": "application/json;charset=UTF-8"}
    return Answer(status, headers, json.dumps(payload).encode())


def page(status: int, message: str) -> Answer:
    """An HTML page, as LwA shows for errors it cannot redirect."""
    body = f"<html><body><h1>Login with Amazon</h1><p>{message}</p></body></html>".encode()
    return Answer(status, {"Content-Type": "text/html;charset=UTF-8"}, body)


def redirect(url: str, params: Mapping[str, str]) -> Answer:
    """302 to `url` with `params` added to its query."""
    return Answer(302, {"Location": url + ("&" if "?" in url else "?") + urlencode(params)})


def random_token(length: int, alphabet: str = "") -> str:
    alphabet = alphabet or "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "".join(secrets.choice(alphabet) for _ in range(length))
