"""The profile store, on SQLite and on PostgreSQL alike: guests found by any identity, identities linked,
attributes merged, history bounded, migrations versioned."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from service.profiles import Event, ProfileStore, SchemaError
from service.profiles.database import Database, SqliteDatabase
from service.profiles.migrations import MIGRATIONS
from tests.conftest import OpenStore


async def test_any_identity_finds_the_guest_and_new_ones_are_linked(store: ProfileStore) -> None:
    first = await store.record("p", [("browser", "b-1")], Event("VIEW", 100.0))
    again = await store.record("p", [("browser", "b-1"), ("email", "ana@example.com")], Event("IDENTITY", 200.0))
    by_email = await store.record("p", [("email", "ana@example.com"), ("crm", "42")], Event("LOGIN", 300.0))
    assert first == again == by_email
    guest = await store.guest("p", ("crm", "42"))
    assert guest is not None
    assert guest.identities == (("browser", "b-1"), ("crm", "42"), ("email", "ana@example.com"))
    assert (guest.first_seen, guest.last_seen) == (100.0, 300.0)
    assert guest.event_counts == {"VIEW": 1, "IDENTITY": 1, "LOGIN": 1}
    assert await store.guest("other-project", ("browser", "b-1")) is None  # projects never share guests
    assert await store.guest("p", ("browser", "nobody")) is None


async def test_the_stores_ids_are_time_ordered_uuids(store: ProfileStore) -> None:
    # Guests, events and deliveries get UUIDv7 ids: made one after another, they sort one after another, so
    # the indexes on them grow at their end (model.new_ref has the measurements).
    guests = [await store.record("p", [("browser", f"b-{n}")], Event("VIEW", 1.0)) for n in range(30)]
    events = [Event("VIEW", 1.0).ref for _ in range(2000)]  # many within one millisecond: still in order
    for ids in (guests, events):
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        assert {uuid.UUID(ref).version for ref in ids} == {7}


async def test_attributes_merge_and_history_is_bounded(open_store: OpenStore) -> None:
    store = open_store(max_events=3)
    for n in range(5):
        await store.record("p", [("browser", "b")], Event("VIEW", float(n), {"page": f"p{n}"}), {"n": n})
    await store.record("p", [("browser", "b")], Event("IDENTITY", 9.0), {"firstname": "Ana"})
    guest = await store.guest("p", ("browser", "b"))
    assert guest is not None
    assert guest.attributes == {"n": 4, "firstname": "Ana"}
    events = await store.events(guest.ref)
    assert [e.type for e in events] == ["IDENTITY", "VIEW", "VIEW"]  # newest first, oldest pruned
    assert events[1].data == {"page": "p4"}


async def test_committed_events_are_there_after_reopening(open_store: OpenStore) -> None:
    ref = await open_store().record("p", [("browser", "b")], Event("VIEW", 1.0))
    reopened = open_store()
    assert reopened.schema_version == len(MIGRATIONS)
    guest = await reopened.guest("p", ("browser", "b"))
    assert guest is not None and guest.ref == ref


def test_a_newer_schema_is_a_clear_error(open_store: OpenStore) -> None:
    with open_store().transaction() as db:
        db.set_schema_version(99)  # as a newer release would leave it
    with pytest.raises(SchemaError, match="schema is version 99, newer than this code knows"):
        open_store()


async def test_a_write_naming_two_guests_merges_them_without_loss(store: ProfileStore) -> None:
    person = await store.record("p", [("crm", "42")], Event("LOGIN", 50.0), {"tier": "gold", "city": "Oslo"})
    browser = await store.record("p", [("browser", "b-1")], Event("VIEW", 10.0), {"tier": "none", "lang": "no"})
    assert person != browser
    # An IDENTITY event links the browser to the known person: most durable identity first.
    ref = await store.record("p", [("crm", "42"), ("browser", "b-1")], Event("IDENTITY", 90.0), {"city": "Bergen"})
    assert ref == person  # the person survives
    guest = await store.guest("p", ("browser", "b-1"))
    assert guest is not None and guest.ref == person
    assert guest.identities == (("browser", "b-1"), ("crm", "42"))
    assert guest.event_counts == {"LOGIN": 1, "VIEW": 1, "IDENTITY": 1}
    # The survivor's values win over the merged guest's; the write's own, the newest, win over both.
    assert guest.attributes == {"tier": "gold", "city": "Bergen", "lang": "no"}
    assert (guest.first_seen, guest.last_seen) == (10.0, 90.0)
    with store._lock:
        merged = store._db.execute("SELECT into_ref FROM merged_guests WHERE ref = ?", (browser,)).fetchone()
    assert merged == (person,)  # the merged ref keeps resolving


async def test_concurrent_writes_share_a_commit_and_a_bad_one_fails_alone(open_store: OpenStore) -> None:
    import asyncio

    from service.profiles import Write

    store = open_store(max_events=2)
    good = [store.record("p", [("browser", f"b-{n % 5}")], Event("VIEW", float(n))) for n in range(40)]
    bad = store.record_many("p", [Write((("browser", {"not": "text"}),), Event("VIEW", 1.0))])  # type: ignore[arg-type]
    results = await asyncio.gather(*good, bad, return_exceptions=True)
    assert all(isinstance(r, str) for r in results[:-1]) and isinstance(results[-1], Exception)
    for n in range(5):  # every good write is there, each guest's history bounded to its newest two
        guest = await store.guest("p", ("browser", f"b-{n}"))
        assert guest is not None and guest.event_counts == {"VIEW": 2}
        assert [e.at for e in await store.events(guest.ref)] == [float(35 + n), float(30 + n)]


async def test_a_statement_failing_in_the_database_fails_its_own_request_alone(open_store: OpenStore) -> None:
    """On PostgreSQL the group's statements are pipelined: a failure the server reports later than the
    statement was sent is still its own request's, and the requests around it commit."""
    import asyncio

    store = open_store()

    sql = "INSERT INTO guests(ref, project, first_seen, last_seen, attributes) VALUES (?, 'p', 1, 1, '{}')"

    def insert(guest: str) -> Callable[[Database], str]:
        def work(db: Database) -> str:
            db.execute(sql, (guest,))
            return guest

        return work

    def failing(db: Database) -> None:
        db.execute(sql, ("x",))
        db.execute(sql, ("x",))  # a duplicate key: PostgreSQL says so when the request's statements are synced

    results = await asyncio.gather(
        store.in_group(insert("a")), store.in_group(failing), store.in_group(insert("b")), return_exceptions=True
    )
    assert results[0] == "a" and results[2] == "b" and isinstance(results[1], Exception)
    with store.reading() as db:
        assert [ref for (ref,) in db.execute("SELECT ref FROM guests ORDER BY ref")] == ["a", "b"]


