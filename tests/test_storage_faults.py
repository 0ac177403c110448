"""The profile store's database failing under a running service: the request in flight is answered 503 with
Retry-After in its dialect's shape, nothing of it is stored, and the next request works again (PostgreSQL
connections are opened again; a SQLite file locked past its timeout is the same 503)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from service.app import create_app
from service.config import load_runtime
from service.profiles import ProfileStore
from service.profiles.database import SqliteDatabase, StorageUnavailable
from tests.conftest import POSTGRES_URL, OpenStore, app_client

VIEW = {"type": "VIEW", "browser_id": "b-1", "client_key": "demo", "channel": "WEB", "page": "home"}


def terminate_connections(schema: str) -> int:
    """What an administrator's pg_terminate_backend (or a server restart) does to the service's connection."""
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (f"personalize {schema}",),
        ).fetchall()
    return len(rows)


@pytest.mark.parametrize("open_store", ["postgresql"], indirect=True)
async def test_a_lost_connection_is_a_503_then_reopened(open_store: OpenStore) -> None:
    store: ProfileStore = open_store()
    app = create_app(load_runtime(env={}), store=store)
    async with app_client(app) as client:
        assert (await client.post("/v1.2/events", json=VIEW)).status_code == 201
        assert terminate_connections(open_store.schema) == 2  # the store's writer and its reader

        lost = await client.post("/v1.2/events", json={**VIEW, "page": "lost"})
        assert lost.status_code == 503
        assert lost.headers["retry-after"] == "1"
        assert lost.json()["error_msg"].startswith("the profile store is unavailable; nothing was stored")
        assert "postgresql://" not in lost.text

        again = await client.post("/v1.2/events", json={**VIEW, "page": "again"})
        assert again.status_code == 201

        terminate_connections(open_store.schema)
        segment = await client.post("/v1/track", json={"writeKey": "demo", "userId": "u", "event": "X"})
        assert segment.status_code == 503
        assert segment.json() == {
            "success": False,
            "code": "service_unavailable",
            "message": "the profile store is unavailable; nothing was stored, retry in 1 s",
            "field": "(storage)",
        }
    guest = store.guest_now("demo", ("browser", "b-1"))
    assert guest is not None and guest.event_counts == {"VIEW": 2}  # the first and the retried one
    assert [e.data.get("page") for e in await store.events(guest.ref)] == ["again", "home"]


def test_a_sqlite_file_locked_past_the_timeout_is_unavailable_not_a_bug(tmp_path: Path) -> None:
    path = str(tmp_path / "profiles.sqlite3")
    ours = SqliteDatabase(path, busy_timeout=0.05)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    with pytest.raises(StorageUnavailable, match="database is locked"):
        ours.begin_write()
    ours.rollback()  # nothing begun: nothing to roll back, and no error
    other.execute("ROLLBACK")
    ours.begin_write()
    ours.rollback()
    with pytest.raises(sqlite3.OperationalError):  # a mistake in SQL stays a bug, never a 503
        ours.execute("SELECT nothing FROM nowhere")
