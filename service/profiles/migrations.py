"""The profile store's schema, one migration per version; applied in order on open (PRAGMA user_version).

Append only: a released migration never changes. A database whose version is newer than this list is an
error, never silently used by older code.
"""

from __future__ import annotations

from .database import Database


class SchemaError(RuntimeError):
    """The database's schema is not one this code can use."""


MIGRATIONS: tuple[str, ...] = (
    # 1: guests, the identities that find them, and their bounded event history.
    """
    CREATE TABLE guests (
        ref TEXT PRIMARY KEY,
        project TEXT NOT NULL,
        first_seen REAL NOT NULL,
        last_seen REAL NOT NULL,
        attributes TEXT NOT NULL
    );
    CREATE TABLE identities (
        project TEXT NOT NULL,
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        guest TEXT NOT NULL REFERENCES guests(ref) ON DELETE CASCADE,
        PRIMARY KEY (project, kind, value)
    );
    CREATE INDEX identities_by_guest ON identities(guest);
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        ref TEXT NOT NULL UNIQUE,
        guest TEXT NOT NULL REFERENCES guests(ref) ON DELETE CASCADE,
        type TEXT NOT NULL,
        at REAL NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX events_by_guest ON events(guest, at)
    """,
    # 2: message ids already stored, per project, so a client's retry is not stored twice (Segment).
    """
    CREATE TABLE seen_messages (
        project TEXT NOT NULL,
        message_id TEXT NOT NULL,
        at REAL NOT NULL,
        PRIMARY KEY (project, message_id)
    );
    CREATE INDEX seen_messages_by_time ON seen_messages(at)
    """,
    # 3: guests merged into others, so a ref a client kept (a cookie, a CRM) still finds its guest.
    """
    CREATE TABLE merged_guests (
        ref TEXT PRIMARY KEY,
        into_ref TEXT NOT NULL,
        at REAL NOT NULL
    )
    """,
    # 4: each guest's number of stored events, so keeping the history bounded costs no scan per write.
    """
    ALTER TABLE guests ADD COLUMN event_count INTEGER NOT NULL DEFAULT 0;
    UPDATE guests SET event_count = (SELECT count(*) FROM events WHERE events.guest = guests.ref)
    """,
    # 5: segment membership, current and every change (entered / exited, when, which event caused it).
    """
    CREATE TABLE memberships (
        guest TEXT NOT NULL REFERENCES guests(ref) ON DELETE CASCADE,
        segment TEXT NOT NULL,
        since REAL NOT NULL,
        PRIMARY KEY (guest, segment)
    );
    CREATE TABLE segment_changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        project TEXT NOT NULL,
        guest TEXT NOT NULL,
        segment TEXT NOT NULL,
        change TEXT NOT NULL,
        at REAL NOT NULL,
        event TEXT NOT NULL
    );
    CREATE INDEX segment_changes_by_guest ON segment_changes(guest, seq)
    """,
    # 6: the outbox of triggered experiences: one row per execution (its payload rendered, its request built,
    # written in the transaction of the event that fired it), every delivery attempt, destinations' state.
    """
    CREATE TABLE deliveries (
        id TEXT PRIMARY KEY,
        project TEXT NOT NULL,
        trigger TEXT NOT NULL,
        guest TEXT NOT NULL,
        event TEXT NOT NULL,
        destination TEXT NOT NULL,
        method TEXT NOT NULL,
        url TEXT NOT NULL,
        headers TEXT NOT NULL,
        body TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        next_at REAL NOT NULL,
        lease_until REAL NOT NULL DEFAULT 0,
        updated_at REAL NOT NULL,
        reason TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX deliveries_due ON deliveries(status, next_at);
    CREATE INDEX deliveries_by_destination ON deliveries(destination, status, updated_at);
    CREATE INDEX deliveries_by_guest ON deliveries(guest, trigger, created_at);
    CREATE TABLE delivery_attempts (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        delivery TEXT NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
        at REAL NOT NULL,
        status INTEGER,
        kind TEXT NOT NULL,
        ms REAL NOT NULL,
        response TEXT NOT NULL
    );
    CREATE INDEX delivery_attempts_by_delivery ON delivery_attempts(delivery, seq);
    CREATE TABLE destinations (
        id TEXT PRIMARY KEY,
        disabled_at REAL,
        paused_until REAL NOT NULL DEFAULT 0,
        reason TEXT NOT NULL DEFAULT ''
    )
    """,
    # 7: when each guest's last touch was closed (sessionClosed triggers), and finding the touches to close.
    """
    ALTER TABLE guests ADD COLUMN session_closed REAL NOT NULL DEFAULT 0;
    CREATE INDEX guests_by_last_seen ON guests(project, last_seen)
    """,
    # 8: a triggered experience's variant per delivery, and what it is decided on until the worker has.
    """
    ALTER TABLE deliveries ADD COLUMN variant TEXT NOT NULL DEFAULT '';
    ALTER TABLE deliveries ADD COLUMN context TEXT NOT NULL DEFAULT ''
    """,
)


def migrate(db: Database) -> None:
    """Every migration past the stored version, each in its own write transaction (one process at a time)."""
    while True:
        db.begin_write()
        try:
            version = db.schema_version()
            if version > len(MIGRATIONS):
                raise SchemaError(
                    f"{db.name}: the schema is version {version}, newer than this code knows "
                    f"({len(MIGRATIONS)}); run a newer personalize"
                )
            if version == len(MIGRATIONS):
                db.commit()
                return
            for statement in _statements(MIGRATIONS[version]):  # executescript would commit on its own
                db.execute(db.ddl(statement))
            db.set_schema_version(version + 1)
            db.commit()
        except BaseException:
            db.rollback()
            raise


def _statements(script: str) -> list[str]:
    return [part.strip() for part in script.split(";") if part.strip()]