@pytest.mark.parametrize("open_store", ["postgresql"], indirect=True)  # SQLite's reads share the writer's lock
async def test_a_read_goes_on_beside_a_write_in_flight_and_sees_what_is_committed(open_store: OpenStore) -> None:
    import asyncio
    import threading

    store = open_store()
    await store.record("p", [("browser", "b-1")], Event("VIEW", 1.0))
    holding, release = threading.Event(), threading.Event()

    def write() -> None:
        with store.transaction() as db:
            db.execute("UPDATE guests SET attributes = ?", ('{"tier": "gold"}',))
            holding.set()
            release.wait(30)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert holding.wait(30)
        # Read while the writer holds its transaction (on one connection, this read waited for it to end).
        guest = await asyncio.wait_for(store.guest("p", ("browser", "b-1")), 30)
        assert guest is not None and guest.attributes == {}  # the write in flight is not seen
    finally:
        release.set()
        writer.join()
    guest = await store.guest("p", ("browser", "b-1"))
    assert guest is not None and guest.attributes == {"tier": "gold"}


async def test_recent_windows_the_latest_touch_and_days_since_last_seen(open_store: OpenStore) -> None:
    day, now = 86_400.0, 100 * 86_400.0
    store = open_store(clock=lambda: now)
    history = [
        (now - 40 * day, "VIEW", "old"),
        (now - 5 * day, "VIEW", "week"),
        (now - 3 * 3600, "VIEW", "home"),  # the latest touch starts here: later events are < 30 min apart
        (now - 3 * 3600 + 1500, "VIEW", "shoes"),
        (now - 3 * 3600 + 2900, "ADD", None),
        (now - 2 * day, "ORDER", None),
    ]
    for at, kind, page in history:
        await store.record("p", [("browser", "b")], Event(kind, at, {"page": page} if page else {}))
    guest = await store.guest("p", ("browser", "b"))
    assert guest is not None
    view = guest.view()
    assert view["recent"] == {"1d": {"VIEW": 2, "ADD": 1}, "7d": {"VIEW": 3, "ADD": 1, "ORDER": 1},
                              "30d": {"VIEW": 3, "ADD": 1, "ORDER": 1}}  # fmt: skip
    assert view["session"] == {
        "start": now - 3 * 3600,
        "end": now - 3 * 3600 + 2900,
        "events": {"VIEW": 2, "ADD": 1},
        "pages": ["home", "shoes"],
    }
    assert view["daysSinceLastSeen"] == round((3 * 3600 - 2900) / day, 3)


async def test_a_message_id_is_stored_once_across_processes(open_store: OpenStore) -> None:
    """Two stores on one database stand for two worker processes: the de-duplication lives in the database."""
    from service.profiles import Write

    first, second = open_store(), open_store()
    write = Write((("user", "u"),), Event("Bought", 1.0), message_id="m-1")
    assert await first.record_many("p", [write]) != [None]
    assert await second.record_many("p", [write]) == [None]  # the other process had it already
    guest = await second.guest("p", ("user", "u"))
    assert guest is not None and guest.event_counts == {"Bought": 1}


