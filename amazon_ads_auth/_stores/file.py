"""FileTokenStore: tokens on local disk, shared safely by every process of one machine.

One JSON document per key, not one file for all keys: a save rewrites only its own grant,
so a crash or a corrupt file can only ever touch one grant, and processes working on
different advertisers never wait for each other's locks.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import StoreError
from .._limits import DEFAULT_LOCK_WAIT
from .base import WholeGrantRecords, require_token
from .grant import GrantRecord, grant_from_document, grant_to_document
from .keys import GrantKey
from .token_files import (
    fsync_folder,
    read_document,
    refuse_symlink,
    remove_stale_partials,
    write_atomically,
)

if TYPE_CHECKING:
    import filelock

logger = logging.getLogger("amazon_ads_auth")

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def default_data_dir() -> Path:
    """This user's data folder for amazon-ads-auth (platformdirs)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("amazon-ads-auth", appauthor=False))


def demo_store_url() -> str:
    """Where `--emulator` keeps demo logins: a folder of their own beside the real tokens,
    so they never mix with real grants and are never refreshed against Amazon."""
    return (default_data_dir() / "demo-tokens").as_uri()


class FileTokenStore(WholeGrantRecords):
    """Tokens as 0600 JSON files in a 0700 folder, with atomic writes and per-key file locks.

    `path` defaults to "tokens" under the platform's user data folder. `lock_timeout` bounds
    the wait for another process's lock (StoreError naming the lock file after that); its
    default outlasts a whole refresh (see `_limits`).

    On a shared machine the folder and every token file must belong to the current user and
    the folder must not be writable by others: anything else is refused with StoreError,
    never adopted. Only special files are refused too (a FIFO, a folder, a symlink).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        lock_timeout: float = DEFAULT_LOCK_WAIT,
    ):
        self.path = Path(path) if path is not None else default_data_dir() / "tokens"
        self.lock_timeout = lock_timeout
        self._ensure_folder()

    def __repr__(self) -> str:
        return f"FileTokenStore({str(self.path)!r})"

    @property
    def where(self) -> str:
        """The folder, as messages show the store."""
        return str(self.path)

    # ----- TokenStore ---------------------------------------------------------------------

    def load_grant(self, key: str) -> GrantRecord | None:
        """The whole grant record of `key` (one file read), or None.

        Raises: StoreError for a file that cannot be read, or from a newer version."""
        target = self._file(key)
        document = read_document(target)
        if document is None:
            return None
        return grant_from_document(document, f"the token file {target}")

    def save_grant(self, key: str, record: GrantRecord) -> None:
        """Write the whole grant record of `key` in one atomic file replace."""
        require_token(record.token)
        target = self._file(key)
        document = {**grant_to_document(record), "key": key}
        remove_stale_partials(self.path, target)
        write_atomically(self.path, target, json.dumps(document, separators=(",", ":")).encode())

    def delete(self, key: str) -> None:
        """Remove the grant, even a corrupt one, and any half-written copy of it."""
        target = self._file(key)
        refuse_symlink(target)
        remove_stale_partials(self.path, target)
        try:
            target.unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StoreError(f"could not delete {target}: {exc.strerror}") from None
        fsync_folder(self.path)

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        import filelock

        file_lock, lock_path = self._file_lock(key)
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

    @contextlib.contextmanager
    def try_lock(self, key: str) -> Iterator[bool]:
        """The key's lock if no other process holds it: yields whether it was taken."""
        import filelock

        file_lock, lock_path = self._file_lock(key)
        try:
            file_lock.acquire(blocking=False)
        except filelock.Timeout:
            yield False
            return
        except OSError as exc:
            raise StoreError(f"could not lock {lock_path}: {exc.strerror}") from None
        try:
            yield True
        finally:
            file_lock.release()

    def keys(self) -> list[str]:
        """Every key stored here (for listing grants); unreadable files are skipped."""
        return sorted(k for k, v in self._scan()[0].items() if not isinstance(v, StoreError))

    def records(self) -> dict[str, dict[str, Any] | None]:
        """Every readable key with its login record (or None), in one pass over the folder."""
        return {
            key: None if found.login is None else dict(found.login)
            for key, found in self._scan()[0].items()
            if not isinstance(found, StoreError)
        }

    def grant_records(self) -> dict[str, GrantRecord | StoreError]:
        """Every key whose file names it, with its record or why it cannot be read."""
        return self._scan()[0]

    def problems(self) -> list[str]:
        """What is wrong with each token file here that cannot be read and does not say
        which key it holds (for `status`)."""
        return self._scan()[1]

    def _scan(self) -> tuple[dict[str, GrantRecord | StoreError], list[str]]:
        found: dict[str, GrantRecord | StoreError] = {}
        problems: list[str] = []
        damaged: list[tuple[str, StoreError]] = []
        names = sorted(e.name for e in os.scandir(self.path) if e.name.endswith(".json"))
        for name in names:
            target = self.path / name
            try:
                document = read_document(target)
            except StoreError as exc:
                damaged.append((name, exc))
                continue
            if document is None:
                continue
            key = document.get("key")
            if not isinstance(key, str) or not key or target != self._file(key):
                problems.append(
                    f"the token file {target} does not name its key; it was left untouched: "
                    "move it away"
                )
                continue
            try:
                found[key] = grant_from_document(document, f"the token file {target}")
            except StoreError as exc:
                found[key] = exc
        client_ids = {parsed.client_id for key in found if (parsed := GrantKey.parse(key))}
        for name, error in damaged:
            key = self._key_of_name(name, client_ids)
            if key is None:
                problems.append(str(error))
            else:
                found[key] = error
        return dict(sorted(found.items())), problems

    def _key_of_name(self, name: str, client_ids: set[str]) -> str | None:
        """The key of a file that cannot be read, when its name gives it away: the key as
        its readable part spells it, or a "default" login of a client id seen here or at
        the start of the name (the name's hash decides)."""
        readable = name[: -len(".json")].rpartition("-")[0]
        candidates = {readable.replace("_", "/", 1)} if "_" in readable else set()
        for client_id in {*client_ids, readable.partition("_")[0]}:
            candidates.add(str(GrantKey.login(client_id)))
        for candidate in sorted(candidates):
            with contextlib.suppress(StoreError):
                if self._file(candidate).name == name:
                    return candidate
        return None

    # ----- files --------------------------------------------------------------------------

    def _file(self, key: str) -> Path:
        if not isinstance(key, str) or not key:
            raise StoreError("store keys must be non-empty strings")
        # Readable prefix for people, hash for uniqueness and safety against "../" and case.
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        readable = _SAFE.sub("_", key)[:64].strip("._") or "key"
        return self.path / f"{readable}-{digest}.json"

    def _file_lock(self, key: str) -> tuple[filelock.FileLock, Path]:
        import filelock  # loaded with the first lock, not at import

        lock_path = self._file(key).with_suffix(".lock")
        return filelock.FileLock(lock_path, timeout=self.lock_timeout, mode=0o600), lock_path

    def _ensure_folder(self) -> None:
        try:
            try:
                info = os.lstat(self.path)
            except FileNotFoundError:
                self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
                info = os.lstat(self.path)
        except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
            reason = exc.strerror if isinstance(exc, OSError) else "the path has a NUL character"
            raise StoreError(f"could not create the token folder {self.path!r}: {reason}") from None
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
            raise StoreError(f"the token folder {self.path} is not a plain folder")
        if info.st_uid != os.geteuid():
            raise StoreError(
                f"the token folder {self.path} belongs to another user (uid {info.st_uid}): "
                "refusing to use it; pick a folder of your own"
            )
        if info.st_mode & 0o022:
            raise StoreError(
                f"the token folder {self.path} is writable by other users (mode "
                f"{stat.S_IMODE(info.st_mode):o}): refusing to use it; pick a folder of your "
                "own, or `chmod 700` it"
            )
        if info.st_mode & 0o055:
            # Not ours to chmod (we did not create it); the files themselves are 0600.
            logger.warning(
                "the token folder %s is readable by other users (mode %o); its token files "
                "are 0600",
                self.path,
                stat.S_IMODE(info.st_mode),
            )
