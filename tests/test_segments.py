"""Segments: audiences marked `segment: true` are re-evaluated on every stored event, in its own
transaction; entries and exits are recorded with their time and causing event; decisions read them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.app import create_app
from service.config import load_runtime
from service.profiles import ProfileStore
from tests.conftest import app_client

CONFIG = """
management: {tokens: [t]}
projects: [{id: p, clientKey: k, segmentWriteKeys: [wk]}]
audiences:
  - {id: returning, segment: true, rule: {">=": [{"var": "guest.events.VIEW"}, 3]}}
  - {id: gold, segment: true, rule: {"==": [{"var": "guest.attributes.tier"}, "gold"]}}
  - {id: shopper, segment: true, rule: {">=": [{"var": "guest.events.Order Completed"}, 1]}}
  - {id: in_returning, rule: {"in": ["returning", {"var": "guest.segments"}]}}
experiences:
  - friendlyId: hero
    status: active
    type: segmented
    fallback: {hero: default}
    variants:
      - {id: back, audience: in_returning, response: {hero: returning}}
"""
TOKEN = {"Authorization": "Bearer t"}


async def test_entries_and_exits_are_recorded_in_the_events_own_request(store: ProfileStore, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    app = create_app(load_runtime(config, env={}), store=store)

    def sitecore(kind: str, **extra: Any) -> dict[str, Any]:
        return {"type": kind, "browser_id": "b-1", "client_key": "k", **extra}

    async with app_client(app) as c:
        refs = []
        for _ in range(3):
            refs.append((await c.post("/v1.2/events", json=sitecore("VIEW"))).json()["ref"])
            guest = store.guest_now("p", ("browser", "b-1"))
            assert guest is not None
            # current within the event's own request: entered on exactly the third view
            assert guest.segments == (("returning",) if len(refs) == 3 else ())
        await c.post("/v1.2/events", json=sitecore("IDENTITY", email="a@example.com", tier="gold"))
        await c.post("/v1/track", json={"writeKey": "wk", "userId": "u-1", "event": "Order Completed"})
        guest = store.guest_now("p", ("email", "a@example.com"))
        assert guest is not None and guest.segments == ("returning",)  # tier is not an IDENTITY person field
        r = await c.get(f"/management/guests/{guest.ref}/segments", headers=TOKEN)
        assert r.json()["current"] == [{"segment": "returning", "since": r.json()["current"][0]["since"]}]
        assert [(x["segment"], x["change"], x["event"]) for x in r.json()["changes"]] == [
            ("returning", "entered", refs[2])
        ]
        shopper = store.guest_now("p", ("user", "u-1"))
        assert shopper is not None and shopper.segments == ("shopper",)
        # decisions read segment membership as guest.segments
        r = await c.post("/v2/callFlows", json={"clientKey": "k", "friendlyId": "hero", "browserId": "b-1"})
        assert r.json() == {"hero": "returning"}
        r = await c.post("/v2/callFlows", json={"clientKey": "k", "friendlyId": "hero", "browserId": "b-new"})
        assert r.json() == {"hero": "default"}


async def test_a_guest_leaves_a_segment_when_it_no_longer_matches(store: ProfileStore, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    async with app_client(create_app(load_runtime(config, env={}), store=store)) as c:
        for tier in ("gold", "silver"):
            body = {"writeKey": "wk", "userId": "u-2", "traits": {"tier": tier}}
            assert (await c.post("/v1/identify", json=body)).status_code == 200
        guest = store.guest_now("p", ("user", "u-2"))
        assert guest is not None and guest.segments == ()
        changes = (await c.get(f"/management/guests/{guest.ref}/segments", headers=TOKEN)).json()["changes"]
        assert [(x["segment"], x["change"]) for x in changes] == [("gold", "entered"), ("gold", "exited")]


PARTS = """
management: {tokens: [t]}
projects: [{id: p, clientKey: k}]
audiences:
  - {id: on_cart, segment: true, rule: {"in": ["/cart", {"var": "guest.session.pages"}]}}
  - {id: busy_today, segment: true, rule: {">=": [{"var": "guest.recent.1d.VIEW"}, 2]}}
  - id: known
    segment: true
    rule: {"some": [{"var": "guest.identities"}, {"==": [{"var": "kind"}, "email"]}]}