async def test_a_message_id_is_forgotten_after_the_dedupe_window(open_store: OpenStore) -> None:
    from service.profiles import DEDUPE_SECONDS, Write

    now = [1_000_000.0]
    store = open_store(clock=lambda: now[0])
    write = Write((("user", "u"),), Event("Bought", 1.0), message_id="m-1")
    assert await store.record_many("p", [write]) != [None]
    now[0] += 0.5
    assert await store.record_many("p", [write]) == [None]  # within the window: a retry, skipped
    now[0] += DEDUPE_SECONDS
    other = Write((("user", "v"),), Event("Viewed", 2.0))
    assert await store.record_many("p", [other]) != [None]  # its commit drops the ids older than the window
    again = Write((("user", "u"),), Event("Bought", 3.0), message_id="m-1")  # a new delivery of the message
    assert await store.record_many("p", [again]) != [None]  # stored again: the window has passed
    guest = await store.guest("p", ("user", "u"))
    assert guest is not None and guest.event_counts == {"Bought": 2}


def test_storage_settings_are_checked_at_load_and_the_url_stays_secret(tmp_path: Path) -> None:
    from service.config import ConfigError, load_runtime

    config = tmp_path / "c.yaml"
    config.write_text("settings: {storage: {url: '${env:DB_URL}', schema: Bad-Name}}\nprojects: [{id: p}]\n")
    with pytest.raises(ConfigError) as info:
        load_runtime(config, env={"DB_URL": "mysql://u:hunter2@db/x"})
    issues = [str(issue) for issue in info.value.issues]
    assert any("settings.storage.url: Value error, must start with postgresql://" in i for i in issues), issues
    assert any("settings.storage.schema" in i for i in issues), issues
    assert "hunter2" not in str(info.value)
    ok = tmp_path / "ok.yaml"
    ok.write_text("settings: {storage: {url: '${env:DB_URL}'}}\nprojects: [{id: p}]\n")
    loaded = load_runtime(ok, env={"DB_URL": "postgresql://u:hunter2@127.0.0.1:1/x"})
    assert loaded.storage_url == "postgresql://u:hunter2@127.0.0.1:1/x" and "hunter2" not in repr(loaded)


def test_an_unreachable_postgresql_is_a_clear_error_without_the_password() -> None:
    from service.profiles.database import StorageError

    with pytest.raises(StorageError, match="cannot connect to PostgreSQL") as info:
        ProfileStore("postgresql://u:hunter2@127.0.0.1:1/x")  # port 1: nothing listens
    assert "hunter2" not in str(info.value)


def test_migrate_brings_the_schema_up_and_refuses_a_newer_one(
    tmp_path: Path, open_store: OpenStore, capsys: pytest.CaptureFixture[str]
) -> None:
    from service.cli import main
    from service.profiles.migrations import MIGRATIONS

    where = open_store.serve_args(tmp_path)
    assert main(["migrate", *where]) == 0
    assert f"schema version {len(MIGRATIONS)}" in capsys.readouterr().out
    with open_store().transaction() as db:
        db.set_schema_version(len(MIGRATIONS) + 1)
    assert main(["migrate", *where]) == 1
    assert "newer than this code knows" in capsys.readouterr().err


def test_event_time_reads_a_clients_iso_stamp_or_falls_back_to_now() -> None:
    from service.profiles import event_time

    assert event_time("2026-11-30T10:00:00Z", 1.0) == event_time("2026-11-30T12:00:00+02:00", 1.0) == 1796032800.0
    assert event_time("yesterday", 5.0) == event_time(None, 5.0) == event_time(1234, 5.0) == 5.0


def test_commits_leave_checkpoints_to_their_own_thread_until_the_log_passes_its_limit(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.sqlite3"
    db = SqliteDatabase(str(path), checkpoint_interval=3600)  # its thread stays idle: the test runs it
    assert db.checkpointer is not None

    def commits(count: int) -> None:
        for _ in range(count):
            db.begin_write()
            db.execute("INSERT INTO t VALUES (?)", (os.urandom(3000),))  # a page of log or more each
            db.commit()

    db.execute("CREATE TABLE t (v BLOB)")
    commits(500)
    busy, frames, copied = db.checkpointer.checkpoint()
    assert busy == 0 and copied == frames >= 500  # no commit copied any of it: this pass did
    commits(1)
    assert db.checkpointer.checkpoint()[1] < 10  # the whole log was copied: the next commit started it over
    # A thread that falls behind (here it never runs): the writer's own checkpoint keeps the log within
    # ~1,000 pages (4 MB). A log of 20,000 pages cost p99 14-25 ms against 9-13 ms (checkpoints.py).
    commits(3000)
    assert db.checkpointer.checkpoint()[1] <= 1010
    db.close()
    with sqlite3.connect(path) as again:
        assert again.execute("SELECT count(*) FROM t").fetchone() == (3501,)
