"""The store contract kit (`amazon_ads_auth.testing.check_token_store`) over every store we
ship and the docs' SQLite CallbackTokenStore; and that it catches a broken store."""

from __future__ import annotations

import contextlib
import os
import pathlib
import uuid
from collections.abc import Iterator
from typing import Any

import keyring
import pytest

from amazon_ads_auth import (
    CallbackTokenStore,
    FileTokenStore,
    KeyringTokenStore,
    MemoryTokenStore,
    RedisTokenStore,
    Token,
)
from amazon_ads_auth.testing import StoreContractError, check_token_store
from tests.docs_text import blocks as docs_blocks
from tests.file_keyring import FileKeyring

ALL_CHECKS = {
    "round trip",
    "keys never collide",
    "never loses a refresh token",
    "lock excludes threads",
    "lock excludes processes",
}


def test_memory_store() -> None:
    ran = check_token_store(MemoryTokenStore, processes=False)
    assert set(ran) >= ALL_CHECKS - {"lock excludes processes"}
    assert {"try_lock does not wait", "keys lists the grants", "grant records"} <= set(ran)


def test_file_store(tmp_path: pathlib.Path) -> None:
    ran = check_token_store(lambda: FileTokenStore(tmp_path / "tokens"))
    assert set(ran) >= ALL_CHECKS | {"try_lock does not wait", "login records", "grant records"}


def test_keyring_store(tmp_path: pathlib.Path) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(FileKeyring(tmp_path / "keyring.json"))
    try:
        ran = check_token_store(lambda: KeyringTokenStore(lock_folder=tmp_path / "locks"))
    finally:
        keyring.set_keyring(previous)
    assert set(ran) >= ALL_CHECKS | {"login records", "grant records"}


def test_redis_store(redis_url: str) -> None:
    prefix = f"contract-{uuid.uuid4().hex}:"
    ran = check_token_store(lambda: RedisTokenStore(redis_url, prefix=prefix))
    assert set(ran) >= ALL_CHECKS | {"try_lock does not wait", "login records", "grant records"}


@contextlib.contextmanager
def working_directory(path: pathlib.Path) -> Iterator[None]:
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def test_readme_sqlite_callback_store(tmp_path: pathlib.Path) -> None:
    block = docs_blocks("docs/stores.md", after="## Your own database")[0].code
    namespace: dict[str, Any] = {}
    with working_directory(tmp_path):
        exec(block, namespace)
        functions = {name: namespace[name] for name in ("load", "save", "delete", "lock")}
        ran = check_token_store(lambda: CallbackTokenStore(**functions))
    assert set(ran) == ALL_CHECKS | {"login records", "grant records"}


class ForgetfulStore(MemoryTokenStore):
    """Its lock excludes nothing: the kit must say so."""

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        yield


class CollidingRecords(MemoryTokenStore):
    """Keeps records as grants under "<key>#login", the old keyring collision."""

    def save_login(self, key: str, record: dict[str, Any]) -> None:
        super().save_login(key, record)
        self.save(key + "#login", Token("Atza|record", None, 0.0))


def test_the_kit_catches_a_lock_that_excludes_nothing() -> None:
    with pytest.raises(StoreContractError, match="lock excludes threads"):
        check_token_store(ForgetfulStore, processes=False)


def test_the_kit_catches_records_that_collide_with_grants() -> None:
    with pytest.raises(StoreContractError, match="destroyed the grant"):
        check_token_store(CollidingRecords, processes=False)
