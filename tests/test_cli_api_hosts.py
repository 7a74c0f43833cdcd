"""`amazon-ads-auth api` sends nothing to a host that is not the login's, however the URL is
written (a backslash or an `@` in the authority is read differently by requests/urllib3
and `urlsplit`), and Ads API error texts are redacted (every token the call held) before
they are shown: in the CLI's error line and in `api`'s printed body."""

from __future__ import annotations

import contextlib
import http.server
import json
import pathlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from amazon_ads_auth import ConfigurationError
from amazon_ads_auth._logins.profiles import fetch_profiles
from amazon_ads_auth.cli import main
from amazon_ads_auth.cli.api import plain_authority
from amazon_ads_auth.testing import Emulator
from tests.test_cli import grant, pointing_at

__all__ = ["grant"]  # the fixture


class Recorder(http.server.BaseHTTPRequestHandler):
    """A server that records every request, and answers 401 with an Amazon-style error
    whose `details` echo the Authorization header it got."""

    seen: list[tuple[str, str, dict[str, str], bytes]]

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.seen.append((self.command, self.path, dict(self.headers.items()), body))
        echoed = self.headers.get("Authorization", "")
        payload = json.dumps({"code": "UNAUTHORIZED", "details": f"Bad token: {echoed}"})
        data = payload.encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def recorder() -> Iterator[tuple[str, list[Any]]]:
    seen: list[Any] = []
    handler = type("Handler", (Recorder,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://a\\@b/v2/profiles", "a backslash"),
        ("https://advertising-api.amazon.com\\@evil.example/x", "a backslash"),
        ("https://evil.example\\advertising-api.amazon.com/x", "a backslash"),
        ("https://user@advertising-api.amazon.com/x", "an '@'"),
        ("https://u:p@advertising-api.amazon.com/x", "an '@'"),
        ("https://advertising-api.amazon.com/x\\y", None),  # in the path: not the host
        ("https://advertising-api.amazon.com/a@b", None),
        ("https://advertising-api.amazon.com:443/v2/profiles?x=@", None),
    ],
)
def test_which_authorities_are_plain(url: str, why: str | None) -> None:
    found = plain_authority(url)
    assert (found is None) if why is None else (found is not None and found.startswith(why))


@pytest.mark.parametrize(
    "template",
    [
        "http://{attacker}\\@{ads}/v2/profiles",  # requests: host attacker; urlsplit: ads
        "http://{attacker}\\{ads}/v2/profiles",
        "http://{ads}@{attacker}/v2/profiles",
        "http://x:y@{ads}/v2/profiles",
    ],
)
def test_a_url_that_hides_its_host_is_refused_and_sends_nothing(
    emulator: Emulator, grant: pathlib.Path, template: str
) -> None:
    ads = emulator.api_url.partition("://")[2]
    with recorder() as (attacker, seen):
        url = template.format(attacker=attacker, ads=ads)
        result = CliRunner().invoke(
            main,
            [
                "api", "POST", url, "--data", '{"secret": "body"}',
                "--header", "X-Private: header-value", *pointing_at(emulator, grant),
            ],
        )  # fmt: skip
        assert seen == []  # nothing went to the other host: no body, no header, no token
    assert result.exit_code == 2, result.output
    assert "write the URL plainly" in result.stderr and "Traceback" not in result.output
    assert emulator.api_log == []


def test_the_prepared_url_is_checked_with_the_host_rule(
    emulator: Emulator, grant: pathlib.Path
) -> None:
    with recorder() as (other, seen):
        result = CliRunner().invoke(
            main, ["api", f"http://{other}/v2/profiles", *pointing_at(emulator, grant)]
        )
        assert seen == []
    assert result.exit_code == 1 and "not an Ads API host" in result.stderr


def test_an_answer_that_echoes_the_token_is_redacted(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    """The login's own Ads API (a loopback server here) answers 401 with the bearer token
    in its details: `api` prints the body without it."""
    from amazon_ads_auth import AdsAuth, FileTokenStore

    store = tmp_path / "tokens"
    with recorder() as (api_host, seen):
        kwargs = {**emulator.auth_kwargs(), "api_hosts": [f"http://{api_host}"]}
        auth = AdsAuth(
            emulator.client_id, emulator.client_secret, emulator.issue_refresh_token(),
            store=FileTokenStore(store), clock=emulator.clock, **kwargs,
        )  # fmt: skip
        token = auth.ensure_token().access_token
        auth.close()
        args = [*pointing_at(emulator, store)]
        args[args.index("--api-url") + 1] = f"http://{api_host}"
        result = CliRunner().invoke(main, ["api", "/v2/profiles", *args])
        # A 401: AdsAuth refreshed once and tried again; each answer echoed its token.
        sent = [headers["Authorization"].partition(" ")[2] for _, _, headers, _ in seen]
    assert token in sent and len(sent) == 2
    assert result.exit_code == 1
    for echoed in sent:
        assert echoed not in result.output and echoed[:20] not in result.output
    assert "<redacted>" in result.stdout


class _Bearer(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        self.token_value = token

    def __call__(self, request: Any) -> Any:
        request.headers["Authorization"] = f"Bearer {self.token_value}"
        return request


def test_profile_errors_never_carry_the_token_the_call_held() -> None:
    # Not LwA-shaped, so only "every token the call held" can catch it.
    token = "opaque-bearer-" + "9" * 160
    with recorder() as (api_host, _), pytest.raises(ConfigurationError) as caught:
        fetch_profiles(_Bearer(token), f"http://{api_host}")
    message = str(caught.value)
    assert "HTTP 401" in message and "Bad token" in message
    assert token not in message and token[:30] not in message and "<redacted>" in message
