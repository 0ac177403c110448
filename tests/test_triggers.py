"""Triggered experiences end to end on both storage backends: an event stored through an ingestion route
puts a delivery in the outbox in its own transaction, and the worker pushes it, signed, to a real receiver
on 127.0.0.1. The clock is injected: retries are driven by advancing it, never by waiting."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
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
from tests.test_storage_faults import terminate_connections

START = 1_800_000_000.0

CONFIG = """
management: {tokens: [t]}
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
      kind: cart
      guest: "${guest.ref}"
      value: "${event.data.ext.value}"
      email: "${guest.attributes.email!null}"
      browser: "${event.data.browser_id}"
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
    receiver.state.scripts_by_marker.clear()
    receiver.state.arrived.clear()
    receiver.state.slow_paths.clear()
    return receiver


ShopFor = Callable[..., "Shop"]


@pytest.fixture
async def shop_for(open_store: OpenStore, tmp_path: Path) -> Any:
    """Makes a shop on this test's database (`shop_for(url, config=CONFIG)`); closes their HTTP clients after."""
    made: list[Shop] = []

    def make(url: str, config: str = CONFIG) -> Shop:
        made.append(Shop(tmp_path, open_store(), url, config))
        return made[-1]

    yield make
    for shop in made:
        if shop.runtime.connections is not None:
            await shop.runtime.connections.aclose()


def with_triggers(triggers: str) -> str:
    """CONFIG with its triggers replaced."""
    return CONFIG.split("triggers:")[0] + "triggers:\n" + triggers.split("triggers:\n", 1)[-1]


def two_destinations(config: str, to_hooks: str, to_fast: str) -> str:
    """`config` with a second destination, `fast` (path /fast), and only two triggers, both on event GO:
    `to_hooks` pushing to hooks and `to_fast` to fast."""
    fast = 'connections:\n  - {id: fast, kind: destination, baseUrl: "%(url)s", method: POST, path: /fast}\n'
    return config.split("triggers:")[0].replace("connections:\n", fast) + (
        f"triggers:\n  - {{id: {to_hooks}, when: {{event: GO}}, destination: hooks}}\n"
        f"  - {{id: {to_fast}, when: {{event: GO}}, destination: fast}}\n"
    )


class Shop:
    def __init__(self, tmp_path: Path, store: ProfileStore, url: str, config: str = CONFIG) -> None:
        path = tmp_path / "shop.yaml"
        path.write_text(config % {"url": url}, encoding="utf-8")
        self.runtime: Runtime = load_runtime(path, env={"HOOK_SECRET": SECRET})
        self.store = store
        self.app = create_app(self.runtime, store=store)
        self.clock = Clock()
        metrics = self.app.state.metrics.deliveries
        self.worker = DeliveryWorker(store, lambda: self.runtime, clock=self.clock, jitter=lambda: 0.5, metrics=metrics)

    async def event(self, client: httpx.AsyncClient, type_: str, browser: str = "b-1", **extra: Any) -> None:
        body = {"type": type_, "browser_id": browser, "client_key": "shop", "channel": "WEB", **extra}
        r = await client.post("/v1.2/events", json=body)
        assert r.status_code == 201, r.text

    def deliveries(self) -> list[dict[str, Any]]:
        with self.store.reading() as db:
            rows = db.execute("SELECT id, trigger, status, attempts, reason FROM deliveries ORDER BY created_at, id")
            return [dict(zip(("id", "trigger", "status", "attempts", "reason"), row, strict=True)) for row in rows]


async def test_an_event_and_a_segment_entry_are_pushed_signed(
    open_store: OpenStore, tmp_path: Path, hooks: RunningReceiver, shop_for: ShopFor
) -> None:
    shop = shop_for(hooks.url)
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
        "browser": "b-1",
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
    open_store: OpenStore, tmp_path: Path, hooks: RunningReceiver, shop_for: ShopFor
) -> None:
    shop = shop_for(hooks.url)
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
    async with app_client(shop.app) as client:
        text = (await client.get("/metrics")).text
    assert 'personalize_delivery_attempts_total{destination="hooks",outcome="retry"} 3.0' in text
    assert 'personalize_delivery_attempts_total{destination="hooks",outcome="delivered"} 1.0' in text
    assert "personalize_delivery_pending{" not in text  # nothing waits


