"""FileTokenStore: tokens on local disk, shared safely by every process of one machine.

One JSON document per key, not one file for all keys: a save rewrites only its own grant,
so a crash or a corrupt file can only ever touch one grant, and processes working on
different advertisers never wait for each other's locks.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import filelock
import platformdirs

from ._errors import StoreError, TokenFormatError
from ._token import Token

logger = logging.getLogger("amazon_ads_auth")

_FORMAT = 1
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def default_data_dir() -> Path:
    """This user's data folder for amazon-ads-auth (platformdirs)."""
    return Path(platformdirs.user_data_dir("amazon-ads-auth", appauthor=False))


class FileTokenStore:
    """Tokens as 0600 JSON files in a 0700 folder, with atomic writes and per-key file locks.

    `path` defaults to "tokens" under the platform's user data folder. `lock_timeout` bounds
    the wait for another process's lock (StoreError naming the lock file after that).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, lock_timeout: float = 60.0):
        self.path = Path(path) if path is not None else default_data_dir() / "tokens"
        self.lock_timeout = lock_timeout
        self._ensure_folder()

    def __repr__(self) -> str:
        return f"FileTokenStore({str(self.path)!r})"

    # ----- TokenStore ---------------------------------------------------------------------

    def load(self, key: str) -> Token | None:
        document = self._read(self._file(key))
        if document is None:
            return None
        return self._token_of(document, self._file(key))

    def save(self, key: str, token: Token) -> None:
        target = self._file(key)
        previous = self._read(target)
        if previous is not None:
            # Never replace a stored refresh token with none.
            token = token.with_refresh_token(self._token_of(previous, target).refresh_token)
        document = {"format": _FORMAT, "key": key, "token": token.to_dict()}
        self._write_atomically(target, json.dumps(document, indent=1).encode())

    def delete(self, key: str) -> None:
        target = self._file(key)
        self._refuse_symlink(target)
        try:
            target.unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StoreError(f"could not delete {target}: {exc.strerror}") from None
        self._fsync_folder()

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        lock_path = self._file(key).with_suffix(".lock")
        file_lock = filelock.FileLock(lock_path, timeout=self.lock_timeout, mode=0o600)
        try:
            file_lock.acquire()
        except filelock.Timeout:
            raise StoreError(
                f"timed out after {self.lock_timeout}s waiting for the lock {lock_path}: "
                "another process holds it; if none is running, delete that file"
            ) from None
        except OSError as exc:
            raise StoreError(f"could not lock {lock_path}: {exc.strerror}") from None
        try:
            yield
        finally:
            file_lock.release()

    def keys(self) -> list[str]:
        """Every key stored here (for listing grants)."""
        found = []
        for entry in sorted(self.path.glob("*.json")):
            try:
                document = self._read(entry)
            except StoreError as exc:
                logger.warning("skipping a token file: %s", exc)
                continue
            if document is not None and isinstance(document.get("key"), str):
                found.append(document["key"])
        return found

    # ----- files --------------------------------------------------------------------------

    def _file(self, key: str) -> Path:
        if not isinstance(key, str) or not key:
            raise StoreError("store keys must be non-empty strings")
        # Readable prefix for people, hash for uniqueness and safety against "../" and case.
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        readable = _SAFE.sub("_", key)[:64].strip("._") or "key"
        return self.path / f"{readable}-{digest}.json"

    def _ensure_folder(self) -> None:
        try:
            self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = os.lstat(self.path)
        except OSError as exc:
            raise StoreError(f"could not create the token folder {self.path}: {exc}") from None
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
            raise StoreError(f"the token folder {self.path} is not a plain folder")
        if info.st_mode & 0o077:
            if info.st_uid != os.getuid():
                raise StoreError(
                    f"the token folder {self.path} is readable by others and not yours: "
                    "use a folder of your own"
                )
            os.chmod(self.path, 0o700)
            logger.warning("tightened the permissions of %s to 0700", self.path)

    def _refuse_symlink(self, target: Path) -> None:
        if target.is_symlink():
            raise StoreError(
                f"refusing to use {target}: it is a symbolic link (someone may be trying to "
                "redirect your tokens); remove it"
            )

    def _read(self, target: Path) -> dict[str, Any] | None:
        try:
            fd = os.open(target, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                self._refuse_symlink(target)
            raise StoreError(f"could not read {target}: {exc.strerror}") from None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if info.st_mode & 0o077:
                os.fchmod(handle.fileno(), 0o600)
                logger.warning("tightened the permissions of %s to 0600", target)
            raw = handle.read()
        try:
            document = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            document = None
        if not isinstance(document, dict) or document.get("format") != _FORMAT:
            raise StoreError(
                f"the token file {target} is corrupt or from an unknown version; it was left "
                "untouched: move it away (or delete it) and log in again"
            )
        return document

    def _token_of(self, document: dict[str, Any], target: Path) -> Token:
        try:
            return Token.from_dict(document.get("token"))  # type: ignore[arg-type]
        except TokenFormatError as exc:
            raise StoreError(
                f"the token file {target} holds no valid token ({exc}); it was left untouched: "
                "move it away (or delete it) and log in again"
            ) from None

    def _write_atomically(self, target: Path, data: bytes) -> None:
        self._refuse_symlink(target)
        fd, temp_name = tempfile.mkstemp(dir=self.path, prefix=".tmp-", suffix=".partial")
        try:
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), 0o600)
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_name, target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(temp_name)
            raise StoreError(f"could not write {target}: {exc.strerror}") from None
        self._fsync_folder()

    def _fsync_folder(self) -> None:
        with contextlib.suppress(OSError):  # not every platform can open a folder
            fd = os.open(self.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
