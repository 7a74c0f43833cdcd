"""The TokenStore contract as a kit: point it at a factory of your store and it checks it.

    from amazon_ads_auth.testing import check_token_store

    def test_my_store_keeps_the_contract(tmp_path):
        check_token_store(lambda: MyStore(tmp_path / "db"))

It checks, against real instances made by `factory` (each check gets a fresh one):
- round trip: load, save, overwrite, delete, a missing key;
- keys that look alike (case, "../", "#login", unicode) never collide;
- a refresh token is never lost when a token without one is saved through AdsAuth (the
  merge is the token manager's, under the key lock, for every store);
- `lock` excludes other threads and, with `processes=True`, other processes (each process
  makes its own store with `factory`, so it must be picklable for the "spawn" start method);
- the optional abilities the store has: `try_lock` (TryLockStore), `keys` (ListableStore),
  login records (LoginRecordStore), whose storage must never collide with another key's
  grant, and which `delete` removes with the grant;
- the grant record, for every store: token, login record, consent time, refresh-token
  expiry and last refresh outcome come back as saved, in a new store too, and a token saved
  by a refresh (`save`) keeps the rest of the record (natively for a GrantRecordStore; for
  other stores through the token and the login record).
It returns the names of the checks it ran and raises StoreContractError naming the first
that failed.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable
from typing import Any

from .._stores.base import ListableStore, LoginRecordStore, TokenStore, TryLockStore
from .._stores.grant import (
    GrantRecord,
    GrantRecordStore,
    RefreshOutcome,
    grant_to_document,
    read_grant,
    write_grant,
)
from .._stores.keys import GrantKey
from .._token import Token

StoreFactory = Callable[[], TokenStore]

_ALIKE_KEYS = (
    "amzn1.client/default",
    "AMZN1.CLIENT/default",
    "amzn1.client/../default",
    "amzn1.client/default#login",
    "amzn1.client/Zürich",
    "other-client/default",
)
_THREADS = 6
_INCREMENTS = 15


class StoreContractError(AssertionError):
    """A store broke the TokenStore contract; the message names the check."""


def check_token_store(
    factory: StoreFactory, *, processes: bool = True, start_method: str | None = None
) -> list[str]:
    """Run the TokenStore contract against stores made by `factory`; see the module text.

    `processes=False` skips the cross-process lock check (for a store that is one process's
    memory). `start_method` is multiprocessing's ("fork" where available, else "spawn").

    Raises: StoreContractError naming the first check that failed."""
    checks: list[tuple[str, Callable[[StoreFactory], None]]] = [
        ("round trip", _round_trip),
        ("keys never collide", _keys_never_collide),
        ("never loses a refresh token", _never_loses_a_refresh_token),
        ("lock excludes threads", _lock_excludes_threads),
    ]
    if processes:
        checks.append(
            ("lock excludes processes", lambda f: _lock_excludes_processes(f, start_method))
        )
    sample = factory()
    if isinstance(sample, TryLockStore):
        checks.append(("try_lock does not wait", _try_lock))
    if isinstance(sample, ListableStore):
        checks.append(("keys lists the grants", _keys_lists_the_grants))
    if isinstance(sample, LoginRecordStore):
        checks.append(("login records", _login_records))
    if isinstance(sample, (GrantRecordStore, LoginRecordStore)):
        checks.append(("grant records", _grant_records))
    ran = []
    for name, check in checks:
        try:
            check(factory)
        except StoreContractError:
            raise
        except Exception as exc:
            raise StoreContractError(f"{name}: {type(exc).__name__}: {exc}") from exc
        ran.append(name)
    return ran


def _expect(condition: bool, check: str, what: str) -> None:
    if not condition:
        raise StoreContractError(f"{check}: {what}")


def _token(n: int, refresh: str | None = "Atzr|contract") -> Token:
    return Token(f"Atza|contract-{n}", refresh, 2_000_000_000.0 + n)


def _round_trip(factory: StoreFactory) -> None:
    store = factory()
    key = "amzn1.client/round-trip"
    _expect(store.load(key) is None, "round trip", "load() of a missing key must be None")
    store.save(key, _token(1))
    _expect(store.load(key) == _token(1), "round trip", "load() must return the saved token")
    store.save(key, _token(2, "Atzr|other"))
    _expect(store.load(key) == _token(2, "Atzr|other"), "round trip", "save() must overwrite")
    store.delete(key)
    _expect(store.load(key) is None, "round trip", "load() after delete() must be None")
    store.delete(key)  # deleting a missing key is no error
    _expect(factory().load(key) is None, "round trip", "a new store must see the delete")


def _keys_never_collide(factory: StoreFactory) -> None:
    store = factory()
    for n, key in enumerate(_ALIKE_KEYS):
        store.save(key, _token(n))
    store.delete(_ALIKE_KEYS[0])
    for n, key in enumerate(_ALIKE_KEYS):
        expected = None if n == 0 else _token(n)
        _expect(store.load(key) == expected, "keys never collide", f"key {key!r} was mixed up")


def _never_loses_a_refresh_token(factory: StoreFactory) -> None:
    from .._auth.adsauth import AdsAuth

    store = factory()
    auth = AdsAuth("amzn1.application-oa2-client.contract", "secret", store=store)
    key = str(GrantKey.login(auth.client_id))
    auth.import_token(_token(1, "Atzr|keep"))
    auth.import_token(_token(2, None))
    stored = store.load(key)
    _expect(
        stored is not None and stored.refresh_token == "Atzr|keep",
        "never loses a refresh token",
        "saving a token without a refresh token through AdsAuth lost the stored one",
    )
    _expect(stored == _token(2, "Atzr|keep"), "never loses a refresh token", "wrong token kept")


def _increment(store: TokenStore, key: str, times: int) -> None:
    """Read-modify-write under the lock: lost updates show a lock that does not exclude."""
    for _ in range(times):
        with store.lock(key):
            current = store.load(key)
            count = int(current.expires_at) if current is not None else 0
            time.sleep(0.001)  # widen the window a lock that excludes nothing would lose in
            store.save(key, Token("Atza|counter", "Atzr|counter", float(count + 1)))


def _lock_excludes_threads(factory: StoreFactory) -> None:
    store = factory()
    key = "amzn1.client/thread-counter"
    threads = [
        threading.Thread(target=_increment, args=(store, key, _INCREMENTS)) for _ in range(_THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _expect_count(store.load(key), _THREADS, "threads")


def _increment_in_a_process(factory: StoreFactory, key: str, times: int) -> None:
    _increment(factory(), key, times)


def _lock_excludes_processes(factory: StoreFactory, start_method: str | None) -> None:
    methods = multiprocessing.get_all_start_methods()
    method = start_method or ("fork" if "fork" in methods else "spawn")
    context: Any = multiprocessing.get_context(method)
    key = "amzn1.client/process-counter"
    count = 3
    workers = [
        context.Process(target=_increment_in_a_process, args=(factory, key, _INCREMENTS))
        for _ in range(count)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        _expect(
            worker.exitcode == 0, "lock excludes processes", f"a worker exited {worker.exitcode}"
        )
    _expect_count(factory().load(key), count, "processes")


def _expect_count(final: Token | None, workers: int, who: str) -> None:
    """The counter `_increment` kept: every locked increment of every worker, none lost."""
    total = workers * _INCREMENTS
    _expect(
        final is not None and final.expires_at == total,
        f"lock excludes {who}",
        f"{total} locked increments from {workers} {who} gave "
        f"{None if final is None else int(final.expires_at)}",
    )


def _try_lock(factory: StoreFactory) -> None:
    store = factory()
    assert isinstance(store, TryLockStore)
    key = "amzn1.client/try-lock"
    held = threading.Event()
    done = threading.Event()
    seen: list[bool] = []

    def holder() -> None:
        with store.lock(key):
            held.set()
            done.wait(30)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        _expect(held.wait(30), "try_lock does not wait", "lock() was never taken")
        with store.try_lock(key) as acquired:
            seen.append(acquired)
    finally:
        done.set()
        thread.join()
    with store.try_lock(key) as acquired:
        seen.append(acquired)
    _expect(seen == [False, True], "try_lock does not wait", f"try_lock gave {seen}")


def _keys_lists_the_grants(factory: StoreFactory) -> None:
    store = factory()
    assert isinstance(store, ListableStore)
    saved = ["amzn1.client/a", "amzn1.client/b"]
    for n, key in enumerate(saved):
        store.save(key, _token(n))
    with store.lock(saved[0]):
        listed = set(store.keys())
    _expect(set(saved) <= listed, "keys lists the grants", f"keys() missed some of {saved}")
    store.delete(saved[1])
    remaining = store.keys()
    _expect(saved[1] not in remaining, "keys lists the grants", "a deleted key is listed")


def _login_records(factory: StoreFactory) -> None:
    store = factory()
    assert isinstance(store, LoginRecordStore)
    key = "amzn1.client/records"
    record = {"format": 1, "client_id": "amzn1.client", "region": "eu", "profiles": []}
    store.save(key, _token(1))
    # Grants whose names a record of `key` could be stored under: refused, or kept apart.
    lookalikes = [f"{key}#login", f"#login:{key}", f"login:{key}", f"{key}:login"]
    kept = []
    for n, other in enumerate(lookalikes, start=10):
        try:
            store.save(other, _token(n))
        except Exception:  # noqa: S112 - a store may refuse a key it reserves
            continue
        kept.append((other, _token(n)))
    with store.lock(key):
        store.save_login(key, record)
    _expect(store.load_login(key) == record, "login records", "load_login() lost the record")
    for other, token in kept:
        _expect(
            store.load(other) == token,
            "login records",
            f"saving the record of {key!r} destroyed the grant of {other!r}",
        )
    store.save(key, _token(2))
    _expect(store.load_login(key) == record, "login records", "a token save lost the record")
    if isinstance(store, ListableStore):
        listed = set(store.keys())
        _expect(key in listed, "login records", "the recorded grant is not listed")
    store.delete(key)
    _expect(store.load(key) is None, "login records", "delete() left the grant")
    _expect(store.load_login(key) is None, "login records", "delete() left the record")


def _grant_records(factory: StoreFactory) -> None:
    store = factory()
    key = "amzn1.client/grant-record"
    login = {
        "format": 1,
        "client_id": "amzn1.client",
        "region": "fe",
        "profiles": [{"profileId": 7}],
    }
    record = GrantRecord(
        _token(1),
        login,
        consented_at=1_790_000_000.0,
        refresh_expires_at=1_790_000_000.0 + 365 * 86400,
        expires_from="policy",
        last_refresh=RefreshOutcome("revoked", 1_790_000_100.0, "invalid_grant"),
    )
    with store.lock(key):
        write_grant(store, key, record)
    check = "grant records"
    other = factory()  # another instance: the same data, unless the store is per instance
    for reader in (store, other) if other.load(key) is not None else (store,):
        loaded = read_grant(reader, key)
        _expect(loaded is not None, check, "the saved grant record is missing")
        assert loaded is not None
        _expect(
            grant_to_document(loaded) == grant_to_document(record),
            check,
            "the grant record did not come back as saved",
        )
    with store.lock(key):
        store.save(key, _token(2))  # what a refresh does: only the token changes
    loaded = read_grant(store, key)
    _expect(
        loaded is not None
        and loaded.token == _token(2)
        and grant_to_document(loaded) == grant_to_document(record.with_token(_token(2))),
        check,
        "saving a token dropped the rest of the grant record",
    )
    store.delete(key)
    _expect(read_grant(store, key) is None, check, "delete() left the grant record")