async def test_410_disables_abort_stops_and_the_last_failure_is_a_dead_letter_to_recover(
    open_store: OpenStore, tmp_path: Path, hooks: RunningReceiver, shop_for: ShopFor
) -> None:
    config = CONFIG.replace("    breaker: {failures: 0}", "    breaker: {failures: 0}\n    delivery: {scheduleS: [5]}")
    shop = shop_for(hooks.url, config)
    headers = {"Authorization": "Bearer t"}
    async with app_client(shop.app) as client:
        for browser in ("b-abort", "b-dead", "b-gone"):
            await shop.event(client, "ADD_TO_CART", browser, ext={"value": 50})
        hooks.state.answer_when("b-abort", (500, {"webhook-delivery": "abort-message"}))
        hooks.state.answer_when("b-dead", 500, 500)
        hooks.state.answer_when("b-gone", 410)
        assert await shop.worker.run_once() == 3
        shop.clock.now += 5
        assert await shop.worker.run_once() == 0  # the destination is disabled: nothing is claimed
        text = (await client.get("/metrics")).text
        assert 'personalize_delivery_pending{destination="hooks"} 1.0' in text  # the 500's retry waits
        assert 'personalize_delivery_oldest_pending_seconds{destination="hooks"}' in text
        log = (await client.get("/management/deliveries?destination=hooks", headers=headers)).json()
        assert sorted(d["status"] for d in log) == ["aborted", "dead", "pending"]
        state = (await client.get("/management/destinations/hooks", headers=headers)).json()
        assert state["disabled"] is True and "410" in state["reason"]
        assert (await client.post("/management/destinations/hooks/enable", headers=headers)).json()["enabled"]
        assert await shop.worker.run_once() == 1  # the 500's retry: the schedule's last pause is spent
        assert await shop.worker.run_once() == 0
        log = (await client.get("/management/deliveries?status=dead", headers=headers)).json()
        assert len(log) == 2 and all(d["nextAt"] is None for d in log)
        dead = next(d for d in log if d["attempts"] == 2)
        detail = (await client.get(f"/management/deliveries/{dead['id']}", headers=headers)).json()
        assert [(a["status"], a["kind"]) for a in detail["attemptLog"]] == [(500, "http_5xx"), (500, "http_5xx")]
        assert detail["reason"] == "answered 500; no attempts left (2 made)"
        recovered = await client.post(f"/management/destinations/hooks/recover?since={START}", headers=headers)
        assert recovered.json() == {"destination": "hooks", "recovered": 3}  # the dead and the aborted ones
        assert await shop.worker.run_once() == 3
        r = await client.post(f"/management/deliveries/{dead['id']}/replay", headers=headers)
        assert r.status_code == 200
        assert await shop.worker.run_once() == 1
        missing = await client.post("/management/deliveries/msg_nope/replay", headers=headers)
        assert missing.status_code == 404 and missing.json()["errors"] == {"id": [missing.json()["error_message"]]}
    assert [d["status"] for d in shop.deliveries()] == ["delivered"] * 3
    sent = [r.id for r in hooks.state.received]
    assert sent.count(dead["id"]) == 4  # two failures, the recovery and the replay: one webhook-id


