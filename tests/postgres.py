"""A real PostgreSQL server for the tests: initdb and pg_ctl (Debian's postgresql package) in
a temporary folder, on a free loopback port, run as an unprivileged user when the suite
runs as root (PostgreSQL refuses to run as root; CI does)."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

PASSWORD = "pg-sentinel-password-" + "3b9d7e21"  # scanned for: must never be printed
USER = "ads"


def binaries() -> Path | None:
    """The folder of initdb and pg_ctl: PG_BIN, else the newest /usr/lib/postgresql/*/bin,
    else PATH."""
    given = os.environ.get("PG_BIN")
    candidates = [given] if given else sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for folder in candidates:
        if folder and (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and shutil.which("initdb") else None


def _run_as() -> list[str]:
    """The prefix that runs a command as an unprivileged user when we are root."""
    if os.geteuid() != 0:
        return []
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return ["runuser", "-u", name, "--"]
    raise RuntimeError("running as root with no 'postgres' or 'nobody' user to run PostgreSQL")


def _owner() -> tuple[int, int] | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return entry.pw_uid, entry.pw_gid
    return None


class PostgresServer:
    """One PostgreSQL cluster in a folder of its own: start, stop (for outage tests),
    start again on the same port."""

    def __init__(self, bin_folder: Path) -> None:
        self.bin = bin_folder
        # Not under pytest's tmp folder: its parents are 0700 root, which the server's user
        # cannot enter.
        self.folder = Path(tempfile.mkdtemp(prefix="ads-pg-"))
        self.data = self.folder / "data"
        owner = _owner()
        if owner is not None:
            os.chown(self.folder, *owner)
        os.chmod(self.folder, 0o700)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        password_file = self.folder / "pw"
        password_file.write_text(PASSWORD + "\n")
        if owner is not None:
            os.chown(password_file, *owner)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            USER,
            "--pwfile",
            str(password_file),
            "-A",
            "scram-sha-256",
            "--no-sync",
            "-E",
            "UTF8",
        )
        password_file.unlink()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{USER}:{PASSWORD}@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(
            [*_run_as(), str(self.bin / program), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=120,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -h 127.0.0.1 -k {self.folder} -c fsync=off "
            "-c max_connections=200 -c shared_buffers=16MB"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.folder / "log"),
            "-o",
            options,
            "-w",
            "start",
        )
        self.wait_until_up()

    def wait_until_up(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:  # poll with a bound until the server accepts connections
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1),
            ):
                return
            if time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def running_postgres(bin_folder: Path) -> Iterator[PostgresServer]:
    server = PostgresServer(bin_folder)
    try:
        server.start()
        yield server
    finally:
        server.remove()
