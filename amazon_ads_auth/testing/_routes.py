"""The Ads API's routes in the emulator: which paths and methods exist, which need a Scope,
and who answers them (the model's own handlers, or a test's, added with `Emulator.route`).

A path the table does not know answers 404 and a known path with another method 405, with
Amazon's `{"code": ..., "details": ...}` bodies, so a typo in a client fails here as it would
against Amazon. A route's handler gets an `ApiRequest` and returns an `ApiResponse` or a
`(status, json_body)` pair.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_PARAMETER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_HIDDEN = ("authorization",)  # header values a repr never shows


class Headers(Mapping[str, str]):
    """Request headers, read-only and case-insensitive (`headers["Amazon-Advertising-API-
    Scope"]` and `headers["amazon-advertising-api-scope"]` are the same), like httpx's."""

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        self._items = {name.lower(): value for name, value in (items or {}).items()}

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self._items == {str(k).lower(): v for k, v in other.items()}
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = {k: ("[hidden]" if k in _HIDDEN else v) for k, v in self._items.items()}
        return f"Headers({shown!r})"


@dataclasses.dataclass(frozen=True)
class ApiRequest:
    """An Ads API request as the emulator saw it (in `Emulator.api_log`, and as a route
    handler gets it). `path` has no query; `query` holds its parameters (the last value of
    a repeated one); `path_params` the `{name}` parts of the route it matched; `status`
    the status it got (0 while a handler is still answering it); `profiles` the profiles
    the bearer token's grant sees, and `account` the emulator account that consented to it
    (None: the emulator's default user), both once the token was checked."""

    method: str
    path: str
    headers: Mapping[str, str]
    status: int = 0
    query: Mapping[str, str] = dataclasses.field(default_factory=dict)
    body: bytes = b""
    path_params: Mapping[str, str] = dataclasses.field(default_factory=dict)
    profiles: tuple[dict[str, Any], ...] = dataclasses.field(default=(), repr=False)
    account: str | None = None

    def __post_init__(self) -> None:
        # One made by hand (to unit-test a handler) may pass a dict: headers stay
        # case-insensitive all the same.
        if not isinstance(self.headers, Headers):
            object.__setattr__(self, "headers", Headers(self.headers))

    @property
    def profile_id(self) -> str | None:
        """The `Amazon-Advertising-API-Scope` header (a profile id), if sent."""
        return self.headers.get("amazon-advertising-api-scope")

    @property
    def client_id(self) -> str | None:
        """The `Amazon-Advertising-API-ClientId` header, if sent."""
        return self.headers.get("amazon-advertising-api-clientid")

    def json(self) -> Any:
        """The body parsed as JSON (None for an empty body).

        Raises: ValueError for a body that is not JSON."""
        return json.loads(self.body) if self.body else None


@dataclasses.dataclass(frozen=True)
class ApiResponse:
    """What a route handler answers: a status, a JSON body (None: no body) and headers."""

    status: int = 200
    json: Any = None
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)


RouteAnswer = ApiResponse | tuple[int, Any]
RouteHandler = Callable[[ApiRequest], RouteAnswer]


def as_response(answer: object, where: str) -> ApiResponse:
    """A handler's answer as an ApiResponse.

    Raises: TypeError for anything but an ApiResponse or a (status, body) pair."""
    if isinstance(answer, ApiResponse):
        return answer
    if (
        isinstance(answer, tuple)
        and len(answer) == 2
        and isinstance(answer[0], int)
        and not isinstance(answer[0], bool)
    ):
        return ApiResponse(answer[0], answer[1])
    raise TypeError(
        f"the handler of {where} returned {type(answer).__name__}; return an ApiResponse "
        "or a (status, json_body) pair"
    )


@dataclasses.dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    handler: RouteHandler
    needs_scope: bool
    regex: re.Pattern[str]

    def match(self, path: str) -> dict[str, str] | None:
        found = self.regex.fullmatch(path)
        return None if found is None else found.groupdict()


def _compile(pattern: str) -> re.Pattern[str]:
    parts = _PARAMETER.split(pattern)
    # split() alternates literal text and parameter names
    regex = "".join(
        re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts)
    )
    return re.compile(regex)


def check_route(method: object, path: object, handler: object) -> tuple[str, str]:
    """The method (upper case) and path of a route a test adds.

    Raises: TypeError or ValueError saying what is wrong with an argument."""
    if not isinstance(method, str) or not isinstance(path, str):
        raise TypeError(
            f"route(method, path, handler) takes two strings first, got "
            f"{type(method).__name__} and {type(path).__name__}"
        )
    if method.upper() not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if not path.startswith("/") or "?" in path or "#" in path or any(c.isspace() for c in path):
        raise ValueError(
            f"path must start with '/' and have no query or spaces (use {{name}} for a part "
            f"that varies, e.g. '/sp/campaigns/{{campaignId}}'), got {path!r}"
        )
    if not callable(handler):
        raise TypeError(f"handler must be callable, got {type(handler).__name__}")
    return method.upper(), path


class RouteTable:
    """The routes: a test's (newest first) before the model's own."""

    def __init__(self) -> None:
        self._added: list[Route] = []
        self._builtin: list[Route] = []
        self._guard = threading.Lock()

    def add(
        self, method: str, pattern: str, handler: RouteHandler, *, needs_scope: bool, builtin: bool
    ) -> None:
        route = Route(method, pattern, handler, needs_scope, _compile(pattern))
        with self._guard:
            if builtin:
                self._builtin.append(route)
            else:
                self._added.insert(0, route)

    def find(self, method: str, path: str) -> tuple[Route | None, dict[str, str], list[str]]:
        """(the route for this method and path, its path parameters, the methods the path
        allows); no route and no methods: an unknown path."""
        with self._guard:
            routes = [*self._added, *self._builtin]
        allowed: list[str] = []
        for route in routes:
            params = route.match(path)
            if params is None:
                continue
            if route.method == method:
                return route, params, []
            if route.method not in allowed:
                allowed.append(route.method)
        return None, {}, allowed


def parse_query(query: str) -> dict[str, str]:
    return dict(parse_qsl(query, keep_blank_values=True))