async def test_frequency_touch_and_interval_and_the_other_trigger_kinds(
    open_store: OpenStore, tmp_path: Path, hooks: RunningReceiver, shop_for: ShopFor
) -> None:
    config = with_triggers(
        """triggers:
  - id: once_a_touch
    when: {event: VIEW}
    frequency: {criterion: touch}
    destination: hooks
  - id: every_ten_minutes
    when: {event: VIEW}
    frequency: {criterion: minute, interval: 10}
    destination: hooks
  - id: capped
    when: {event: VIEW}
    cap: {count: 2, perS: 86400}
    destination: hooks
  - id: new_guest
    when: {guestCreated: true}
    destination: hooks
  - id: known_now
    when: {identityResolved: true}
    destination: hooks
  - id: bad_template
    when: {event: IDENTITY}
    destination: hooks
    payload: {path: "${event.data.ext.value}"}
"""
    )
    config = config.replace("path: /hooks/${trigger}", "path: /hooks/${trigger}/${eventType}")
    shop = shop_for(hooks.url, config)
    async with app_client(shop.app) as client:
        # Event times are the client's requested_at: 0, 8, 12 minutes, then a new touch 50 minutes later.
        for minute in (0, 8, 12, 62):
            stamp = f"2027-01-15T10:{minute:02d}:00+00:00" if minute < 60 else "2027-01-15T11:02:00+00:00"
            await shop.event(client, "VIEW", requested_at=stamp)
        await shop.event(client, "IDENTITY", email="ana@example.com", requested_at="2027-01-15T11:03:00+00:00")
    fired = [(d["trigger"], d["status"]) for d in shop.deliveries()]
    assert fired.count(("once_a_touch", "pending")) == 2  # minute 0 and the new touch at 62
    assert fired.count(("every_ten_minutes", "pending")) == 3  # 0, 12 (>= 10 after 0), 62; not 8
    assert fired.count(("capped", "pending")) == 2
    assert fired.count(("new_guest", "pending")) == 1
    assert fired.count(("known_now", "pending")) == 1  # the email linked to a known browser
    assert fired.count(("bad_template", "pending")) == 1  # a missing path renders null: not an error
    assert await shop.worker.run_once() == len(fired)
    assert {r.path for r in hooks.state.received} >= {"/hooks/new_guest/VIEW", "/hooks/known_now/IDENTITY"}


async def test_a_request_that_cannot_be_built_is_a_failed_execution_and_others_still_fire(
    open_store: OpenStore, tmp_path: Path, hooks: RunningReceiver, shop_for: ShopFor
) -> None:
    config_dot = with_triggers(
        """triggers:
  - id: by_type
    when: {event: ".."}
    destination: hooks
  - id: every_dots
    when: {guestCreated: true}
    destination: hooks
"""
    )
    dotted = shop_for(hooks.url, config_dot.replace("path: /hooks/${trigger}", "path: /${eventType}"))
    async with app_client(dotted.app) as client:
        await dotted.event(client, "..")  # an event type that would climb the destination's path
    rows = {d["trigger"]: d for d in dotted.deliveries()}
    assert rows["by_type"]["status"] == "not_rendered" and "'.' or '..'" in rows["by_type"]["reason"]
    assert rows["every_dots"]["status"] == "not_rendered"
    assert await dotted.worker.run_once() == 0  # nothing rendered, nothing sent
    assert dotted.store.guest_now("shop", ("browser", "b-1")) is not None  # the event itself is stored


async def test_link_local_and_metadata_addresses_are_refused(
    open_store: OpenStore, tmp_path: Path, shop_for: ShopFor
) -> None:
    shop = shop_for("http://169.254.169.254/latest")
    async with app_client(shop.app) as client:
        await shop.event(client, "ADD_TO_CART", ext={"value": 50})
    assert await shop.worker.run_once() == 1
    [delivery] = shop.deliveries()
    assert delivery["status"] == "dead" and "link-local or cloud metadata address" in delivery["reason"]


