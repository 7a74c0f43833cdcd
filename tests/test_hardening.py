"""Findings of the adversarial review: deadlines and limits on the token call, secrets in
every form, picklable errors, hostile files, and bad input refused with a typed error."""

from __future__ import annotations

import contextlib
import email.utils
import json
import os
import pickle
import socket
import stat
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from amazon_ads_auth import (
    AdsAuth,
    AdsAuthError,
    AuthorizationDeniedError,
    ConfigurationError,
    FileTokenStore,
    InvalidClientError,
    InvalidGrantError,
    RedisTokenStore,
    StoreError,
    Token,
    TokenEndpointError,
    TokenFormatError,
    TokenRequestError,
)
from amazon_ads_auth._lwa.messages import parse_retry_after
from amazon_ads_auth.cli import main
from amazon_ads_auth.testing import Emulator, FakeClock, Fault
from tests.conftest import running_redis

# ----- a raw loopback server for answers the emulator will not give ---------------------------


class RawServer:
    """Accepts connections on 127.0.0.1 and runs `serve(connection)` for each."""

    def __init__(self, serve: Callable[[socket.socket], None]) -> None:
        self._serve = serve
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.stop = threading.Event()
        self.sent = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        self._socket.settimeout(0.1)
        while not self.stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except OSError:
                continue
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection: socket.socket) -> None:
        with connection, contextlib.suppress(OSError):
            self._serve(connection)

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._thread.join()
        self._socket.close()

    @property
    def token_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/auth/o2/token"


