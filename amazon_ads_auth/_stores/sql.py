"""SQLTokenStore: grants in one table of your own database (PostgreSQL, SQLite), through
SQLAlchemy 2.x core, with database locks so a fleet refreshes once.

One row per store key, holding the whole grant record (the token, the login record and the
lifecycle: consent time, refresh-token expiry, last refresh) written by one statement.
Locks are the database's own, so nothing outlives its holder:
- PostgreSQL: a session-level advisory lock (`pg_advisory_lock`, `pg_try_advisory_lock`) on
  a stable 64-bit hash of the table and key, held on a connection of its own for the length
  of the lock; the server releases it when that session ends (an error, a killed process).
  The wait is bounded with the session's `lock_timeout`.
- SQLite: `BEGIN IMMEDIATE` with a busy timeout on a small lock database per key, in a
  folder beside the database file (one per key, so advertisers never wait for each other,
  and the grants file itself is never held for a refresh); SQLite's file locks are released
  by the kernel when their holder dies.
- Anything else (or an in-memory SQLite): threads of this process only.
A lock is waited for at most until the deadline of the refresh in progress; after that the
token manager refreshes without it and logs so, as with every other store.

Every database error is a `StoreError` naming the database without its password (and never
the statement's parameters, which hold tokens), so an outage costs single flight, not calls.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import logging
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import ConfigurationError, StoreError
from .._limits import DEFAULT_LOCK_WAIT, seconds_left
from .._locks import forget_locks_at_fork
from .._redact import printable
from .._token import Token
from .base import KeyLocks, decode_record, require_token
from .grant import GrantRecord, grant_from_document, grant_to_document

if TYPE_CHECKING:
    import sqlalchemy

DEFAULT_TABLE = "amazon_ads_auth_grants"
KEY_LENGTH = 512  # characters of a store key ("<client id>/<store key>")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_LOGGING_NAME = "amazon_ads_auth"
_LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE when lock_timeout expires
logger = logging.getLogger("amazon_ads_auth")


def _sqlalchemy() -> Any:
    try:
        import sqlalchemy
    except ImportError:
        raise ConfigurationError(
            "SQLTokenStore needs SQLAlchemy 2: pip install 'amazon-ads-auth[sql]'"
        ) from None
    return sqlalchemy


# ----- the row: the one place a grant's shape in the table is written and read -------------


def grant_table(metadata: sqlalchemy.MetaData, name: str = DEFAULT_TABLE) -> sqlalchemy.Table:
    """The table: one row per store key. `token` is the token as JSON, `login` the login
    record as JSON (NULL for a grant stored without one), `lifecycle` the rest of the grant
    record as JSON (format, consent time, refresh-token expiry, last refresh; NULL in rows
    an older version wrote). TEXT: no limit, so LwA's 2,048-byte tokens fit, encrypted ones
    too."""
    sa = _sqlalchemy()
    return sa.Table(  # type: ignore[no-any-return]
        name,
        metadata,
        sa.Column("grant_key", sa.String(KEY_LENGTH), primary_key=True),
        sa.Column("token", sa.Text, nullable=False),
        sa.Column("login", sa.Text, nullable=True),
        sa.Column("lifecycle", sa.Text, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def record_to_columns(record: GrantRecord) -> dict[str, Any]:
    """The columns of a grant record's row (all of them, written by one statement)."""
    document = grant_to_document(record)
    token = document.pop("token")
    login = document.pop("login", None)  # also a damaged record kept as it was read
    return {
        "token": _json(token),
        "login": None if login is None else _json(login),
        "lifecycle": _json(document),
        "updated_at": _now(),
    }