def test_trigger_config_errors_name_the_path(tmp_path: Path) -> None:
    from service.config import ConfigError

    head = CONFIG.split("triggers:")[0] % {"url": "http://127.0.0.1:9"}
    path = tmp_path / "bad.yaml"
    path.write_text(head + "triggers: [{id: t1, when: {segmentEntered: [x], event: X}, destination: hooks}]\n")
    with pytest.raises(ConfigError) as caught:  # the format first: exactly one kind of trigger
        load_runtime(path, env={"HOOK_SECRET": SECRET})
    assert "triggers[0].when: Value error, name exactly one of event" in str(caught.value)
    bad = (
        head
        + """triggers:
  - id: t0
    when: {event: X}
    destination: hooks
  - id: t2
    when: {segmentEntered: [nope]}
    destination: missing
  - id: t3
    when: {event: X, filter: {"var": "params.x"}}
    destination: hooks
"""
    )
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:  # then every semantic problem at once
        load_runtime(path, env={"HOOK_SECRET": SECRET})
    text = str(caught.value)
    assert "triggers[1].destination: 'missing' is not a connection of kind destination" in text
    assert "triggers[1].when.segmentEntered[0]: 'nope' is not an audience marked segment: true" in text
    assert "triggers[2].when.filter" in text


async def test_a_guests_deliveries_are_exported_merged_and_erased_with_it(
    open_store: OpenStore, tmp_path: Path, hooks: RunningReceiver, shop_for: ShopFor
) -> None:
    shop = shop_for(hooks.url)
    headers = {"Authorization": "Bearer t"}
    async with app_client(shop.app) as client:
        await shop.event(client, "ADD_TO_CART", "b-anon", ext={"value": 40})
        await shop.event(client, "IDENTITY", "b-known", email="ana@example.com")
        # The anonymous browser turns out to be Ana: the guests merge, and so do their deliveries.
        await shop.event(client, "IDENTITY", "b-anon", email="ana@example.com")
        assert await shop.worker.run_once() == 1
        guest = shop.store.guest_now("shop", ("email", "ana@example.com"))
        assert guest is not None
        export = (await client.get(f"/management/guests/{guest.ref}/export", headers=headers)).json()
        [delivery] = export["deliveries"]
        assert (delivery["trigger"], delivery["status"]) == ("cart_added", "delivered")
        assert '"value":40' in delivery["payload"]
        deleted = (await client.delete(f"/management/guests/{guest.ref}", headers=headers)).json()["deleted"]
        assert deleted["deliveries"] == 1
        assert (await client.get(f"/management/deliveries/{delivery['id']}", headers=headers)).status_code == 404
    with shop.store.reading() as db:
        assert db.execute("SELECT count(*) FROM delivery_attempts").fetchone()[0] == 0  # cascaded


@pytest.mark.parametrize("open_store", ["postgresql"], indirect=True)
async def test_the_running_worker_outlives_a_lost_database_connection(
    open_store: OpenStore, tmp_path: Path, hooks: RunningReceiver, shop_for: ShopFor
) -> None:
    shop = shop_for(hooks.url)
    async with app_client(shop.app) as client:
        await shop.event(client, "ADD_TO_CART", ext={"value": 70})  # a pending delivery
    assert terminate_connections(open_store.schema) == 2  # writer and reader: the first claim meets a dead one
    running = asyncio.ensure_future(shop.worker.run())
    try:  # it waits a poll interval, opens a new connection, claims and delivers
        assert await asyncio.to_thread(hooks.state.arrived.wait, 30)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    [received] = hooks.state.received
    assert received.signed and received.json()["value"] == 70


def test_a_trigger_reads_the_profile_only_when_something_of_it_does(tmp_path: Path) -> None:
    config = (
        CONFIG
        + """  - id: event_only
    when: {event: ORDER}
    destination: hooks
    payload: {order: "${event.data.ext.n}"}
  - id: once_a_touch
    when: {event: ORDER}
    frequency: {criterion: touch}
    destination: hooks
    payload: {order: "${event.data.ext.n}"}
"""
    )
    path = tmp_path / "c.yaml"
    path.write_text(config % {"url": "http://127.0.0.1:9"}, encoding="utf-8")
    triggers = load_runtime(path, env={"HOOK_SECRET": SECRET}).projects["shop"].triggers
    assert triggers is not None
    reads = {t.id: t.reads_guest for t in triggers.triggers}
    # A template reading guest.*, the default payload, and touch frequency (the session) read it; not the rest.
    assert reads == {"cart_added": True, "became_carter": True, "event_only": False, "once_a_touch": True}


