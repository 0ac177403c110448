"""The profile store's connection: embedded SQLite (a file path) or PostgreSQL (a `postgresql://` URL).

The store writes one SQL for both: `?` placeholders (psycopg's `%s` here), `ON CONFLICT` upserts and
`RETURNING`, which SQLite has had since 3.35. What differs lives in this module:

- a write transaction: SQLite's `BEGIN IMMEDIATE` takes the file's one write lock; on PostgreSQL `BEGIN`
  plus a transaction-level advisory lock gives the same one writer at a time per schema, across processes,
  so finding-or-creating a guest by identity cannot race into two guests;
- where the schema version is kept (`PRAGMA user_version`; a one-row table on PostgreSQL);
- two column types in the migrations (SQLite's `REAL` and `AUTOINCREMENT` keys).

A PostgreSQL connection that breaks (server restart, network, an administrator's pg_terminate_backend)
fails the transaction in flight with StorageUnavailable and is opened again by the next call.
The store's group transaction runs in PostgreSQL's pipeline mode (`pipeline`, `sync`, `recover`):
statements whose answers are not read yet do not wait for them, so an event costs a round trip per answer
it reads (its guest lookup, its count, its profile) instead of one per statement.

Both are plain synchronous drivers (sqlite3, psycopg 3) on one connection used from one worker thread at a
time; the store calls them through `asyncio.to_thread`, so the event loop never waits on the database.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .checkpoints import SAFETY_PAGES, Checkpointer

# sqlite3.OperationalError messages that are the file's state, not the SQL's: another writer held the
# lock past the timeout, the disk is full or failing.
_SQLITE_TRANSIENT = ("database is locked", "disk I/O error", "database or disk is full")
SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class StorageError(RuntimeError):
    """The configured database cannot be used (driver missing, server unreachable, bad schema name)."""


class StorageUnavailable(StorageError):
    """The database failed a call for a reason that may pass (server restarted, connection lost, file
    locked past the timeout): the request is answered 503 with Retry-After, and nothing of it was stored."""


def is_url(target: str | Path) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


class Database:
    """One connection; `execute` returns a cursor (iterable, `fetchone`, `fetchall`, `rowcount`)."""

    name: str

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    def begin_write(self) -> None:
        raise NotImplementedError

    def begin_read(self) -> None:
        """Reads to come (ProfileStore.reading): on PostgreSQL a read-only transaction, one snapshot for all
        of them; SQLite's reads share the writer's connection and lock, so nothing of this process writes
        between them."""

    def commit(self) -> None:
        self.execute("COMMIT")

    @contextlib.contextmanager
    def pipeline(self) -> Iterator[None]:
        """Statements sent without waiting for each one's answer, until a fetch or `sync` needs them
        (PostgreSQL's pipeline mode: one round trip for many statements); SQLite answers at once."""
        yield

    def sync(self) -> None:
        """Wait for every statement sent so far; raises the first one's error."""

    def recover(self) -> None:
        """After a failed statement in a pipeline: take statements again (the failure was raised already)."""

    def rollback(self) -> None:
        self.execute("ROLLBACK")

    def schema_version(self) -> int:
        raise NotImplementedError

    def set_schema_version(self, version: int) -> None:
        raise NotImplementedError

    def ddl(self, statement: str) -> str:
        return statement

    def close(self) -> None:
        raise NotImplementedError


class SqliteDatabase(Database):
    """A file in WAL mode, `synchronous=NORMAL`: a committed transaction survives the process being killed."""

    def __init__(self, path: str, busy_timeout: float = 5.0, checkpoint_interval: float | None = 0.1) -> None:
        self.name = path
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, busy_timeout, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self.checkpointer: Checkpointer | None = None
        if path != ":memory:" and checkpoint_interval is not None:  # in their own thread (checkpoints.py)
            self._db.execute(f"PRAGMA wal_autocheckpoint={SAFETY_PAGES}")
            self.checkpointer = Checkpointer(path, checkpoint_interval)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        try:
            return self._db.execute(sql, params)
        except sqlite3.OperationalError as exc:
            if str(exc).startswith(_SQLITE_TRANSIENT):
                raise StorageUnavailable(f"{self.name}: {exc}") from exc
            raise

    def begin_write(self) -> None:
        self.execute("BEGIN IMMEDIATE")

    def rollback(self) -> None:
        if self._db.in_transaction:  # SQLite may have rolled back already (a full disk, an I/O error)
            self._db.execute("ROLLBACK")

    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def set_schema_version(self, version: int) -> None:
        self._db.execute(f"PRAGMA user_version={int(version)}")

    def close(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.close()
        self._db.close()  # the last connection to close copies what is left of the log into the file


class PostgresDatabase(Database):
    """A schema (created when missing) in a PostgreSQL database; autocommit, transactions begun explicitly."""

    def __init__(self, url: str, schema: str = "personalize") -> None:
        try:
            import psycopg  # only deployments that configure PostgreSQL need it
        except ImportError:
            raise StorageError("settings.storage.url is PostgreSQL: pip install 'personalize[postgresql]'") from None
        if not SCHEMA_NAME.match(schema):
            raise StorageError(f"schema {schema!r}: lower-case letters, digits and _, at most 63")
        self.name = f"PostgreSQL schema {schema}"  # never the URL: it may carry a password
        self._psycopg, self._url, self._schema = psycopg, url, schema
        self._lock_key = zlib.crc32(schema.encode())  # the advisory lock of this schema's writers
        self._sql: dict[str, str] = {}
        self._pipeline: Any = None  # the connection's pipeline while one is open
        self._db = self._connect(first=True)

    def _connect(self, first: bool = False) -> Any:
        psycopg = self._psycopg
        try:
            db = psycopg.connect(
                self._url,
                autocommit=True,
                connect_timeout=10 if first else 2,
                application_name=f"personalize {self._schema}",  # which service, in pg_stat_activity
            )
            if first:
                db.execute(f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"')
            db.execute(f'SET search_path TO "{self._schema}"')
        except psycopg.Error as exc:  # its message names host and port, never the password
            message = f"settings.storage.url: cannot connect to PostgreSQL: {exc}".strip()
            raise (StorageError if first else StorageUnavailable)(message) from None
        return db

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        translated = self._sql.get(sql)
        if translated is None:  # the store's SQL has no `?` or `%` but its placeholders
            translated = self._sql[sql] = sql.replace("?", "%s")
        if self._db.closed:
            self._db = self._connect()
        with self._connection_lost():
            return self._db.execute(translated, tuple(params))

    @contextlib.contextmanager
    def _connection_lost(self) -> Iterator[None]:
        """A lost connection as StorageUnavailable (closed, so the next call opens a new one)."""
        try:
            yield
        except self._psycopg.OperationalError as exc:
            if not self._db.closed and not self._db.broken:
                raise  # the SQL's own failure (a lock timeout, a cancelled statement): not the connection
            self._db.close()
            raise StorageUnavailable(f"{self.name}: the connection was lost: {exc}".strip()) from None

    @contextlib.contextmanager
    def pipeline(self) -> Iterator[None]:
        with self._connection_lost(), self._db.pipeline() as pipeline:
            self._pipeline = pipeline
            try:
                yield
            finally:
                self._pipeline = None

    def sync(self) -> None:
        if self._pipeline is not None:
            with self._connection_lost():
                self._pipeline.sync()

    def recover(self) -> None:
        if self._pipeline is not None:
            with contextlib.suppress(self._psycopg.errors.PipelineAborted, self._psycopg.DatabaseError):
                self.sync()  # StorageUnavailable (a lost connection) goes on up

    def begin_write(self) -> None:
        self.execute("BEGIN")
        self.execute("SELECT pg_advisory_xact_lock(?)", (self._lock_key,))

    def begin_read(self) -> None:
        self.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def rollback(self) -> None:
        if not self._db.closed:  # a lost connection has no transaction left to roll back
            self.execute("ROLLBACK")

    def schema_version(self) -> int:
        self.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = self.execute("SELECT version FROM schema_version").fetchone()
        return int(row[0]) if row else 0

    def set_schema_version(self, version: int) -> None:
        self.execute("DELETE FROM schema_version")
        self.execute("INSERT INTO schema_version(version) VALUES (?)", (version,))

    def ddl(self, statement: str) -> str:
        statement = statement.replace(
            "INTEGER PRIMARY KEY AUTOINCREMENT", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
        )
        return re.sub(r"\bREAL\b", "DOUBLE PRECISION", statement)  # PostgreSQL's REAL is 4 bytes

    def close(self) -> None:
        self._db.close()


def open_database(target: str | Path, schema: str = "personalize") -> Database:
    return PostgresDatabase(str(target), schema) if is_url(target) else SqliteDatabase(str(target))
