"""Shared fixtures: the emulator, a fake clock, the HTTP stacks, and the secret scanner."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import pytest
import requests

from amazon_ads_auth import AdsAuth
from amazon_ads_auth.testing import Emulator, FakeClock
from tests.accounts import profiles_for_tests

HTTPX_MODULES = ["httpx"]
try:
    importlib.import_module("httpx2")
    HTTPX_MODULES.append("httpx2")
except ImportError:
    pass

STACKS = ["requests"] + [
    f"{module}{suffix}" for module in HTTPX_MODULES for suffix in ("", "-async")
]


@dataclasses.dataclass
class Result:
    """What a stack's request came back with, in one shape for every stack."""

    status: int
    body: Any
    history: list[int]
    sent: dict[str, str]


class Stack:
    """One HTTP client stack (requests, httpx, httpx async, ...) behind one call."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.is_async = name.endswith("-async")
        self.module_name = name.removesuffix("-async")

    def __repr__(self) -> str:
        return self.name

    def request(
        self,
        method: str,
        url: str,
        auth: Any,
        headers: dict[str, str] | None = None,
        content: Any = None,
    ) -> Result:
        if self.name == "requests":
            r = requests.request(method, url, auth=auth, headers=headers, data=content, timeout=30)
            return Result(
                r.status_code,
                _body(r.content),
                [h.status_code for h in r.history],
                {k.lower(): v for k, v in r.request.headers.items()},
            )
        module = importlib.import_module(self.module_name)
        if self.is_async:

            async def send() -> Any:
                async with module.AsyncClient(auth=auth, follow_redirects=True, timeout=30) as c:
                    return await c.request(method, url, headers=headers, content=content)

            r = asyncio.run(send())
        else:
            with module.Client(auth=auth, follow_redirects=True, timeout=30) as c:
                r = c.request(method, url, headers=headers, content=content)
        return Result(
            r.status_code,
            _body(r.content),
            [h.status_code for h in r.history],
            {k.lower(): v for k, v in r.request.headers.items()},
        )

    def get(self, url: str, auth: Any, headers: dict[str, str] | None = None) -> Result:
        return self.request("GET", url, auth, headers=headers)


def eventually(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    """Poll `predicate` (with a bound) until it holds: for work done by background threads."""
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout}s: {predicate}")
        time.sleep(0.005)


def _body(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return content


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest) -> Stack:
    return Stack(request.param)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleeps() -> list[float]:
    """Backoff delays the token transport asked for (recorded, not slept)."""
    return []


SENTINEL_CLIENT_SECRET = "sentinel-client-secret-" + "7f3a9c1e5b2d4086"
# The web flow's cookie-signing key in tests: a secret of the app, scanned for like the rest.
SENTINEL_SECRET_KEY = "sentinel-secret-key-" + "5c8e1f0a9d7b3e2c6a4f"


class SecretScanner(logging.Handler):
    """Collects every text a secret could leak into during a test: log records (any logger,
    DEBUG and up), AdsAuthError messages, reprs of our objects, and CLI output. At teardown
    it fails the test if any planted sentinel or any secret an emulator issued shows up."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[tuple[str, str]] = []
        self.logs: list[str] = []
        self.emulators: list[Emulator] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.logs.append(text)
        self.texts.append(("a log record", text))

    def secrets(self) -> list[str]:
        from tests.postgres import PASSWORD

        found = [SENTINEL_CLIENT_SECRET, SENTINEL_SECRET_KEY, PASSWORD]
        for emulator in self.emulators:
            found.extend(emulator.issued_secrets())
        return found

    def check(self) -> None:
        secrets = self.secrets()
        for where, text in self.texts:
            for secret in secrets:
                assert secret not in text, f"a secret leaked into {where}: {text[:160]!r}"


def _recording(scanner: SecretScanner, where: str, original: Any) -> Any:
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        scanner.texts.append((where, result if isinstance(result, str) else str(self)))
        return result

    return wrapper