async def test_preview_shows_what_would_fire_and_the_exact_request_without_sending(
    open_store: OpenStore, tmp_path: Path, hooks: RunningReceiver, shop_for: ShopFor
) -> None:
    shop = shop_for(hooks.url)
    headers = {"Authorization": "Bearer t"}
    async with app_client(shop.app) as client:
        await shop.event(client, "IDENTITY", email="ana@example.com")
        before = shop.deliveries()
        sample = {"type": "ADD_TO_CART", "data": {"ext": {"value": 30}, "browser_id": "b-1"},
                  "guest": {"kind": "browser", "id": "b-1"}, "entered": ["carters"]}  # fmt: skip
        r = await client.post("/management/triggers/preview", json=sample, headers=headers)
        assert r.status_code == 200, r.text
        preview = r.json()
        cart, carter = preview["triggers"]
        assert cart["trigger"] == "cart_added" and cart["fires"] is True
        request = cart["request"]
        assert request["method"] == "POST" and request["url"] == f"{hooks.url}/hooks/cart_added"
        assert request["headers"]["webhook-signature"].startswith("v1,")
        assert '"email":"ana@example.com"' in request["body"]  # rendered for the stored guest
        assert carter["trigger"] == "became_carter" and carter["fires"] is True
        assert "whsec_" not in r.text
        small = {**sample, "data": {"ext": {"value": 5}}, "entered": []}
        verdicts = (await client.post("/management/triggers/preview", json=small, headers=headers)).json()
        assert [(t["fires"], t.get("why")) for t in verdicts["triggers"]] == [
            (False, "the filter is false for this event and guest"),
            (False, "not fired by this change (it fires on segment entered carters)"),
        ]
        bad = await client.post("/management/triggers/preview", json={"type": "X", "nope": 1}, headers=headers)
        assert bad.status_code == 400 and bad.json()["errors"] == {"nope": [bad.json()["error_message"]]}
    assert shop.deliveries() == before  # nothing stored
    assert hooks.state.received == []  # nothing sent


async def test_a_touch_closes_after_the_session_timeout_once(
    open_store: OpenStore, tmp_path: Path, hooks: RunningReceiver, shop_for: ShopFor
) -> None:
    from service.triggers.sessions import close_sessions

    config = with_triggers(
        """triggers:
  - id: touch_over
    when: {sessionClosed: true, filter: {">=": [{"var": "guest.events.VIEW"}, 2]}}
    destination: hooks
    payload: {guest: "${guest.ref}", lastEventAt: "${event.data.lastEventAt}", views: "${guest.session.events.VIEW}"}
"""
    )
    shop = shop_for(hooks.url, config)
    async with app_client(shop.app) as client:
        for minute in (0, 5):
            await shop.event(client, "VIEW", requested_at=f"2027-01-15T08:0{minute}:00+00:00")
        await shop.event(client, "VIEW", "b-once", requested_at="2027-01-15T08:00:00+00:00")  # one view: filtered
    with shop.store.reading() as db:  # the clock of this test is the events' own (requested_at)
        last = db.execute("SELECT max(last_seen) FROM guests").fetchone()[0]
    runtime = shop.runtime
    # 08:05 + 29:59: b-1's touch is still open; b-once's (08:00) has closed, and its one view fails the filter.
    assert close_sessions(shop.store, runtime, last + 1799) == (1, 0)
    assert close_sessions(shop.store, runtime, last + 1801) == (1, 1)
    assert close_sessions(shop.store, runtime, last + 3600) == (0, 0)  # closed once, never again
    shop.clock.now = last + 3600
    assert await shop.worker.run_once() == 1
    [push] = hooks.state.received
    assert push.json()["lastEventAt"] == last and push.json()["views"] == 2


