"""What AdsAuth does after requests has a response: replay once on 401, and drop its headers
before a redirect leaves the Ads API.

requests calls an `AuthBase` only before sending; the rest happens in a response hook, the
way `HTTPDigestAuth.handle_401` does it: drain and close the first response, copy the
request, send it through `r.connection.send`, append to `history`, and never loop.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.cookies import extract_cookies_to_jar

from .._refresh.manager import TokenManager
from .._urls import HostScope

_REPLAYED = "_amazon_ads_auth_replayed"


class ResponseHook:
    """The response hook of one AdsAuth view: `scope` names its profile/account (so a
    refresh that did not cure one profile's 401s is remembered for that profile only), and
    `header_names` are the Ads headers it adds."""

    def __init__(
        self,
        manager: TokenManager,
        hosts: HostScope,
        scope: str | None,
        header_names: tuple[str, ...],
    ) -> None:
        self._manager = manager
        self._hosts = hosts
        self._prefixes = hosts.prefixes
        self._scope = scope
        self._header_names = header_names

    def __call__(self, r: requests.Response, **kwargs: Any) -> requests.Response:
        status = r.status_code
        if status == 401:
            return self._handle_401(r, **kwargs)
        if 300 <= status < 400 and "location" in r.headers:
            self._strip_before_redirect(r)
        return r

    def _strip_before_redirect(self, r: requests.Response) -> None:
        """requests builds the redirected request as a copy of `r.request` after the hooks
        run: drop the Ads headers (and our Authorization) from it when the target is not an
        Ads API origin, so a report's S3 URL never sees the client id or profile."""
        target = urlsplit(urljoin(r.url, r.headers["location"]))
        try:
            port = target.port
        except ValueError:
            port = None
        if target.hostname and self._hosts.matches(target.scheme, target.hostname, port):
            return
        headers = r.request.headers
        for name in self._header_names:
            headers.pop(name, None)
        sent = headers.get("Authorization")
        if sent is not None and sent.startswith("Bearer "):
            headers.pop("Authorization", None)

    def _handle_401(self, r: requests.Response, **kwargs: Any) -> requests.Response:
        """On a 401 to a request we authorized, refresh and replay once."""
        request = r.request
        sent = request.headers.get("Authorization")
        if (
            not sent
            or not sent.startswith("Bearer ")
            or getattr(request, _REPLAYED, False)
            or request.url is None
            or not request.url.startswith(self._prefixes)
        ):
            return r
        manager = self._manager
        token = manager.ensure(manager.need_after_401(sent[7:], self._scope))
        if token.access_token == sent[7:]:
            return r  # no new token to try (a refresh just proved these 401s are not its fault)
        if request.body is not None and not isinstance(request.body, (bytes, str)):
            return r  # a stream or file body cannot be sent twice: the caller gets the 401
        r.content  # noqa: B018 - drain, so the connection can be reused
        r.close()
        replay = request.copy()
        setattr(replay, _REPLAYED, True)
        jar = replay._cookies  # type: ignore[attr-defined]
        extract_cookies_to_jar(jar, request, r.raw)  # type: ignore[no-untyped-call]
        replay.prepare_cookies(jar)
        replay.headers["Authorization"] = "Bearer " + token.access_token
        retried: requests.Response = r.connection.send(replay, **kwargs)
        retried.history.append(r)
        retried.request = replay
        if retried.status_code == 401:
            manager.note_refresh_did_not_help(token.access_token, self._scope)
        return retried