@pytest.fixture(autouse=True)
def secret_scanner(monkeypatch: pytest.MonkeyPatch) -> Iterator[SecretScanner]:
    """Used by the whole suite: plants the sentinel client secret (the `emulator` fixture's)
    and fails any test where a secret appears in a log record, an exception message, a repr
    or CLI output (except `token`, whose job is to print one)."""
    import click.testing

    import amazon_ads_auth
    import amazon_ads_auth.web
    from amazon_ads_auth import _errors
    from amazon_ads_auth._lwa import messages as _lwa
    from amazon_ads_auth._refresh import manager as _manager

    scanner = SecretScanner()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(scanner)
    root.setLevel(logging.DEBUG)

    original_init = Emulator.__init__

    def track(self: Emulator, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        scanner.emulators.append(self)

    monkeypatch.setattr(Emulator, "__init__", track)

    original_error_init = _errors.AdsAuthError.__init__

    def record_error(self: Exception, *args: Any, **kwargs: Any) -> None:
        original_error_init(self, *args, **kwargs)  # type: ignore[arg-type]
        scanner.texts.append(("an exception message", str(self)))

    monkeypatch.setattr(_errors.AdsAuthError, "__init__", record_error)
    for cls in (
        amazon_ads_auth.AdsAuth,
        amazon_ads_auth.Token,
        amazon_ads_auth.AuthorizationRequest,
        amazon_ads_auth.FileTokenStore,
        amazon_ads_auth.RedisTokenStore,
        amazon_ads_auth.SQLTokenStore,
        amazon_ads_auth.EncryptedTokenStore,
        _lwa.TokenHttpRequest,
        _manager.TokenManager,
        amazon_ads_auth.web.ConsentFlow,
        amazon_ads_auth.web.ConsentStart,
        amazon_ads_auth.web.ConsentResult,
    ):
        monkeypatch.setattr(cls, "__repr__", _recording(scanner, "a repr", cls.__repr__))

    original_invoke = click.testing.CliRunner.invoke

    def invoke(self: Any, cli: Any, args: Any = None, *rest: Any, **kwargs: Any) -> Any:
        result = original_invoke(self, cli, args, *rest, **kwargs)
        if not args or next(iter(args)) != "token":
            scanner.texts.append(("CLI output", result.output))
        return result

    monkeypatch.setattr(click.testing.CliRunner, "invoke", invoke)
    # Every lifecycle event of the process (on_event's and listeners' alike), every field.
    stop_events = amazon_ads_auth.add_event_listener(
        lambda event: scanner.texts.append(
            ("an event", f"{event!r} {sorted(dataclasses.asdict(event).items())!r}")
        )
    )
    try:
        yield scanner
    finally:
        stop_events()
        root.removeHandler(scanner)
        root.setLevel(previous)
    scanner.check()


@pytest.fixture
def captured_logs(secret_scanner: SecretScanner) -> list[str]:
    """Every log record (any logger, DEBUG and up) emitted during the test, as text."""
    return secret_scanner.logs


@pytest.fixture
def emulator(clock: FakeClock) -> Iterator[Emulator]:
    """A running emulator on the test's fake clock, with the sentinel client secret. Its
    account has the profiles the tests send in the Scope header (the emulator refuses any
    other, as Amazon does)."""
    with Emulator(
        clock=clock, client_secret=SENTINEL_CLIENT_SECRET, profiles=profiles_for_tests()
    ) as emu:
        yield emu


def assert_no_secrets(texts: list[str], secrets: list[str], where: str) -> None:
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"a secret leaked into {where}: {text[:120]!r}"


@pytest.fixture
def make_auth(
    emulator: Emulator, clock: FakeClock, sleeps: list[float]
) -> Iterator[Callable[..., AdsAuth]]:
    """AdsAuth pointed at the emulator, on the fake clock, with recorded (not real) backoff."""
    made: list[AdsAuth] = []

    def make(refresh_token: str | None = "issue", **overrides: Any) -> AdsAuth:
        if refresh_token == "issue":
            refresh_token = emulator.issue_refresh_token()
        kwargs: dict[str, Any] = dict(emulator.auth_kwargs(), clock=clock, sleep=sleeps.append)
        kwargs.update(overrides)
        auth = AdsAuth(emulator.client_id, emulator.client_secret, refresh_token, **kwargs)
        made.append(auth)
        return auth

    yield make
    for auth in made:
        auth.close()


def need_server(what: str, package: str) -> NoReturn:
    """A test needs a program this machine lacks: skip, saying what to install; with
    REQUIRE_TEST_SERVERS=1 (as .ci/run sets) fail instead, so CI always runs them."""
    hint = f"{what} is not installed: apt-get install {package}"
    if os.environ.get("REQUIRE_TEST_SERVERS") == "1":
        pytest.fail(f"{hint} (.ci/run installs it)")
    pytest.skip(hint)


@contextlib.contextmanager
def running_redis(folder: Any, *extra: str) -> Iterator[tuple[Any, str]]:
    """A real redis-server on a free loopback port: (process, url)."""
    import shutil
    import socket
    import subprocess
    import time

    import redis

    binary = shutil.which("redis-server") or need_server("redis-server", "redis-server")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    password = extra[extra.index("--requirepass") + 1] if "--requirepass" in extra else None
    client = redis.Redis.from_url(url, password=password)
    deadline = time.monotonic() + 20
    while True:  # poll with a bound until the server answers
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.02)
    try:
        yield process, url
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free loopback port for the whole session."""
    with running_redis(tmp_path_factory.mktemp("redis")) as (_, url):
        yield url


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """A real PostgreSQL server (initdb + pg_ctl, tests/postgres.py) for the whole session."""
    from tests.postgres import binaries, running_postgres

    folder = binaries() or need_server("PostgreSQL (initdb, pg_ctl)", "postgresql")
    with running_postgres(folder) as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: Any) -> str:
    """The session's PostgreSQL URL (with a password: scanned for, never to be printed)."""
    postgres_server.wait_until_up()
    return str(postgres_server.url)


@pytest.fixture
def file_keyring(tmp_path: Any) -> Iterator[Any]:
    """A keyring backend in a file of this test's own, set for the test's duration."""
    import keyring

    from tests.file_keyring import FileKeyring

    previous = keyring.get_keyring()
    backend = FileKeyring(tmp_path / "keyring.json")
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def private_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Every test gets a HOME and XDG folders of its own and no AMAZON_ADS_* variables, so
    the suite never reads or writes the user's real logins (and they cannot change it)."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(home / name.lower()))
    for name in list(os.environ):
        if name.startswith("AMAZON_ADS_"):
            monkeypatch.delenv(name)
    return home