VARIANTS = """decisionModels:
  - id: reminder
    variants:
      - id: v1
        status: production
        weight: 10000
        nodes:
          - {id: city, kind: input, source: guest.attributes.city, type: string, default: none}
          - id: pct
            kind: expression
            type: number
            expression: {"if": [{"==": [{"var": "city"}, "Oslo"]}, 20, 5]}
          - {id: offer, kind: output, fields: {percent: pct}}
triggers:
  - id: cart_reminder
    when: {event: ADD_TO_CART}
    destination: hooks
    experience:
      type: ab
      variants:
        - id: remind
          weight: 5000
          decisionModels: [reminder]
          response:
            variant: "${variant.id}"
            percent: "${decisions.reminder.offer.percent}"
            city: "${guest.attributes.city}"
            sku: "${event.data.ext.sku}"
        - {id: holdout, weight: 5000, control: true}
"""


async def test_a_triggered_experience_decides_variants_and_models_sticky_by_guest(
    open_store: OpenStore, tmp_path: Path, hooks: RunningReceiver, shop_for: ShopFor
) -> None:
    config = CONFIG.split("triggers:")[0] + VARIANTS  # the models, then the triggers
    shop = shop_for(hooks.url, config)
    browsers = [f"b-{n}" for n in range(24)]  # random guest refs: both arms and both cities, but for 2^-23
    async with app_client(shop.app) as client:
        for browser in browsers:
            city = "Oslo" if int(browser[2:]) % 2 else "Lyon"
            await shop.event(client, "IDENTITY", browser, city=city, email=f"{browser}@example.com")
        for round_ in range(2):  # two carts each: the variant sticks to the guest
            for browser in browsers:
                await shop.event(client, "ADD_TO_CART", browser, ext={"sku": f"S-{round_}"})
        r = await client.get(
            "/management/deliveries?trigger=cart_reminder&limit=100", headers={"Authorization": "Bearer t"}
        )
    assert await shop.worker.run_once() == 2 * len(browsers)
    log = r.json()
    assert all(d["status"] == "pending" and d["variant"] is None for d in log)  # decided by the worker
    rows: dict[str, set[tuple[str, str]]] = {}
    with shop.store.reading() as db:
        for guest, variant, status in db.execute(
            "SELECT guest, variant, status FROM deliveries WHERE trigger = 'cart_reminder'"
        ):
            rows.setdefault(guest, set()).add((variant, status))
    assert all(len(seen) == 1 for seen in rows.values())  # one variant per guest, both carts
    variants = {next(iter(seen)) for seen in rows.values()}
    assert variants == {("remind", "delivered"), ("holdout", "skipped")}  # both arms
    remind = [r.json() for r in hooks.state.received]
    assert remind and all(p["variant"] == "remind" for p in remind)
    assert all(p["percent"] == (20 if p["city"] == "Oslo" else 5) for p in remind)  # the model ran per guest
    assert sorted({p["sku"] for p in remind}) == ["S-0", "S-1"]
    assert len(remind) == 2 * len([seen for seen in rows.values() if ("remind", "delivered") in seen])
    headers = {"Authorization": "Bearer t"}
    async with app_client(shop.app) as client:  # the executions, on the guest and in explain
        guest = shop.store.guest_now("shop", ("browser", "b-3"))
        assert guest is not None
        page = (await client.get(f"/management/guests/{guest.ref}/executions", headers=headers)).json()
        [(variant, status)] = rows[guest.ref]
        assert [(e["trigger"], e["variant"], e["status"]) for e in page] == [("cart_reminder", variant, status)] * 2
        call = {"clientKey": "shop", "friendlyId": "anything", "browserId": "b-3"}
        explained = (await client.post("/v2/callFlows/explain", json=call, headers=headers)).json()
        assert explained["trace"]["executions"] == page


async def test_a_hanging_destination_never_delays_another(
    open_store: OpenStore, tmp_path: Path, hooks: RunningReceiver, shop_for: ShopFor
) -> None:
    config = CONFIG.replace(
        "timeouts: {connectMs: 1000, readMs: 2000, totalMs: 3000}", "timeouts: {totalMs: 8000, readMs: 8000}"
    )
    shop = shop_for(hooks.url, two_destinations(config, "to_slow", "to_fast"))
    hooks.state.slow_paths["/hooks/to_slow"] = 20.0  # hangs longer than the test waits
    async with app_client(shop.app) as client:
        await shop.event(client, "GO")
    attempting = asyncio.ensure_future(shop.worker.run_once())
    try:  # the fast destination's push arrives while the slow one's attempt is still waiting
        assert await asyncio.to_thread(hooks.state.arrived.wait, 30)
        assert [r.path for r in hooks.state.received] == ["/fast"]
        assert not attempting.done()
    finally:
        attempting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await attempting


