"""Managing guests: find by identity or ref (merged refs followed), events, export and deletion over the
management API and the CLI, and retention pruning."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from service.app import create_app
from service.cli import main
from service.config import load_runtime
from service.profiles import Event, ProfileStore, privacy
from tests.conftest import MANAGEMENT_TOKEN, OpenStore, app_client

TOKEN = {"Authorization": f"Bearer {MANAGEMENT_TOKEN}"}


async def test_find_read_export_and_delete_a_guest(store: ProfileStore, tmp_path: Path) -> None:
    async with app_client(create_app(load_runtime(env={}), store=store)) as c:
        for body in (
            {"type": "VIEW", "browser_id": "b-1", "client_key": "demo", "page": "home"},
            {"type": "VIEW", "browser_id": "b-2", "client_key": "demo", "page": "cart"},
            {"type": "IDENTITY", "browser_id": "b-2", "client_key": "demo", "email": "ana@example.com"},
        ):
            assert (await c.post("/v1.2/events", json=body)).status_code == 201
        # b-1 then identifies as the same person: its guest merges into ana's
        merged_ref = (await c.get("/management/guests?kind=browser&id=b-1", headers=TOKEN)).json()["ref"]
        await c.post("/v1.2/events", json={"type": "IDENTITY", "browser_id": "b-1", "client_key": "demo",
                                           "email": "ana@example.com"})  # fmt: skip
        r = await c.get("/management/guests?kind=email&id=ana@example.com", headers=TOKEN)
        assert r.status_code == 200
        guest = r.json()
        assert guest["eventCount"] == 4 and merged_ref in guest["mergedRefs"]
        assert {i["id"] for i in guest["identities"]} == {"b-1", "b-2", "ana@example.com"}
        assert (await c.get(f"/management/guests/{merged_ref}", headers=TOKEN)).json()["ref"] == guest["ref"]
        events = (await c.get(f"/management/guests/{guest['ref']}/events?limit=2", headers=TOKEN)).json()
        assert [e["type"] for e in events] == ["IDENTITY", "IDENTITY"]
        export = (await c.get(f"/management/guests/{guest['ref']}/export", headers=TOKEN)).json()
        assert [e["data"].get("page") for e in export["events"]][:2] == ["home", "cart"]
        r = await c.delete(f"/management/guests/{guest['ref']}", headers=TOKEN)
        assert r.json()["deleted"] == {
            "events": 4,
            "segmentChanges": 0,
            "memberships": 0,
            "deliveries": 0,
            "identities": 3,
            "mergedRefs": 1,
            "guests": 1,
        }
        for path in (f"/management/guests/{guest['ref']}", f"/management/guests/{merged_ref}"):
            r = await c.get(path, headers=TOKEN)
            assert r.status_code == 404 and r.json()["error_code"] == 404
        assert (await c.get("/management/guests?kind=browser&id=b-2", headers=TOKEN)).status_code == 404
        # and decisions no longer see it
        assert store.guest_now("demo", ("email", "ana@example.com")) is None


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [("/management/guests", 400, "kind"), ("/management/guests?kind=browser&id=nobody", 404, "id")],
)
async def test_guest_errors(store: ProfileStore, tmp_path: Path, path: str, status: int, field: str) -> None:
    async with app_client(create_app(load_runtime(env={}), store=store)) as c:
        assert (await c.get(path)).status_code == 401
        r = await c.get(path, headers=TOKEN)
        assert r.status_code == status and field in r.json()["errors"]


async def test_retention_prunes_old_events_and_guests(store: ProfileStore, tmp_path: Path) -> None:
    await store.record("p", [("browser", "old")], Event("VIEW", 100.0))
    await store.record("p", [("browser", "both")], Event("VIEW", 100.0))
    await store.record("p", [("browser", "both")], Event("VIEW", 300.0))
    assert await privacy.prune(store, before=200.0) == {"events": 2, "guests": 1}
    assert await store.guest("p", ("browser", "old")) is None
    both = await store.guest("p", ("browser", "both"))
    assert both is not None and both.event_counts == {"VIEW": 1}


def test_cli_exports_and_deletes_by_identity(
    tmp_path: Path, open_store: OpenStore, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    store = open_store()
    asyncio.run(store.record("demo", [("email", "bo@example.com")], Event("LOGIN", 1.0)))
    store.close()
    where = open_store.serve_args(tmp_path)  # --data-dir (SQLite) or --config with settings.storage
    args: list[Any] = ["guest", *where, "--project", "demo", "--identity", "email:bo@example.com"]
    assert main([*args[:1], "export", *args[1:]]) == 0
    assert json.loads(capsys.readouterr().out)["events"][0]["type"] == "LOGIN"
    assert main([*args[:1], "delete", *args[1:]]) == 0
    assert json.loads(capsys.readouterr().out)["deleted"]["guests"] == 1
    assert main([*args[:1], "export", *args[1:]]) == 1
    assert "no such guest" in capsys.readouterr().err
