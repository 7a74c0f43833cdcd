"""The token files of one user, read and written safely: the hardening every file-based
store needs, apart from what a store keeps in them.

- Reading refuses symlinks (O_NOFOLLOW), FIFOs and folders (the type is checked before a
  byte is read), and files of another user; it tightens loose permissions to 0600.
- Writing is atomic: a temp file in the same folder, fsync, os.replace, fsync the folder.
  Half-written copies a killed writer left behind are removed, once no one holds their lock.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

from .._errors import StoreError

logger = logging.getLogger("amazon_ads_auth")

PARTIAL_PREFIX = ".tmp-"
PARTIAL_SUFFIX = ".partial"
_MAX_FILE = 1024 * 1024  # a token file is about 1 KiB


def refuse_symlink(target: Path) -> None:
    if target.is_symlink():
        raise StoreError(
            f"refusing to use {target}: it is a symbolic link (someone may be trying to "
            "redirect your tokens); remove it"
        )


def read_document(target: Path) -> dict[str, Any] | None:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(target, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            refuse_symlink(target)
        raise StoreError(f"could not read {target}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        check_file(target, info)
    except BaseException:
        os.close(fd)
        raise
    try:
        if info.st_mode & 0o077:
            try:
                os.fchmod(fd, 0o600)
            except OSError as exc:
                raise StoreError(f"could not tighten {target}: {exc.strerror}") from None
            logger.warning("tightened the permissions of %s to 0600", target)
        try:
            raw = os.read(fd, _MAX_FILE)
        except OSError as exc:
            raise StoreError(f"could not read {target}: {exc.strerror}") from None
    finally:
        os.close(fd)
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        document = None
    if not isinstance(document, dict):
        raise StoreError(
            f"the token file {target} is corrupt or from an unknown version; it was left "
            "untouched: run `amazon-ads-auth logout` for that grant (or move the file "
            "away) and log in again"
        )
    return document


def check_file(target: Path, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise StoreError(
            f"refusing to use {target}: it is not a regular file (a folder, FIFO or "
            "device); remove it"
        )
    if info.st_uid != os.geteuid():
        raise StoreError(
            f"refusing to use {target}: it belongs to another user (uid {info.st_uid}), "
            "so it may be planted; remove it if you do not know where it came from"
        )


def remove_stale_partials(folder: Path, target: Path) -> None:
    """Remove half-written copies a killed writer left: this key's (we hold its lock),
    and other keys' whose lock no one holds. They may hold a refresh token."""
    import filelock

    for partial in folder.glob(f"{PARTIAL_PREFIX}*{PARTIAL_SUFFIX}"):
        # ".tmp-<stem>.<random>.partial"; an older version wrote ".tmp-<random>.partial".
        middle = partial.name[len(PARTIAL_PREFIX) : -len(PARTIAL_SUFFIX)]
        stem = middle.rpartition(".")[0]
        if stem != target.stem and stem:
            busy = filelock.FileLock(folder / f"{stem}.lock", mode=0o600)
            try:
                busy.acquire(blocking=False)
            except (filelock.Timeout, OSError):
                continue
            try:
                _unlink_quietly(partial)
            finally:
                busy.release()
            continue
        _unlink_quietly(partial)


def write_atomically(folder: Path, target: Path, data: bytes) -> None:
    """Replace `target` with `data` so that a reader sees the old file or the new one,
    never a part: temp file in `folder`, 0600, fsync, os.replace, fsync the folder."""
    import tempfile

    refuse_symlink(target)
    temp_name: str | None = None
    try:
        fd, temp_name = tempfile.mkstemp(
            dir=folder, prefix=f"{PARTIAL_PREFIX}{target.stem}.", suffix=PARTIAL_SUFFIX
        )
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, target)
    except OSError as exc:
        if temp_name is not None:
            _unlink_quietly(Path(temp_name))
        raise StoreError(f"could not write {target}: {exc.strerror or exc}") from None
    fsync_folder(folder)


def fsync_folder(folder: Path) -> None:
    """Make a rename or unlink in `folder` durable."""
    with contextlib.suppress(OSError):  # not every platform can open a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