async def test_the_readme_abandoned_cart_trigger(
    open_store: OpenStore, hooks: RunningReceiver, shop_for: ShopFor
) -> None:
    from service.triggers.sessions import close_sessions

    config = with_triggers("""
  - id: abandoned_cart
    when:
      sessionClosed: true
      filter: {"and": [{">": [{"var": "guest.session.events.ADD_TO_CART"}, 0]},
                       {"!": {"var": "guest.session.events.PURCHASE"}}]}
    destination: hooks
    payload: {pages: "${guest.session.pages}"}
""")
    shop = shop_for(hooks.url, config)
    async with app_client(shop.app) as client:
        for browser, types in (("b-left", ["VIEW", "ADD_TO_CART"]), ("b-paid", ["VIEW", "ADD_TO_CART", "PURCHASE"])):
            for minute, kind in enumerate(types):
                await shop.event(
                    client, kind, browser, page=f"p{minute}", requested_at=f"2027-01-15T09:0{minute}:00+00:00"
                )
        await shop.event(client, "VIEW", "b-look", page="p0", requested_at="2027-01-15T09:00:00+00:00")
    with shop.store.reading() as db:
        last = db.execute("SELECT max(last_seen) FROM guests").fetchone()[0]
    assert close_sessions(shop.store, shop.runtime, last + 1801) == (3, 1)  # three touches closed, one abandoned
    shop.clock.now = last + 3600
    assert await shop.worker.run_once() == 1
    [push] = hooks.state.received
    assert push.json() == {"pages": ["p0"]}  # b-left's touch: its one VIEW with a page


async def test_two_workers_on_one_database_never_send_one_delivery_twice(
    open_store: OpenStore, hooks: RunningReceiver, shop_for: ShopFor
) -> None:
    shop = shop_for(hooks.url)
    async with app_client(shop.app) as client:
        for n in range(40):
            await shop.event(client, "ADD_TO_CART", f"b-{n}", ext={"value": 50})
    # A second process's worker: its own connection to the same database, the same clock.
    other = DeliveryWorker(open_store(), lambda: shop.runtime, clock=shop.clock, jitter=lambda: 0.5, batch=7)
    shop.worker.batch = 7  # small claims, so the two interleave
    sent = 0
    while True:
        rounds = await asyncio.gather(shop.worker.run_once(), other.run_once())
        if not any(rounds):
            break
        sent += sum(rounds)
    ids = [r.id for r in hooks.state.received]
    assert sent == len(ids) == len(set(ids)) == 40  # every delivery once, by one worker or the other


async def test_leaving_a_segment_fires_segment_exited(hooks: RunningReceiver, shop_for: ShopFor) -> None:
    config = with_triggers("""
  - id: left_oslo
    when: {segmentExited: [in_oslo]}
    destination: hooks
""").replace(
        "audiences:\n",
        'audiences:\n  - {id: in_oslo, segment: true, rule: {"==": [{"var": "guest.attributes.city"}, "Oslo"]}}\n',
    )
    shop = shop_for(hooks.url, config)
    async with app_client(shop.app) as client:
        await shop.event(client, "IDENTITY", city="Oslo")  # enters: nothing fires
        assert shop.deliveries() == []
        await shop.event(client, "IDENTITY", city="Lyon")  # leaves
    assert await shop.worker.run_once() == 1
    [push] = hooks.state.received
    assert push.json()["segment"] == {"id": "in_oslo", "change": "exited"}