def record_from_columns(
    token: str, login: str | None, lifecycle: str | None, where: str
) -> GrantRecord:
    """The grant record of a row. A row an older version wrote (no lifecycle) is a grant
    with no consent time; a damaged lifecycle is ignored with a warning (the grant still
    works, nothing stored changes); a damaged token, or a newer format, is a StoreError.

    Raises: StoreError."""
    document: dict[str, Any] = {"format": 1}
    if lifecycle is not None:
        fields = _loads(lifecycle)
        if isinstance(fields, dict):
            document = fields
        else:
            logger.warning("the lifecycle of %s is damaged: it is ignored", where)
    document["token"] = _loads(token)
    if login is not None:
        loaded = _loads(login)
        document["login"] = login if loaded is _DAMAGED else loaded
    return grant_from_document(document, where)


_DAMAGED = object()


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError, TypeError):
        return _DAMAGED


def record_to_column(record: dict[str, Any]) -> str:
    return _json(record)


def record_from_column(text: str | None) -> dict[str, Any] | None:
    return None if text is None else decode_record(text)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


# ----- the store ---------------------------------------------------------------------------


class SQLTokenStore:
    """Grants as rows of one table (default `amazon_ads_auth_grants`) in a SQL database.

    `url_or_engine` is a SQLAlchemy URL (`postgresql+psycopg://user:pw@host/db`,
    `postgresql://...` (psycopg 3 is used), `sqlite:///path/grants.db`) or an existing
    `sqlalchemy.Engine` (used as it is). `table` names the table; `create=True` creates it
    on first use if it is missing (`amazon-ads-auth store ddl` prints its DDL for apps that
    run their own migrations). `lock_timeout` bounds the wait for another holder's lock
    (less inside a refresh: what is left of its deadline); `lock_folder` is where a SQLite
    database keeps its lock files (default: `<database file>-locks`).
    """

    def __init__(
        self,
        url_or_engine: str | sqlalchemy.engine.Engine,
        *,
        table: str = DEFAULT_TABLE,
        create: bool = False,
        lock_timeout: float = DEFAULT_LOCK_WAIT,
        lock_folder: str | os.PathLike[str] | None = None,
    ) -> None:
        sa = _sqlalchemy()
        self._sa = sa
        if isinstance(url_or_engine, str):
            self._engine = _engine_from_url(sa, url_or_engine)
        elif isinstance(url_or_engine, sa.engine.Engine):
            self._engine = url_or_engine
        else:
            raise ConfigurationError(
                f"SQLTokenStore takes a database URL or a SQLAlchemy Engine, got "
                f"{type(url_or_engine).__name__}"
            )
        if not isinstance(table, str) or not table or len(table) > 63:
            raise ConfigurationError("table= must be a table name of 1 to 63 characters")
        self.table_name = table
        self._table = grant_table(sa.MetaData(), table)
        self.create = create
        self.lock_timeout = lock_timeout
        self._created = False
        self._dialect = self._engine.dialect.name
        self._lock_folder = self._sqlite_lock_folder(lock_folder)
        self._key_locks = KeyLocks()
        forget_locks_at_fork(self)

    def __repr__(self) -> str:
        return f"SQLTokenStore({self._url()!r}, table={self.table_name!r})"

    @property
    def where(self) -> str:
        """The database URL without its password, and the table, as messages show it."""
        return f"{self._url()} (table {self.table_name})"

    @property
    def engine(self) -> sqlalchemy.engine.Engine:
        return self._engine

    @property
    def table(self) -> sqlalchemy.Table:
        return self._table

    def _url(self) -> str:
        return str(self._engine.url.render_as_string(hide_password=True))

    def _after_fork(self) -> None:
        # A forked child must not share its parent's pooled connections (SQLAlchemy's own
        # advice): it opens its own.
        self._engine.dispose(close=False)

    def ddl(self) -> str:
        """The CREATE TABLE statement for this table in this database's dialect."""
        from sqlalchemy.schema import CreateTable

        statement = str(CreateTable(self._table).compile(dialect=self._engine.dialect))
        return "\n".join(line.rstrip() for line in statement.strip().splitlines()) + ";"

    # ----- TokenStore ---------------------------------------------------------------------

    def load(self, key: str) -> Token | None:
        record = self.load_grant(key)
        return None if record is None else record.token

    def save(self, key: str, token: Token) -> None:
        """Replace the grant's token in one statement, keeping the rest of its record."""
        require_token(token)
        self._check_key(key)
        values = {"token": _json(token.to_dict()), "updated_at": _now()}
        self._upsert(key, values, insert=values, doing="saving a token")

    def load_grant(self, key: str) -> GrantRecord | None:
        """The whole grant record of `key` (one SELECT of its row), or None.

        Raises: StoreError when the database fails, or the row cannot be read (it is left
        untouched)."""
        self._check_key(key)
        column = self._table.c
        statement = self._sa.select(column.token, column.login, column.lifecycle).where(
            column.grant_key == key
        )
        with self._failing("loading a grant"), self._engine.connect() as connection:
            row = connection.execute(statement).first()
        if row is None:
            return None
        return record_from_columns(row[0], row[1], row[2], self._row_name(key))

    def save_grant(self, key: str, record: GrantRecord) -> None:
        """Write the whole grant record of `key` (token, login record, lifecycle) in one
        INSERT ... ON CONFLICT DO UPDATE, so no reader sees half of it."""
        require_token(record.token)
        self._check_key(key)
        values = record_to_columns(record)
        self._upsert(key, values, insert=values, doing="saving a grant")

    def delete(self, key: str) -> None:
        self._check_key(key)
        column = self._table.c
        with self._failing("deleting a token"), self._engine.begin() as connection:
            connection.execute(self._sa.delete(self._table).where(column.grant_key == key))

    def load_login(self, key: str) -> dict[str, Any] | None:
        """What `login` recorded with this grant (the row's `login` column), if anything."""
        self._check_key(key)
        column = self._table.c
        with self._failing("loading a login record"), self._engine.connect() as connection:
            text = connection.execute(
                self._sa.select(column.login).where(column.grant_key == key)
            ).scalar()
        return record_from_column(text)

    def save_login(self, key: str, record: dict[str, Any]) -> None:
        """Keep `record` in the grant's row, keeping the rest of the grant record (the
        grant must be saved first)."""
        self._check_key(key)
        column = self._table.c
        statement = (
            self._sa.update(self._table)
            .where(column.grant_key == key)
            .values(login=record_to_column(record), updated_at=_now())
        )
        with self._failing("saving a login record"), self._engine.begin() as connection:
            changed = connection.execute(statement).rowcount
        if not changed:
            raise StoreError(f"no grant is stored under {printable(key)!r} in {self.where}")

    def keys(self) -> list[str]:
        """Every key stored in the table (for listing grants)."""
        column = self._table.c
        with self._failing("listing keys"), self._engine.connect() as connection:
            rows = connection.execute(self._sa.select(column.grant_key).order_by(column.grant_key))
            return [row[0] for row in rows]

    def records(self) -> dict[str, dict[str, Any] | None]:
        """Every key with its login record (or None), in one query."""
        column = self._table.c
        with self._failing("listing login records"), self._engine.connect() as connection:
            rows = connection.execute(
                self._sa.select(column.grant_key, column.login).order_by(column.grant_key)
            )
            return {row[0]: record_from_column(row[1]) for row in rows}

    def grant_records(self) -> dict[str, GrantRecord | StoreError]:
        """Every key with its grant record, or why it cannot be read, in one query."""
        column = self._table.c
        statement = self._sa.select(
            column.grant_key, column.token, column.login, column.lifecycle
        ).order_by(column.grant_key)
        with self._failing("listing grants"), self._engine.connect() as connection:
            rows = connection.execute(statement).all()
        found: dict[str, GrantRecord | StoreError] = {}
        for key, token, login, lifecycle in rows:
            try:
                found[key] = record_from_columns(token, login, lifecycle, self._row_name(key))
            except StoreError as exc:
                found[key] = exc
        return found

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        wait = seconds_left(self.lock_timeout)
        with self._locked(key, wait) as acquired:
            if not acquired:
                raise StoreError(
                    f"timed out after {wait:.3g}s waiting for the lock of {key!r} in "
                    f"{self.where}: another process holds it (it is released when that "
                    "process ends)"
                )
            yield

    def try_lock(self, key: str) -> contextlib.AbstractContextManager[bool]:
        """The key's lock if no one holds it: yields whether it was taken."""
        return self._locked(key, None)

    # ----- locks --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, key: str, wait: float | None) -> Iterator[bool]:
        """The key's lock: waited for at most `wait` seconds, or only tried (None)."""
        self._check_key(key)
        thread_lock = self._key_locks.get(key)  # this process's threads queue here first
        started = time.monotonic()
        if not (thread_lock.acquire(timeout=wait) if wait else thread_lock.acquire(False)):
            yield False
            return
        if wait:  # what is left for the database's lock
            wait = max(0.001, wait - (time.monotonic() - started))
        try:
            database_lock: contextlib.AbstractContextManager[bool]
            if self._dialect == "postgresql":
                database_lock = self._advisory_lock(key, wait)
            elif self._lock_folder is not None:
                database_lock = self._sqlite_lock(key, wait)
            else:
                database_lock = contextlib.nullcontext(True)
            with database_lock as acquired:
                yield acquired
        finally:
            thread_lock.release()

    def lock_id(self, key: str) -> int:
        """The advisory lock id of `key`: a stable signed 64-bit hash of table and key."""
        digest = hashlib.sha256(f"amazon-ads-auth\0{self.table_name}\0{key}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    @contextlib.contextmanager
    def _advisory_lock(self, key: str, wait: float | None) -> Iterator[bool]:
        sa = self._sa
        lock_id = {"id": self.lock_id(key)}
        with self._failing(f"taking the advisory lock of {key!r}"):
            connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            if wait is None:
                acquired = bool(
                    connection.execute(
                        sa.text("SELECT pg_try_advisory_lock(:id)"), lock_id
                    ).scalar()
                )
            else:
                bound = {"ms": f"{max(1, int(wait * 1000))}ms"}
                connection.execute(sa.text("SELECT set_config('lock_timeout', :ms, false)"), bound)
                connection.execute(sa.text("SELECT pg_advisory_lock(:id)"), lock_id)
                connection.execute(sa.text("SELECT set_config('lock_timeout', '0', false)"))
                acquired = True
        except sa.exc.DBAPIError as exc:
            _discard(connection)
            if getattr(exc.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
                yield False
                return
            raise self._error(f"taking the advisory lock of {key!r}", exc) from None
        except BaseException:
            _discard(connection)
            raise
        if not acquired:
            connection.close()
            yield False
            return
        try:
            yield True
        finally:
            try:
                connection.execute(sa.text("SELECT pg_advisory_unlock(:id)"), lock_id)
                connection.close()
            except Exception:
                _discard(connection)  # the session ends, and with it the lock

    @contextlib.contextmanager
    def _sqlite_lock(self, key: str, wait: float | None) -> Iterator[bool]:
        assert self._lock_folder is not None
        path = self._lock_folder / f"{_readable(key)}.lock"
        try:
            self._lock_folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            connection = sqlite3.connect(
                path, timeout=wait or 0.0, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise self._error(f"opening the lock file {path}", exc) from None
        try:
            connection.execute("BEGIN IMMEDIATE")  # one holder at a time, across processes
        except sqlite3.OperationalError as exc:
            connection.close()
            if "locked" in str(exc) or "busy" in str(exc):
                yield False
                return
            raise self._error(f"taking the lock file {path}", exc) from None
        try:
            yield True
        finally:
            with contextlib.suppress(sqlite3.Error):
                connection.execute("ROLLBACK")
            connection.close()

    def _sqlite_lock_folder(self, given: str | os.PathLike[str] | None) -> Path | None:
        if given is not None:
            return Path(given)
        database = self._engine.url.database
        if self._dialect != "sqlite" or not database or database == ":memory:":
            return None
        if database.startswith("file:"):
            return None  # a URI filename: in-process locks only, unless lock_folder= is given
        return Path(database + "-locks")

    # ----- statements ---------------------------------------------------------------------

    def _upsert(
        self, key: str, values: dict[str, Any], *, insert: dict[str, Any], doing: str
    ) -> None:
        """Insert the row of `key` (with `insert`) or update `values` in it, in one
        statement where the dialect has one (PostgreSQL, SQLite); columns not in `values`
        keep what the row holds."""
        sa = self._sa
        with self._failing(doing), self._engine.begin() as connection:
            if self._dialect in ("postgresql", "sqlite"):
                module = __import__(f"sqlalchemy.dialects.{self._dialect}", fromlist=["insert"])
                statement = module.insert(self._table).values(grant_key=key, **insert)
                statement = statement.on_conflict_do_update(
                    index_elements=[self._table.c.grant_key], set_=values
                )
                connection.execute(statement)
                return
            column = self._table.c
            changed = connection.execute(
                sa.update(self._table).where(column.grant_key == key).values(**values)
            ).rowcount
            if not changed:
                connection.execute(sa.insert(self._table).values(grant_key=key, **insert))

    def _ready(self) -> None:
        if self._created:
            return
        database = self._engine.url.database
        if self._dialect == "sqlite" and self._lock_folder is not None and database:
            _create_private(database)
        if self.create:
            try:
                self._table.create(self._engine, checkfirst=True)
            except self._sa.exc.SQLAlchemyError:
                # Another process created it between the check and the CREATE: fine.
                if not self._sa.inspect(self._engine).has_table(self.table_name):
                    raise
            self._add_lifecycle_column()
            self._created = True

    def _add_lifecycle_column(self) -> None:
        """A table made by the release before grant records has no `lifecycle` column:
        `create=True` adds it (a nullable column: existing rows and readers are unchanged)."""
        sa = self._sa
        columns = {c["name"] for c in sa.inspect(self._engine).get_columns(self.table_name)}
        if "lifecycle" in columns:
            return
        preparer = self._engine.dialect.identifier_preparer
        statement = f"ALTER TABLE {preparer.quote(self.table_name)} ADD COLUMN lifecycle TEXT"
        try:
            with self._engine.begin() as connection:
                connection.execute(sa.text(statement))
        except sa.exc.SQLAlchemyError:
            # Another process added it first: fine.
            columns = {c["name"] for c in sa.inspect(self._engine).get_columns(self.table_name)}
            if "lifecycle" not in columns:
                raise

    @contextlib.contextmanager
    def _failing(self, doing: str) -> Iterator[None]:
        """Database errors as StoreError; the table is created first when `create=True`."""
        try:
            self._ready()
            yield
        except self._sa.exc.SQLAlchemyError as exc:
            raise self._error(doing, exc) from None

    def _error(self, doing: str, exc: BaseException) -> StoreError:
        # Only the class name: a driver's message may quote the statement and its parameters.
        hint = "check that the database is up and the URL is right"
        if self._missing_table(exc):
            hint = (
                f"the table {self.table_name} does not exist: create it with the DDL of "
                "`amazon-ads-auth store ddl`, or pass create=True"
            )
        elif self._missing_lifecycle(exc):
            hint = (
                f"the table {self.table_name} has no lifecycle column (made by an older "
                f"version): run ALTER TABLE {self.table_name} ADD COLUMN lifecycle TEXT, or "
                "pass create=True"
            )
        return StoreError(f"the database {self.where} failed while {doing}: {_name(exc)}; {hint}")

    def _missing_table(self, exc: BaseException) -> bool:
        """Whether `exc` came from a missing table (looked up only for errors that can mean
        that, so a database that is down is not asked again)."""
        orig = getattr(exc, "orig", None)
        if not isinstance(exc, self._sa.exc.ProgrammingError) and "no such table" not in str(orig):
            return False
        with contextlib.suppress(Exception):
            return not self._sa.inspect(self._engine).has_table(self.table_name)
        return False

    def _missing_lifecycle(self, exc: BaseException) -> bool:
        """Whether `exc` came from a table an older version made (no lifecycle column)."""
        if "lifecycle" not in str(getattr(exc, "orig", "")):
            return False
        with contextlib.suppress(Exception):
            columns = self._sa.inspect(self._engine).get_columns(self.table_name)
            return "lifecycle" not in {column["name"] for column in columns}
        return False

    def _check_key(self, key: object) -> None:
        if not isinstance(key, str) or not key:
            raise StoreError("store keys must be non-empty strings")
        if len(key) > KEY_LENGTH or "\x00" in key:
            raise StoreError(
                f"store keys in a SQLTokenStore are at most {KEY_LENGTH} characters with no "
                "NUL character"
            )
        try:
            key.encode("utf-8")
        except UnicodeEncodeError:
            raise StoreError("store keys must be valid Unicode text") from None

    def _row_name(self, key: str) -> str:
        return f"the row {printable(key)!r} of {self.where}"


def _engine_from_url(sa: Any, url: str) -> sqlalchemy.engine.Engine:
    """An engine for `url` (postgresql:// means psycopg 3), made resilient to a database
    that restarts (pre-ping) and, for SQLite, to other processes (a busy timeout, WAL)."""
    try:
        parsed = sa.engine.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        raise ConfigurationError(
            "the database URL cannot be parsed: use postgresql+psycopg://user:password@host/db "
            "or sqlite:///path/grants.db"
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    # Tokens are statement parameters and result rows. hide_parameters keeps them out of
    # SQLAlchemy's statement logs and error texts; our engines log under a name of their
    # own whose level stops at INFO, so an app that turns on DEBUG for sqlalchemy.engine
    # (which logs every row) still sees our statements but never a token.
    options: dict[str, Any] = {
        "pool_pre_ping": True,
        "hide_parameters": True,
        "logging_name": _LOGGING_NAME,
    }
    logging.getLogger(f"sqlalchemy.engine.Engine.{_LOGGING_NAME}").setLevel(logging.INFO)
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        options["connect_args"] = {"connect_timeout": 10}
    sqlite_file = parsed.get_backend_name() == "sqlite" and parsed.database not in (
        None,
        "",
        ":memory:",
    )
    if sqlite_file:
        options["connect_args"] = {"timeout": 60}
    try:
        engine = sa.create_engine(parsed, **options)
    except ImportError:
        raise ConfigurationError(
            f"the database driver for {parsed.drivername} is not installed: pip install "
            "'amazon-ads-auth[sql]' (psycopg 3 for PostgreSQL)"
        ) from None
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
        raise ConfigurationError(f"unusable database URL: {_name(exc)}") from None
    if sqlite_file:
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine  # type: ignore[no-any-return]


def _sqlite_pragmas(connection: Any, record: Any) -> None:
    """WAL: readers never wait for the writer, and a killed writer leaves the last commit."""
    cursor = connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
    finally:
        cursor.close()


def _create_private(database: str) -> None:
    """A new SQLite file is created 0600 (it holds credentials); an existing one is left."""
    if database.startswith("file:"):
        return
    with contextlib.suppress(OSError):
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _discard(connection: Any) -> None:
    """Close a connection for good (not back to the pool): its session, and any advisory
    lock it held, ends with it."""
    with contextlib.suppress(Exception):
        connection.invalidate()
    with contextlib.suppress(Exception):
        connection.close()


def _readable(key: str) -> str:
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    return f"{_SAFE.sub('_', key)[:64].strip('._') or 'key'}-{digest}"


def _name(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return type(orig).__name__ if isinstance(orig, BaseException) else type(exc).__name__