"""


async def test_a_segment_reads_the_parts_of_the_profile_it_needs(store: ProfileStore, tmp_path: Path) -> None:
    """The store reads only the parts of a guest its segments read (compiled at load): each part here is
    read when, and only when, a segment needs it."""
    config = tmp_path / "c.yaml"
    config.write_text(PARTS, encoding="utf-8")
    runtime = load_runtime(config, env={})
    segments = runtime.projects["p"].segments
    assert segments is not None and segments.parts == frozenset({"session", "recent", "identities"})
    whole = CONFIG.replace("{id: gold,", '{id: all, segment: true, rule: {"!!": [{"var": "guest"}]}}\n  - {id: gold,')
    whole_path = tmp_path / "whole.yaml"
    whole_path.write_text(whole, encoding="utf-8")
    assert load_runtime(whole_path, env={}).projects["p"].segments.parts is None  # type: ignore[union-attr]
    async with app_client(create_app(runtime, store=store)) as c:
        for page, email in (("/", None), ("/cart", None), ("/", "a@example.com")):
            body = {"type": "VIEW", "browser_id": "b-1", "client_key": "k", "page": page}
            if email:
                body |= {"type": "IDENTITY", "email": email}
            assert (await c.post("/v1.2/events", json=body)).status_code == 201
            guest = store.guest_now("p", ("browser", "b-1"))
            assert guest is not None
            expected = (
                {"/": (), "/cart": ("busy_today", "on_cart")}[page] if not email else ("busy_today", "known", "on_cart")
            )
            assert guest.segments == expected


READERS = """
projects: [{id: p, clientKey: k}]
audiences:
  - {id: returning, segment: true, rule: {">=": [{"var": "guest.events.VIEW"}, 3]}}
  - {id: euro, rule: {"==": [{"var": "request.currency"}, "EUR"]}}
decisionModels:
  - id: visits
    variants:
      - id: v
        status: production
        weight: 10000
        nodes:
          - {id: n, kind: input, source: guest.events.VIEW, type: number, default: 0}
          - {id: out, kind: output, fields: {n: n}}
  - {id: scored, plugin: "tests.plugins:score"}
  - id: pure
    variants:
      - id: v
        status: production
        weight: 10000
        nodes:
          - {id: t, kind: input, source: params.tier, type: string, default: none}
          - {id: out, kind: output, fields: {t: t}}
  - id: nodes
    variants:
      - id: v
        status: production
        weight: 10000
        nodes:
          - {id: t, kind: input, source: params.tier, type: string, default: none}
          - {id: p, kind: plugin, python: "tests.plugins:page_views", inputs: {tier: t}, type: object}
          - {id: out, kind: output, fields: {p: p}}
experiences:
  - {friendlyId: plain, status: active, type: segmented, variants: [{id: a, audience: euro, response: {x: 1}}]}
  - {friendlyId: by_audience, status: active, type: segmented, variants: [{id: a, audience: returning, response: {}}]}
  - {friendlyId: by_template, status: active, type: segmented, variants: [{id: a, response: {n: "${guest.ref!0}"}}]}
  - {friendlyId: by_model, status: active, type: segmented, variants: [{id: a, decisionModels: [visits], response: {}}]}
  - {friendlyId: pure_model, status: active, type: segmented, variants: [{id: a, decisionModels: [pure], response: 1}]}
  - {friendlyId: by_plugin, status: active, type: segmented, variants: [{id: a, decisionModels: [scored], response: 1}]}
  - {friendlyId: by_node, status: active, type: segmented, variants: [{id: b, decisionModels: [nodes], response: 1}]}
  - friendlyId: by_draft
    status: active
    type: segmented
    variants: [{id: a, response: {}}]
    draft: {type: segmented, variants: [{id: d, response: {n: "${guest.ref!0}"}}]}
"""


class CountingStore(ProfileStore):
    """The real store, counting the profile reads decisions make."""

    reads = 0

    async def guest(self, *args: Any, **kwargs: Any) -> Any:
        self.reads += 1
        return await super().guest(*args, **kwargs)


async def test_a_decision_reads_the_profile_only_when_its_experience_reads_guest(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(READERS, encoding="utf-8")
    runtime = load_runtime(config, env={})
    assert runtime.projects["p"].catalog.reads_guest  # the project reads it; not every experience does
    store = CountingStore(tmp_path / "p.sqlite3")
    try:
        async with app_client(create_app(runtime, store=store)) as client:
            reads: dict[str, int] = {}
            expected = {
                "plain": 0, "pure_model": 0, "by_audience": 1, "by_template": 1, "by_model": 1, "by_plugin": 1,
                "by_node": 1, "by_draft": 1, "by_*": 1, "plain*": 0,
            }  # fmt: skip
            for n, fid in enumerate(expected):
                before = store.reads
                body = {"clientKey": "k", "friendlyId": fid, "browserId": f"b-{n}", "currency": "EUR"}
                assert (await client.post("/v2/callFlows", json=body)).status_code == 200
                reads[fid] = store.reads - before
    finally:
        store.close()
    assert reads == expected
