"""The profile store's access layer, chosen by measurement: plain drivers (sqlite3, psycopg 3) against
SQLAlchemy Core on the same drivers, for the store's commonest work — one event written (find the guest by
identity, create it with its identity, insert the event, count it with RETURNING) and one guest read (its
identities and counts by type). CPU time of this process per event, min of 5 rounds; ratio = plain / Core.

Run: python -m bench.access_layer [--events 2000] [--postgresql URL | --postgresql '']
Needs SQLAlchemy (`pip install '.[bench]'`). PostgreSQL: its own schema, dropped afterwards.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

SCHEMA = [
    "CREATE TABLE guests (ref TEXT PRIMARY KEY, project TEXT NOT NULL, event_count INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE identities (project TEXT, kind TEXT, value TEXT, guest TEXT NOT NULL,"
    " PRIMARY KEY (project, kind, value))",
    "CREATE TABLE events (ref TEXT PRIMARY KEY, guest TEXT NOT NULL, type TEXT NOT NULL, at DOUBLE PRECISION)",
]
FIND = "SELECT guest FROM identities WHERE project = {0} AND kind = {0} AND value = {0}"
NEW_GUEST = "INSERT INTO guests(ref, project) VALUES ({0}, {0})"
NEW_IDENTITY = "INSERT INTO identities(project, kind, value, guest) VALUES ({0}, {0}, {0}, {0}) ON CONFLICT DO NOTHING"
EVENT = "INSERT INTO events(ref, guest, type, at) VALUES ({0}, {0}, {0}, {0})"
COUNT = "UPDATE guests SET event_count = event_count + 1 WHERE ref = {0} RETURNING event_count"
READ = "SELECT type, count(*) FROM events WHERE guest = {0} GROUP BY type"

Execute = Callable[[str, tuple[Any, ...]], Any]
Opened = tuple[Execute, Callable[[], None], Callable[[], None], Callable[[], None]]  # execute, begin, commit, close


def runs(run: Callable[[str], object], sql: str) -> Callable[[], None]:
    def call() -> None:
        run(sql)

    return call


def workload(execute: Execute, begin: Callable[[], None], commit: Callable[[], None], events: int) -> None:
    """`events` events for events/4 visitors, 100 a transaction, each visitor's profile read after a write."""
    for start in range(0, events, 100):
        begin()
        for n in range(start, min(start + 100, events)):
            visitor = f"b-{n % max(events // 4, 1)}"
            row = execute(FIND, ("demo", "browser", visitor)).fetchone()
            guest = row[0] if row else str(uuid.uuid4())
            if row is None:
                execute(NEW_GUEST, (guest, "demo"))
                execute(NEW_IDENTITY, ("demo", "browser", visitor, guest))
            execute(EVENT, (str(uuid.uuid4()), guest, "VIEW", float(n)))
            execute(COUNT, (guest,)).fetchone()
            execute(READ, (guest,)).fetchall()
        commit()


def plain(run: Callable[..., Any], close: Callable[[], None], placeholder: str, begin: str) -> Opened:
    """A plain driver's connection: `run(sql, params)`, the store's templates with its placeholder."""
    for statement in SCHEMA:
        run(statement)
    sql: dict[str, str] = {}

    def execute(template: str, params: tuple[Any, ...]) -> Any:
        return run(sql.get(template) or sql.setdefault(template, template.format(placeholder)), params)

    return execute, runs(run, begin), runs(run, "COMMIT"), close


def plain_sqlite(path: Path) -> Opened:
    db = sqlite3.connect(path, isolation_level=None)
    return plain(db.execute, db.close, "?", "BEGIN IMMEDIATE")


def plain_postgres(url: str, schema: str) -> Opened:
    db = psycopg.connect(url, autocommit=True)
    db.execute(f'CREATE SCHEMA "{schema}"')
    db.execute(f'SET search_path TO "{schema}"')
    return plain(db.execute, db.close, "%s", "BEGIN")


def core(url: str, schema: str | None) -> Opened:
    """SQLAlchemy Core: text() statements compiled once, bound parameters, one Connection."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    connection = engine.connect()
    if schema:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        connection.exec_driver_sql(f'SET search_path TO "{schema}"')
    for statement in SCHEMA:
        connection.exec_driver_sql(statement)
    compiled: dict[str, tuple[sa.TextClause, list[str]]] = {}

    def execute(template: str, params: tuple[Any, ...]) -> Any:
        found = compiled.get(template)
        if found is None:
            names = [f"p{i}" for i in range(template.count("{0}"))]
            text = template
            for name in names:
                text = text.replace("{0}", f":{name}", 1)
            found = compiled[template] = (sa.text(text), names)
        clause, names = found
        return connection.execute(clause, dict(zip(names, params, strict=True)))

    def close() -> None:
        connection.close()
        engine.dispose()

    return (
        execute,
        runs(connection.exec_driver_sql, "BEGIN"),
        runs(connection.exec_driver_sql, "COMMIT"),
        close,
    )


def measure(open_: Callable[[], Opened], events: int) -> float:
    best = float("inf")
    for _ in range(5):
        execute, begin, commit, close = open_()
        try:
            started = time.process_time()
            workload(execute, begin, commit, events)
            best = min(best, time.process_time() - started)
        finally:
            close()
    return best / events * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--postgresql", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    events = min(args.events, 20_000)
    print(f"python {sys.version.split()[0]}; sqlalchemy {sa.__version__}; psycopg {psycopg.__version__}; "
          f"cmd: {' '.join(sys.argv)}")  # fmt: skip
    rows: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = iter(Path(tmp) / f"{n}.sqlite3" for n in range(100))
        rows.append(
            (
                "sqlite",
                measure(lambda: plain_sqlite(next(paths)), events),
                measure(lambda: core(f"sqlite:///{next(paths)}", None), events),
            )
        )
    if args.postgresql:
        schemas: list[str] = []

        def schema() -> str:
            schemas.append(f"bench_{uuid.uuid4().hex[:12]}")
            return schemas[-1]

        core_url = args.postgresql.replace("postgresql://", "postgresql+psycopg://", 1)
        try:
            rows.append(
                (
                    "postgresql",
                    measure(lambda: plain_postgres(args.postgresql, schema()), events),
                    measure(lambda: core(core_url, schema()), events),
                )
            )
        finally:
            with psycopg.connect(args.postgresql, autocommit=True) as db:
                for name in schemas:
                    db.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    for backend, plain, sqlalchemy_core in rows:
        print(f"{backend:10}  plain driver {plain:7.1f} us/event   SQLAlchemy Core {sqlalchemy_core:7.1f} us/event   "
              f"ratio plain/Core {plain / sqlalchemy_core:4.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