def read_request(connection: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(4096)


def auth_for(token_url: str, **kwargs: object) -> AdsAuth:
    return AdsAuth(
        "amzn1.application-oa2-client.x",
        "sentinel-client-secret-7f3a9c1e5b2d4086",
        "Atzr|" + "r" * 40,
        token_url=token_url,
        **kwargs,  # type: ignore[arg-type]
    )


def test_timeout_is_a_deadline_for_the_whole_attempt() -> None:
    def trickle(connection: socket.socket) -> None:
        read_request(connection)
        for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" * 100:
            connection.sendall(bytes([byte]))
            time.sleep(0.05)  # the server's pace, not the test waiting for something

    with RawServer(trickle) as server:
        auth = auth_for(server.token_url, timeout=0.5, max_retries=0)
        started = time.monotonic()
        with pytest.raises(TokenEndpointError, match=r"timed out after 0\.5s"):
            auth.ensure_token()
        # Per-read timeouts alone would take 4000 x 0.05 s = 200 s here.
        assert time.monotonic() - started < 10


def test_the_retry_cycle_has_a_deadline(
    emulator: Emulator, make_auth: Callable[..., AdsAuth], sleeps: list[float]
) -> None:
    emulator.queue_token_faults(*[Fault.rate_limited(retry_after=50)] * 4)
    auth = make_auth(refresh_deadline=60)
    with pytest.raises(TokenEndpointError, match="HTTP 429 after 2 attempt"):
        auth.ensure_token()
    assert sleeps == [50]  # a second 50 s wait would pass the 60 s deadline
    assert emulator.token_requests["refresh_token"] == 2


def test_store_locks_are_sized_from_the_refresh_deadline(redis_url: str, tmp_path: Path) -> None:
    redis_store = RedisTokenStore(redis_url)
    file_store = FileTokenStore(tmp_path)
    # Default worst case: the deadline (120 s) is inside the lock TTL, which is inside the
    # 300 s margin, and waiters wait past the TTL.
    assert 120 < redis_store.lock_ttl < 300 < 3600
    assert redis_store.lock_timeout > redis_store.lock_ttl
    assert file_store.lock_timeout > 120
    short = RedisTokenStore(redis_url, lock_ttl=10)
    auth = AdsAuth("c", "s", store=short)
    assert auth._manager._grant._transport._policy.deadline <= 10


def test_token_answers_are_capped(emulator: Emulator, make_auth: Callable[..., AdsAuth]) -> None:
    emulator.queue_token_faults(Fault("status", status=200, body=b"{" + b" " * 200_000 + b"}"))
    with pytest.raises(TokenEndpointError, match="more than 64 KiB"):
        make_auth().ensure_token()


def test_an_endless_answer_is_not_read_past_the_cap() -> None:
    server_sent = [0]

    def endless(connection: socket.socket) -> None:
        read_request(connection)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
        chunk = b"x" * 65536
        while server_sent[0] < 100 * 2**20:  # 100 MiB at most, if nobody hangs up
            connection.sendall(chunk)
            server_sent[0] += len(chunk)

    with RawServer(endless) as server, pytest.raises(TokenEndpointError, match="more than 64 KiB"):
        auth_for(server.token_url, max_retries=0).ensure_token()
    assert server_sent[0] < 20 * 2**20  # the client hung up long before


def test_retry_after_as_an_http_date(
    emulator: Emulator, make_auth: Callable[..., AdsAuth], sleeps: list[float], clock: FakeClock
) -> None:
    when = email.utils.formatdate(clock() + 30, usegmt=True)
    assert parse_retry_after(when, clock()) == pytest.approx(30, abs=1)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", clock()) == 0
    assert parse_retry_after("soon", clock()) is None
    emulator.queue_token_faults(Fault.rate_limited(retry_after=when))
    make_auth().ensure_token()
    assert len(sleeps) == 1 and 28 <= sleeps[0] <= 31


# ----- secrets -------------------------------------------------------------------------------


def encoded_forms(secret: str) -> list[str]:
    return [secret, quote(secret, safe=""), secret[:24]]


def test_percent_encoded_and_echoed_secrets_are_redacted(
    emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    refresh_token = emulator.issue_refresh_token()
    secret = emulator.client_secret
    emulator.queue_token_faults(
        Fault.oauth_error("invalid_request", f"body was refresh_token={quote(refresh_token)}"),
        Fault.json_body({"error": secret, "error_description": quote(secret)}, status=400),
        Fault.html(status=200).__class__(
            "status",
            status=200,
            content_type="text/html",
            body=("<html>" + "x" * 180 + secret + " " + refresh_token + "</html>").encode(),
        ),
    )
    messages = []
    for _ in range(3):
        with pytest.raises(AdsAuthError) as caught:
            make_auth(refresh_token).ensure_token()
        messages.append(str(caught.value))
        messages.append(repr(caught.value.__dict__))
    for text in messages:
        for secret_text in (refresh_token, secret):
            for form in encoded_forms(secret_text):
                assert form not in text, text


def test_errors_pickle_with_their_fields() -> None:
    errors: list[AdsAuthError] = [
        TokenRequestError("m", error="invalid_scope", description="d", status_code=400),
        InvalidGrantError("m", error="invalid_grant", description="d", status_code=400),
        InvalidClientError("m", error="invalid_client", status_code=401),
        AuthorizationDeniedError("m", error="access_denied", description="no"),
        TokenEndpointError("m", status_code=503, retry_after=2.0),
        StoreError("m"),
        ConfigurationError("m"),
        TokenFormatError("m"),
    ]
    for error in errors:
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert str(copy) == str(error)
        assert copy.__dict__ == error.__dict__


def test_raised_errors_carry_no_secret(
    emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    refresh_token = emulator.issue_refresh_token()
    emulator.revoke_refresh_token(refresh_token)
    with pytest.raises(InvalidGrantError) as caught:
        make_auth(refresh_token).ensure_token()
    error: BaseException | None = caught.value
    blob = pickle.dumps(caught.value)
    assert refresh_token.encode() not in blob and emulator.client_secret.encode() not in blob
    while error is not None:  # nothing chained to it carries one either
        for text in (str(error), repr(error), repr(getattr(error, "__dict__", {}))):
            assert refresh_token not in text and emulator.client_secret not in text
        error = error.__cause__ or error.__context__


def test_secrets_stay_out_of_frame_locals(
    emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    refresh_token = emulator.issue_refresh_token()
    emulator.queue_token_faults(*[Fault.status_code(503)] * 4)
    with pytest.raises(TokenEndpointError) as caught:
        make_auth(refresh_token).ensure_token()
    traceback = caught.value.__traceback__
    inside = 0
    while traceback is not None:
        frame = traceback.tb_frame
        if "amazon_ads_auth" in frame.f_code.co_filename:
            inside += 1
            for value in frame.f_locals.values():
                shown = repr(value)
                assert refresh_token not in shown and emulator.client_secret not in shown
        traceback = traceback.tb_next
    assert inside >= 3


def test_cli_masks_the_redis_password(tmp_path: Path) -> None:
    password = "hunter2-" + uuid.uuid4().hex
    with running_redis(tmp_path, "--requirepass", password) as (_, url):
        store_url = url.replace("redis://", f"redis://:{password}@")
        runner = CliRunner()
        env = {"AMAZON_ADS_CLIENT_ID": "amzn1.application-oa2-client.x"}
        outputs = [
            runner.invoke(main, ["status", "--store", store_url], env=env).output,
            runner.invoke(main, ["logout", "--store", store_url, "--yes"], env=env).output,
            runner.invoke(
                main, ["status", "--store", store_url.replace(password, "wrong")], env=env
            ).output,
        ]
    assert "No logins in redis://127.0.0.1:" in outputs[0]  # host, port, db: no password
    for output in outputs:
        assert password not in output


# ----- the file store on a hostile or shared machine -------------------------------------------

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
NOBODY = 65534


def a_token(n: int = 1) -> Token:
    return Token(f"Atza|{n}" + "a" * 40, "Atzr|" + "r" * 40, 2e9)


@needs_root
def test_a_folder_of_another_user_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "planted"
    FileTokenStore(folder).save("k", a_token())
    os.chown(folder, NOBODY, NOBODY)
    with pytest.raises(StoreError, match="belongs to another user"):
        FileTokenStore(folder)


@needs_root
def test_a_token_file_of_another_user_is_refused(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "t")
    store.save("k", a_token())
    target = next((tmp_path / "t").glob("*.json"))
    os.chown(target, NOBODY, NOBODY)
    os.chmod(target, 0o644)
    with pytest.raises(StoreError, match="belongs to another user"):
        store.load("k")
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # not touched


def test_a_shared_writable_folder_is_refused_and_not_chmodded(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    os.chmod(folder, 0o1777)
    with pytest.raises(StoreError, match="writable by other users"):
        FileTokenStore(folder)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o1777  # sticky bit and all


def test_a_fifo_or_folder_at_the_token_path_is_refused_at_once(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "t")
    store.save("k", a_token())
    target = next((tmp_path / "t").glob("*.json"))
    target.unlink()
    os.mkfifo(target)
    outcome: list[BaseException] = []
    reader = threading.Thread(target=lambda: _capture(outcome, lambda: store.load("k")))
    reader.start()
    reader.join(timeout=10)
    assert not reader.is_alive(), "load() hung on a FIFO"
    assert isinstance(outcome[0], StoreError) and "not a regular file" in str(outcome[0])
    target.unlink()
    target.mkdir()
    with pytest.raises(StoreError, match="not a regular file"):
        store.load("k")


def _capture(outcome: list[BaseException], call: Callable[[], object]) -> None:
    try:
        call()
    except BaseException as exc:
        outcome.append(exc)


def test_a_vanished_folder_gives_a_store_error(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "t")
    (tmp_path / "t").rmdir()
    with pytest.raises(StoreError, match="could not write"):
        store.save("k", a_token())


def test_half_written_files_are_cleaned_up(tmp_path: Path) -> None:
    folder = tmp_path / "t"
    store = FileTokenStore(folder)
    store.save("k", a_token())
    stem = next(folder.glob("*.json")).stem
    mine = folder / f".tmp-{stem}.abc123.partial"
    legacy = folder / ".tmp-xyz789.partial"  # from an older version
    for partial in (mine, legacy):
        partial.write_text(json.dumps(a_token().to_dict()))
    store.save("k", a_token(2))
    assert not mine.exists() and not legacy.exists()
    mine.write_text("{}")
    store.delete("k")  # logout
    assert not mine.exists()
    assert not list(folder.glob(".tmp-*"))


def test_logout_removes_a_corrupt_grant(tmp_path: Path) -> None:
    folder = tmp_path / "t"
    FileTokenStore(folder).save("amzn1.application-oa2-client.x/default", a_token())
    target = next(folder.glob("*.json"))
    target.write_text("{corrupt")
    runner = CliRunner()
    args = ["--store", f"file://{folder}", "--client-id", "amzn1.application-oa2-client.x"]
    status = runner.invoke(main, ["status", *args])
    assert status.exit_code == 0 and "unreadable" in status.output
    assert "Traceback" not in status.output
    result = runner.invoke(main, ["logout", *args, "--yes"])
    assert result.exit_code == 0, result.output
    assert not target.exists()


# ----- every failure is an AdsAuthError; bad input refused at construction ----------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"client_id": "amzn1.application-oa2-client.x\r\nX-Evil: 1"},
        {"client_id": "amzn1.application-oa2-client.x\0"},
        {"account_id": "amzn1.account\n"},
        {"profile_id": "-5"},
        {"profile_id": "--5"},
        {"profile_id": "\u0661\u0662\u0663"},
        {"profile_id": 1.5},
        {"refresh_margin": float("inf")},
        {"refresh_margin": 10**400},
        {"refresh_margin": 3600},
        {"refresh_deadline": float("nan")},
        {"timeout": float("inf")},
    ],
)
def test_bad_arguments_are_refused_at_construction(kwargs: dict[str, object]) -> None:
    arguments: dict[str, object] = {
        "client_id": "amzn1.application-oa2-client.x",
        "client_secret": "s",
        **kwargs,
    }
    with pytest.raises(ConfigurationError):
        AdsAuth(**arguments)  # type: ignore[arg-type]


def test_huge_numbers_give_typed_errors(
    emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    with pytest.raises(TokenFormatError):
        Token("Atza|x", None, 10**400)
    with pytest.raises(TokenFormatError):
        Token.from_dict({"access_token": "Atza|x", "expires_at": 10**400})
    emulator.queue_token_faults(
        Fault(
            "status",
            status=200,
            body=b'{"access_token": "Atza|x", "token_type": "bearer", "expires_in": 1e400}',
        )
    )
    with pytest.raises(TokenEndpointError):
        make_auth().ensure_token()


def deep_json(depth: int = 100_000) -> bytes:
    return b"[" * depth + b"]" * depth


def test_deeply_nested_json_gives_typed_errors(
    emulator: Emulator, make_auth: Callable[..., AdsAuth], tmp_path: Path, redis_url: str
) -> None:
    emulator.queue_token_faults(Fault("status", status=200, body=deep_json()))
    with pytest.raises(TokenEndpointError):
        make_auth().ensure_token()
    store = FileTokenStore(tmp_path)
    store.save("k", a_token())
    next(tmp_path.glob("*.json")).write_bytes(b'{"format": 1, "token": ' + deep_json() + b"}")
    with pytest.raises(StoreError):
        store.load("k")
    redis_store = RedisTokenStore(redis_url, prefix=f"deep-{uuid.uuid4().hex}:")
    redis_store._client.set(redis_store.prefix + "k", deep_json())
    with pytest.raises(StoreError):
        redis_store.load("k")


def test_a_non_string_scope_in_a_token_answer_is_ignored(
    emulator: Emulator, make_auth: Callable[..., AdsAuth]
) -> None:
    emulator.queue_token_faults(Fault.token_fields(scope=123))
    assert make_auth().ensure_token().scope is None


def test_stores_refuse_values_that_are_not_tokens(tmp_path: Path) -> None:
    from amazon_ads_auth import MemoryTokenStore

    for store in (MemoryTokenStore(), FileTokenStore(tmp_path)):
        with pytest.raises(StoreError, match="Token"):
            store.save("k", {"access_token": "Atza|x"})  # type: ignore[arg-type]


def test_cli_malformed_redirect_uri_is_one_line() -> None:
    result = CliRunner().invoke(
        main, ["login", "--emulator", "--no-browser", "--redirect-uri", "http://[::1/cb"]
    )
    assert result.exit_code == 1
    assert "Traceback" not in result.output and "not a valid URL" in result.output