async def test_429_pauses_the_whole_destination_and_an_open_breaker_postpones(
    hooks: RunningReceiver, shop_for: ShopFor
) -> None:
    shop = shop_for(hooks.url, CONFIG.replace("breaker: {failures: 0}", "breaker: {failures: 2, resetS: 600}"))
    async with app_client(shop.app) as client:
        await shop.event(client, "ADD_TO_CART", "b-first", ext={"value": 50})
        hooks.state.answer((429, {"Retry-After": "7"}))
        assert await shop.worker.run_once() == 1
        await shop.event(client, "ADD_TO_CART", "b-second", ext={"value": 50})
        shop.clock.now += 6.9
        assert await shop.worker.run_once() == 0  # the destination is throttled: nothing of it is claimed
        shop.clock.now += 0.1
        hooks.state.answer(500, 500)
        assert await shop.worker.run_once() == 2  # both fail: the second failure in a row opens the breaker
        shop.clock.now += 300
        assert await shop.worker.run_once() == 2  # claimed, but not sent: postponed while the breaker is open
    assert len(hooks.state.received) == 3
    assert {d["reason"] for d in shop.deliveries()} == {"the destination's breaker is open"}
    assert {d["attempts"] for d in shop.deliveries()} == {1, 2}  # a postponement is not an attempt


async def test_a_trigger_audience_and_the_global_cap(hooks: RunningReceiver, shop_for: ShopFor) -> None:
    config = with_triggers("""
  - id: oslo_carts
    when: {event: ADD_TO_CART}
    audience: in_oslo
    destination: hooks
  - id: every_cart
    when: {event: ADD_TO_CART}
    destination: hooks
""").replace(
        "audiences:\n", 'audiences:\n  - {id: in_oslo, rule: {"==": [{"var": "guest.attributes.city"}, "Oslo"]}}\n'
    )
    config = config.replace("projects:", "settings:\n  triggers: {cap: {count: 3, perS: 86400}}\nprojects:", 1)
    shop = shop_for(hooks.url, config)
    async with app_client(shop.app) as client:
        await shop.event(client, "IDENTITY", "b-oslo", city="Oslo")
        await shop.event(client, "IDENTITY", "b-lyon", city="Lyon")
        for _ in range(3):
            await shop.event(client, "ADD_TO_CART", "b-oslo")
            await shop.event(client, "ADD_TO_CART", "b-lyon")
    fired: dict[str, list[str]] = {}
    with shop.store.reading() as db:
        rows = db.execute("SELECT i.value, d.trigger FROM deliveries d JOIN identities i ON i.guest = d.guest")
        for browser, trigger in rows:
            fired.setdefault(browser, []).append(trigger)
    # b-oslo: both triggers match, but the global cap (3 a day across all triggers) stops the fourth on.
    assert sorted(fired["b-oslo"]) == ["every_cart", "oslo_carts", "oslo_carts"]  # triggers in config order
    assert fired["b-lyon"] == ["every_cart"] * 3  # not in the audience: only the other trigger


async def test_a_rate_limit_paces_its_destination_only(hooks: RunningReceiver, shop_for: ShopFor) -> None:
    config = CONFIG.replace("breaker: {failures: 0}", "breaker: {failures: 0}\n    delivery: {ratePerS: 4}")
    shop = shop_for(hooks.url, two_destinations(config, "paced", "free"))
    waits: list[float] = []

    async def sleep(seconds: float) -> None:  # the pace the worker keeps, recorded instead of waited
        waits.append(seconds)

    shop.worker.monotonic, shop.worker.sleep = lambda: 100.0, sleep
    async with app_client(shop.app) as client:
        for n in range(5):
            await shop.event(client, "GO", f"b-{n}")
    assert await shop.worker.run_once() == 10
    # 4 a second: the first of the paced destination's five attempts starts at once, each next one 1/4 s
    # after the one before; the other destination's five are never held back.
    assert sorted(waits) == [0.25, 0.5, 0.75, 1.0]
    paths = [r.path for r in hooks.state.received]
    assert sorted(paths) == ["/fast"] * 5 + ["/hooks/paced"] * 5
    assert {d["status"] for d in shop.deliveries()} == {"delivered"}
