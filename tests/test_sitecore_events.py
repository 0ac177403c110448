"""Sitecore's event requests, as each client makes them, stored on the guest; a profile-reading audience
changes what callFlows answers; an answered event survives kill -9."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from service.app import create_app
from service.config import load_runtime
from service.profiles import ProfileStore
from tests.conftest import OpenStore, app_client
from tests.servers.process import serve_process, stop

VIEW = {"type": "VIEW", "browser_id": "b-1", "channel": "WEB", "language": "EN", "currency": "EUR", "page": "home"}


@pytest.mark.parametrize(
    ("method", "path", "headers", "body"),
    [
        ("POST", "/v1.2/events", {}, {**VIEW, "client_key": "demo", "pos": ""}),  # Engage
        ("POST", "/v1/events/v1.2/events?sitecoreContextId=demo&siteId=s", {}, {**VIEW, "client_key": ""}),  # Cloud
        ("POST", "/v1/events/v1.2/events?siteId=s", {"x-sitecore-contextid": "demo"}, VIEW),  # Content SDK
        ("GET", "/v1.2/event/create.json?client_key=demo&message=" + quote(json.dumps(VIEW)), {}, None),  # direct
    ],
)
async def test_every_client_form_stores_the_event(
    store: ProfileStore, method: str, path: str, headers: dict[str, str], body: Any, tmp_path: Path
) -> None:
    async with app_client(create_app(load_runtime(env={}), store=store)) as client:
        r = await client.request(method, path, json=body, headers=headers)
    assert r.status_code == 201, r.text
    answer = r.json()
    assert (answer["status"], answer["version"]) == ("OK", "1.2") and answer["ref"]
    guest = store.guest_now("demo", ("browser", "b-1"))
    assert guest is not None and guest.ref == answer["customer_ref"]
    assert guest.event_counts == {"VIEW": 1}


async def test_identity_events_link_identifiers_and_keep_the_person(store: ProfileStore, tmp_path: Path) -> None:
    identity = {
        "type": "IDENTITY",
        "browser_id": "b-2",
        "client_key": "demo",
        "email": "Ana@Example.com",
        "firstname": "Ana",
        "identifiers": [{"id": "C-42", "provider": "crm", "expiry_date": "2030-01-01T00:00"}],
    }
    async with app_client(create_app(load_runtime(env={}), store=store)) as client:
        assert (await client.post("/v1.2/events", json=identity)).status_code == 201
    guest = store.guest_now("demo", ("crm", "C-42"))
    assert guest is not None
    assert guest.identities == (("browser", "b-2"), ("crm", "C-42"), ("email", "ana@example.com"))
    assert guest.attributes == {"email": "Ana@Example.com", "firstname": "Ana"}


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"type": "VIEW", "client_key": "demo"}, 400, "browser_id is required"),
        ({"browser_id": "b", "client_key": "demo"}, 400, "type is required"),
        ({"type": "VIEW", "browser_id": "b", "client_key": "nope"}, 401, "unknown clientKey"),
        ({"type": "VIEW", "browser_id": "b"}, 401, "clientKey is required"),
        ({"type": 5, "browser_id": "b", "client_key": "demo"}, 400, "type: Input should be a valid string"),
    ],
)
async def test_bad_events_answer_error_msg(client: httpx.AsyncClient, body: Any, status: int, field: str) -> None:
    r = await client.post("/v1.2/events", json=body)
    assert r.status_code == status
    assert set(r.json()) == {"error_msg", "moreInfo"} and field in r.json()["error_msg"]
    r = await client.get("/v1.2/event/create.json?client_key=demo&message=%7Bnot-json")
    assert r.status_code == 400 and "message: not JSON" in r.json()["error_msg"]


CONFIG = """
projects: [{id: p, clientKey: k}]
audiences:
  - {id: returning, rule: {">=": [{"var": "guest.events.VIEW"}, 3]}}
experiences:
  - friendlyId: hero
    status: active
    type: segmented
    fallback: {hero: first-visit}
    variants:
      - {id: back, audience: returning, response: {hero: "welcome back, ${guest.attributes.firstname!\\"friend\\"}"}}
"""


async def test_page_views_change_what_callflows_answers(store: ProfileStore, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    app = create_app(load_runtime(path, env={}), store=store)
    call = {"clientKey": "k", "friendlyId": "hero", "browserId": "b-9"}
    async with app_client(app) as client:
        answers = []
        for _ in range(3):
            answers.append((await client.post("/v2/callFlows", json=call)).json())
            r = await client.post("/v1.2/events", json={"type": "VIEW", "browser_id": "b-9", "client_key": "k"})
            assert r.status_code == 201
        answers.append((await client.post("/v2/callFlows", json=call)).json())
        await client.post(
            "/v1.2/events", json={"type": "IDENTITY", "browser_id": "b-9", "client_key": "k", "firstname": "Ana"}
        )
        answers.append((await client.post("/v2/callFlows", json=call)).json())
    assert answers == [{"hero": "first-visit"}] * 3 + [{"hero": "welcome back, friend"}, {"hero": "welcome back, Ana"}]


@pytest.mark.slow
def test_an_answered_event_survives_kill_9(tmp_path: Path, open_store: OpenStore) -> None:
    served = open_store.serve_args(tmp_path)
    proc, base = serve_process("--no-access-log", *served)
    try:
        r = httpx.post(f"{base}/v1.2/events", json={**VIEW, "browser_id": "b-kill", "client_key": "demo"})
        assert r.status_code == 201
    finally:
        proc.send_signal(signal.SIGKILL)  # the moment after the answer: no shutdown, no flush
        proc.wait(timeout=10)
    store = open_store()
    guest = store.guest_now("demo", ("browser", "b-kill"))
    assert guest is not None and guest.ref == r.json()["customer_ref"] and guest.event_counts == {"VIEW": 1}
    store.close()
    proc, base = serve_process("--no-access-log", *served)  # a restart opens the same database
    try:
        r = httpx.post(f"{base}/v1.2/events", json={**VIEW, "browser_id": "b-kill", "client_key": "demo"})
        assert r.json()["customer_ref"] == guest.ref  # the same guest, found by its stored identity
    finally:
        stop(proc)
