"""Triggered experiences end to end on both storage backends: an event stored through an ingestion route
puts a delivery in the outbox in its own transaction, and the worker pushes it, signed, to a real receiver
on 127.0.0.1. The clock is injected: retries are driven by advancing it, never by waiting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.app import create_app
from service.config import load_runtime
from service.delivery.worker import DeliveryWorker
from service.profiles import ProfileStore
from service.runtime import Runtime
from tests.conftest import OpenStore, app_client
from tests.servers.receiver import SECRET, RunningReceiver, run_receiver

START = 1_800_000_000.0

CONFIG = """
projects:
  - id: shop
    clientKey: shop
audiences:
  - id: carters
    segment: true
    rule: {">=": [{"var": "guest.events.ADD_TO_CART"}, 2]}
connections:
  - id: hooks
    kind: destination
    baseUrl: "%(url)s"
    method: POST
    path: /hooks/${trigger}
    signing: {secrets: ["${env:HOOK_SECRET}"]}
    timeouts: {connectMs: 1000, readMs: 2000, totalMs: 3000}
    breaker: {failures: 0}
triggers:
  - id: cart_added
    when: {event: ADD_TO_CART, filter: {">": [{"var": "event.data.ext.value"}, 10]}}
    destination: hooks
    payload:
      {kind: cart, guest: "${guest.ref}", value: "${event.data.ext.value}", email: "${guest.attributes.email!null}"}
  - id: became_carter
    when: {segmentEntered: [carters]}
    frequency: {criterion: event}
    destination: hooks
"""


class Clock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def receiver() -> Iterator[RunningReceiver]:
    yield from run_receiver()


@pytest.fixture
def hooks(receiver: RunningReceiver) -> RunningReceiver:
    receiver.state.received.clear()
    receiver.state.script.clear()
    return receiver


@pytest.fixture
async def shops() -> Any:
    """Shops made by a test, their connections' HTTP clients closed after it."""
    made: list[Shop] = []
    yield made
    for shop in made:
        if shop.runtime.connections is not None:
            await shop.runtime.connections.aclose()


class Shop:
    def __init__(self, tmp_path: Path, store: ProfileStore, url: str, config: str = CONFIG) -> None:
        path = tmp_path / "shop.yaml"
        path.write_text(config % {"url": url}, encoding="utf-8")
        self.runtime: Runtime = load_runtime(path, env={"HOOK_SECRET": SECRET})
        self.store = store
        self.app = create_app(self.runtime, store=store)
        self.clock = Clock()
        self.worker = DeliveryWorker(store, lambda: self.runtime, clock=self.clock, jitter=lambda: 0.5)

    async def event(self, client: httpx.AsyncClient, type_: str, browser: str = "b-1", **extra: Any) -> None:
        body = {"type": type_, "browser_id": browser, "client_key": "shop", "channel": "WEB", **extra}
        r = await client.post("/v1.2/events", json=body)
        assert r.status_code == 201, r.text

    def deliveries(self) -> list[dict[str, Any]]:
        with self.store.locked() as db:
            rows = db.execute("SELECT id, trigger, status, attempts, reason FROM deliveries ORDER BY created_at, id")
            return [dict(zip(("id", "trigger", "status", "attempts", "reason"), row, strict=True)) for row in rows]


async def test_an_event_and_a_segment_entry_are_pushed_signed(
    open_store: OpenStore, tmp_path: Path, hooks: RunningReceiver, shops: list[Shop]
) -> None:
    shop = Shop(tmp_path, open_store(), hooks.url)
    shops.append(shop)
    async with app_client(shop.app) as client:
        await shop.event(client, "ADD_TO_CART", ext={"value": 5})  # below the filter: nothing fires
        assert shop.deliveries() == []
        await shop.event(client, "IDENTITY", email="ana@example.com")
        await shop.event(client, "ADD_TO_CART", ext={"value": 30})  # fires cart_added and enters carters
    assert sorted(d["trigger"] for d in shop.deliveries()) == ["became_carter", "cart_added"]
    assert await shop.worker.run_once() == 2
    assert await shop.worker.run_once() == 0  # delivered: nothing is due any more
    got = {r.path: r for r in hooks.state.received}
    assert set(got) == {"/hooks/cart_added", "/hooks/became_carter"}
    assert all(r.signed for r in got.values())
    guest = shop.store.guest_now("shop", ("browser", "b-1"))
    assert guest is not None
    assert got["/hooks/cart_added"].json() == {
        "kind": "cart",
        "guest": guest.ref,
        "value": 30,
        "email": "ana@example.com",
    }
    push = got["/hooks/became_carter"].json()
    assert push["person"]["id"] == guest.ref and push["person"]["attributes"]["email"] == "ana@example.com"
    assert push["newMatchedSegments"] == [{"segmentId": "carters"}]
    assert push["segment"] == {"id": "carters", "change": "entered"}
    assert push["event"]["type"] == "ADD_TO_CART" and push["touch"]["events"]["ADD_TO_CART"] == 2
    assert {"personId": guest.ref, "kind": "email", "id": "ana@example.com"} in push["identifiers"]
    for received in got.values():
        assert received.headers["webhook-timestamp"] == str(int(START))
        assert received.headers["content-type"] == "application/json"
    assert [d["status"] for d in shop.deliveries()] == ["delivered", "delivered"]


async def test_failures_are_retried_on_the_schedule_with_one_webhook_id(
    open_store: OpenStore, tmp_path: Path, hooks: RunningReceiver, shops: list[Shop]
) -> None:
    shop = Shop(tmp_path, open_store(), hooks.url)
    shops.append(shop)
    async with app_client(shop.app) as client:
        await shop.event(client, "ADD_TO_CART", ext={"value": 99})
    hooks.state.answer(500, 302, (503, {"Retry-After": "1"}))
    assert await shop.worker.run_once() == 1  # 500
    assert await shop.worker.run_once() == 0  # the next attempt is 5 s away (jitter 0.5: exactly 5 s)
    shop.clock.now += 4.9
    assert await shop.worker.run_once() == 0
    shop.clock.now += 0.1
    assert await shop.worker.run_once() == 1  # 302: a redirect is a failure, never followed
    shop.clock.now += 300
    assert await shop.worker.run_once() == 1  # 503 asking for 1 s: clamped up to the scheduled 1800 s
    shop.clock.now += 1799
    assert await shop.worker.run_once() == 0
    shop.clock.now += 1
    assert await shop.worker.run_once() == 1  # 200
    ids = {r.id for r in hooks.state.received}
    stamps = [int(r.headers["webhook-timestamp"]) for r in hooks.state.received]
    assert len(hooks.state.received) == 4 and len(ids) == 1  # one message, one webhook-id
    assert stamps == [int(START), int(START + 5), int(START + 305), int(START + 2105)]  # per attempt
    assert all(r.signed for r in hooks.state.received)
    [delivery] = shop.deliveries()
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 4)
