"""Guest profiles and their events: in SQLite (one file under the data directory, WAL mode) or in a
PostgreSQL schema (`settings.storage.url`), migrated on open; database.py holds what differs between them.

One connection, used from one worker thread at a time so the event loop never blocks on the database. A
call that answers 2xx has committed: with WAL and `synchronous=NORMAL` a committed SQLite transaction
survives the process being killed (a power cut may lose the last ones; `synchronous=FULL` is one setting
away); PostgreSQL commits durably. Concurrent writers in this process share the lock.

What one write does to its guest (finding, creating and merging guests, segments, triggers): writing.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

from . import writing
from .database import Database, StorageUnavailable, is_url, open_database
from .migrations import migrate
from .model import Event, Guest, Identity, Reactor, Segments, Write
from .reading import read_guest
from .writing import Batch, distinct, guests_named

DEDUPE_SECONDS = 24 * 3600
T = TypeVar("T")


class ProfileStore:
    """The profile store of one process; `max_events` bounds each guest's history (oldest pruned).
    `target` is a SQLite file path (or ":memory:") or a `postgresql://` URL, whose tables live in `schema`."""

    def __init__(
        self,
        target: str | Path,
        max_events: int = 1000,
        clock: Callable[[], float] = time.time,
        schema: str = "personalize",
    ) -> None:
        self.max_events = max_events
        self.clock = clock
        self._db: Database = open_database(target, schema)
        self.path = self._db.name  # for messages: never a URL, which may carry a password
        self._lock = threading.Lock()
        self._queue: list[tuple[Callable[[Database], Any], asyncio.Future[Any]]] = []
        self._flusher: asyncio.Future[None] | None = None
        self.pending = 0  # deliveries made pending by the group being committed (the database thread's)
        self._forgot_at = float("-inf")  # when old message ids were last dropped
        self.on_deliveries: list[Callable[[], None]] = []  # called in the loop after a commit that made some
        with self._lock:
            migrate(self._db)
        # On PostgreSQL reads have a connection of their own, so a decision's profile read never waits for
        # the write group in flight (tens of ms there). Measured under single events at 16 clients, callFlows
        # reading uncached profiles: 355-372 -> 644-742 req/s, p50 12-13 -> 5-6 ms. On SQLite a second
        # connection measured slower (1,080 -> 810 req/s: a cold page cache of its own, reads from the log
        # index), its write groups being short: reads there share the writer's connection and lock.
        self._reader: Database | None = open_database(target, schema) if is_url(target) else None
        self._read_lock = threading.Lock() if self._reader is not None else self._lock

    # --- schema -----------------------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        with self._lock:
            return self._db.schema_version()

    # --- writes -----------------------------------------------------------------------------------------

    async def record(
        self, project: str, identities: Sequence[Identity], event: Event, attributes: dict[str, Any] | None = None
    ) -> str:
        """Store `event` on the guest any of `identities` names (created when none does); the guest ref.
        Returns once the transaction has committed."""
        [ref] = await self.record_many(project, [Write(tuple(identities), event, attributes or {})])
        assert ref is not None
        return ref

    async def record_many(
        self, project: str, writes: Sequence[Write], segments: Segments | None = None, reactor: Reactor | None = None
    ) -> list[str | None]:
        """Store every write, all or none; each one's guest ref, or None for a message id already stored.
        `segments` re-evaluates the guest's segments after each write, `reactor` fires the project's
        triggers on it (both in the write's transaction; the project's, compiled at load).
        Returns once committed. Group commit: the writes of every request waiting meanwhile share one
        transaction and one trip to the database thread (measured: single events went from ~1.4 k to
        several k a second at 32 concurrent clients)."""
        batch = Batch(project, list(writes), segments, reactor)
        return await self.in_group(lambda db: [self._write(batch, write) for write in batch.writes])

    async def in_group(self, work: Callable[[Database], T]) -> T:
        """Run `work` on the connection in the next group transaction, in a savepoint of its own (so its
        failure fails it alone); its result once committed. Every caller waiting meanwhile — ingestion
        requests, the delivery worker's claims and settlements — shares one transaction and one trip to the
        database thread."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((work, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush())
        return cast(T, await future)

    async def _flush(self) -> None:
        while self._queue:
            group, self._queue = self._queue, []
            try:
                outcomes = await asyncio.to_thread(self._commit_group, [work for work, _ in group])
            except BaseException as exc:  # the transaction failed: nothing of the group was stored
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            if self.pending:
                self.pending = 0
                for listener in self.on_deliveries:
                    listener()
            for (_, future), (ok, outcome) in zip(group, outcomes, strict=True):
                if future.done():
                    continue  # its caller has gone; the work is committed all the same
                if ok:
                    future.set_result(outcome)
                else:
                    future.set_exception(outcome)

    def _commit_group(self, group: list[Callable[[Database], Any]]) -> list[tuple[bool, Any]]:
        """One transaction; each piece of work in a savepoint, so one bad request fails alone. A group of
        one needs none: its failure fails the transaction, which is its own (under light load most groups
        are of one or two: three statements fewer, and on PostgreSQL each is some 50 us of driver CPU)."""
        outcomes: list[tuple[bool, Any]] = []
        self.pending = 0
        # On PostgreSQL in pipeline mode: statements whose answers nobody reads yet leave together, so an
        # event costs a few round trips instead of one a statement (measured in bench/ingest.py).
        with self.transaction() as db, db.pipeline():
            if len(group) == 1:
                outcomes.append((True, group[0](db)))
                self._forget_messages(db)
                return outcomes
            for work in group:
                db.execute("SAVEPOINT request")
                try:
                    outcome = work(db)
                    db.sync()  # the errors of its statements are its own, not the next request's
                    db.execute("RELEASE request")
                    outcomes.append((True, outcome))
                except StorageUnavailable:
                    raise  # the database failed, not this request: the whole group fails
                except Exception as exc:
                    db.recover()
                    db.execute("ROLLBACK TO request")
                    db.execute("RELEASE request")
                    outcomes.append((False, exc))
            self._forget_messages(db)
        return outcomes

    def _forget_messages(self, db: Database) -> None:
        """Message ids older than DEDUPE_SECONDS are dropped, once a second at most."""
        now = self.clock()
        if not now - 1.0 < self._forgot_at <= now:
            db.execute("DELETE FROM seen_messages WHERE at < ?", (now - DEDUPE_SECONDS,))
            self._forgot_at = now

    def _write(self, batch: Batch, write: Write) -> str | None:
        ref, pending = writing.record_write(self._db, batch, write, self.clock(), self.max_events)
        self.pending += pending
        return ref

    @contextlib.contextmanager
    def reading(self) -> Iterator[Database]:
        """The connection for reads, held for the block (call it in a worker thread): PostgreSQL's reader,
        in a read-only transaction (one snapshot for the block, beside the writer), or SQLite's one."""
        db = self._reader or self._db
        with self._read_lock:
            try:
                db.begin_read()
            except StorageUnavailable:  # a connection cut while it idled (a server restart): the next is new
                db.begin_read()  # and a read is safe to try again, where a write answers 503
            try:
                yield db
            finally:
                db.rollback()  # nothing to keep: a read-only transaction

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Database]:
        """The connection in a write transaction: committed when the block ends, rolled back if it raises."""
        with self._lock:
            self._db.begin_write()
            try:
                yield self._db
            except BaseException:
                self._db.rollback()
                raise
            self._db.commit()

    # --- reads ------------------------------------------------------------------------------------------

    async def guest(self, project: str, identity: Identity) -> Guest | None:
        return await asyncio.to_thread(self.guest_now, project, identity)

    def guest_now(self, project: str, identity: Identity) -> Guest | None:
        """The guest an identity names, read in the calling thread (tests, CLI)."""
        with self.reading() as db:
            found = distinct(guests_named(db, project, (identity,)))
            return read_guest(db, project, found[0], self.clock(), self.max_events) if found else None

    async def events(self, guest_ref: str, limit: int = 100) -> list[Event]:
        def read() -> list[Event]:
            with self.reading() as db:
                rows = db.execute(
                    "SELECT ref, type, at, data FROM events WHERE guest = ? ORDER BY at DESC, seq DESC LIMIT ?",
                    (guest_ref, limit),
                ).fetchall()
            return [Event(type=t, at=at, data=json.loads(d), ref=r) for r, t, at, d in rows]

        return await asyncio.to_thread(read)

    def close(self) -> None:
        if self._reader is not None:
            with self._read_lock:
                self._reader.close()
        with self._lock:
            self._db.close()
