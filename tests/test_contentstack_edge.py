"""Contentstack's Edge API as its edge SDK calls it: the manifest decided by the same engine as callFlows,
the minted user uid, impressions once per user, attribute upserts, and merges where the source wins."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.app import create_app
from service.config import load_runtime
from service.profiles import ProfileStore
from tests.conftest import OpenStore, app_client
from tests.servers.process import serve_process, stop

CONFIG = """
projects: [{id: p, clientKey: k, contentstackProjectUid: 6512a1b2c3d4e5f6a7b8c9d0, allowedOrigins: ["*"]}]
audiences:
  - {id: gold, rule: {"==": [{"var": "guest.attributes.plan"}, "gold"]}}
experiences:
  - friendlyId: first
    status: active
    tags: [Home, summer sale]
    type: segmented
    variants:
      - {id: for_gold, audience: gold, response: {x: 1}}
  - friendlyId: second
    status: paused
    type: segmented
    variants: [{id: only, response: {x: 2}}]
  - friendlyId: third
    status: active
    tags: [checkout]
    type: ab
    variants:
      - {id: a, weight: 5000, response: {x: 3}}
      - {id: b, weight: 5000, response: {x: 4}}
"""
PROJECT = "6512a1b2c3d4e5f6a7b8c9d0"
SDK_SCRIPT = Path(__file__).parent / "js" / "contentstack_edge_sdk.js"
SDK = Path(__file__).parents[1] / "node_modules" / "@contentstack" / "personalize-edge-sdk"


@pytest.fixture
async def edge(tmp_path: Path, store: ProfileStore) -> Any:
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    async with app_client(create_app(load_runtime(config, env={}), store=store)) as client:
        yield client


def user(uid: str) -> dict[str, str]:
    return {"x-project-uid": PROJECT, "x-cs-personalize-user-uid": uid}


async def test_the_manifest_mints_a_user_and_lists_experiences_in_priority_order(edge: httpx.AsyncClient) -> None:
    r = await edge.get("/manifest", headers={"x-project-uid": PROJECT, "Origin": "https://site.example"})
    assert r.status_code == 200
    minted = r.headers["x-cs-personalize-user-uid"]
    assert len(minted) == 36
    assert "X-CS-Personalize-User-Uid" in r.headers["access-control-expose-headers"]  # the browser SDK reads it
    experiences = r.json()["experiences"]
    assert [e["shortUid"] for e in experiences] == ["0", "1", "2"]
    assert experiences[0]["activeVariantShortUid"] is None  # not gold
    assert experiences[1]["activeVariantShortUid"] is None  # paused
    assert experiences[2]["activeVariantShortUid"] in ("0", "1")
    again = await edge.get("/manifest", headers=user(minted))  # sticky for the user, returned every time
    assert again.headers["x-cs-personalize-user-uid"] == minted
    assert again.json()["experiences"][2] == experiences[2]


async def test_the_manifest_sends_a_user_uid_back_byte_for_byte(edge: httpx.AsyncClient) -> None:
    uid = "caf\u00e9-\u7528\u6237".encode()  # UTF-8, as a browser SDK sends a uid it was given
    r = await edge.get("/manifest", headers={b"x-project-uid": PROJECT.encode(), b"x-cs-personalize-user-uid": uid})
    assert r.status_code == 200
    assert dict(r.headers.raw)[b"x-cs-personalize-user-uid"] == uid  # not re-encoded as UTF-8


@pytest.mark.parametrize(
    ("query", "short_uids"),
    [
        ("tags[]=home", ["0"]),  # case-insensitive
        ("tags[]=CHECKOUT&tags[]=summer%20sale", ["0", "2"]),  # OR-ed, each value encodeURIComponent-encoded
        ("tags%5B%5D=checkout", ["2"]),
        ("tags[]=nothing", []),
        ("tags[]=&other=1", ["0", "1", "2"]),  # no tag: the whole manifest
    ],
)
async def test_tags_filter_the_manifest_and_short_uids_stay_put(
    edge: httpx.AsyncClient, query: str, short_uids: list[str]
) -> None:
    r = await edge.get(f"/manifest?{query}", headers=user("u-tags"))
    assert r.status_code == 200, r.text
    assert [e["shortUid"] for e in r.json()["experiences"]] == short_uids
    assert r.headers["x-cs-personalize-user-uid"] == "u-tags"


async def test_more_than_ten_tags_is_a_bad_request(edge: httpx.AsyncClient) -> None:
    ten = "&".join(f"tags[]=t{i}" for i in range(10))
    assert (await edge.get(f"/manifest?{ten}", headers=user("u"))).status_code == 200
    r = await edge.get(f"/manifest?{ten}&tags[]=t10", headers=user("u"))
    assert r.status_code == 400
    assert r.json()["error"] == "personalize.BAD_REQUEST" and "tags" in r.json()["message"]


async def test_attributes_change_the_manifest_and_merges_let_the_source_win(
    edge: httpx.AsyncClient, store: ProfileStore
) -> None:
    r = await edge.patch("/user-attributes", content=b'{"plan":"gold","age":"10"}', headers=user("u-1"))
    assert (r.status_code, r.text) == (200, "User Attributes added successfully")
    manifest = (await edge.get("/manifest", headers=user("u-1"))).json()["experiences"]
    assert manifest[0]["activeVariantShortUid"] == "0"  # the gold variant now
    await edge.patch("/user-attributes", json={"plan": "silver", "city": "Oslo"}, headers=user("anon-9"))
    r = await edge.post(
        "/user-attributes/actions/merge",
        json={"sourceUserUid": "anon-9", "targetUserUid": "u-1"},
        headers={"x-project-uid": PROJECT},
    )
    assert (r.status_code, r.text) == (200, "User Attributes merged successfully")
    guest = store.guest_now("p", ("contentstack", "u-1"))
    merged = store.guest_now("p", ("contentstack", "anon-9"))
    assert guest is not None and merged is not None and guest.ref == merged.ref
    assert guest.attributes == {"plan": "silver", "age": "10", "city": "Oslo"}  # source wins on plan


async def test_impressions_are_unique_per_user_and_events_count(edge: httpx.AsyncClient, store: ProfileStore) -> None:
    body = [
        {"experienceShortUid": "2", "variantShortUid": "1", "type": "IMPRESSION"},
        {"eventKey": "clickCTA", "type": "EVENT"},
    ]
    for _ in range(3):
        r = await edge.post("/events", json=body, headers=user("u-7"))  # no Content-Type: the SDK sends none
        assert r.status_code == 200
    assert (await edge.post("/events", content=b"[]", headers=user("u-7"))).status_code == 200
    guest = store.guest_now("p", ("contentstack", "u-7"))
    assert guest is not None and guest.event_counts == {"IMPRESSION": 1, "clickCTA": 3}


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status", "error"),
    [
        ("GET", "/manifest", {"x-project-uid": "nope"}, None, 404, "personalize.MANIFEST.PROJECT_NOT_FOUND"),
        ("POST", "/events", {"x-project-uid": PROJECT}, [], 400, "personalize.BAD_REQUEST"),
        ("POST", "/events", user("u"), {"type": "EVENT"}, 400, "personalize.BAD_REQUEST"),
        ("POST", "/events", user("u"), [{"type": "EVENT"}], 400, "personalize.BAD_REQUEST"),
        ("PATCH", "/user-attributes", user("u"), [1], 400, "personalize.BAD_REQUEST"),
        ("POST", "/user-attributes/actions/merge", {"x-project-uid": PROJECT}, {}, 400, "personalize.BAD_REQUEST"),
    ],
)
async def test_errors_are_error_and_message(
    edge: httpx.AsyncClient, method: str, path: str, headers: dict[str, str], body: Any, status: int, error: str
) -> None:
    r = await edge.request(method, path, json=body, headers=headers)
    assert r.status_code == status and r.json()["error"] == error and r.json()["message"]


@pytest.mark.slow
def test_the_real_edge_sdk_works_against_the_service(tmp_path: Path, open_store: OpenStore) -> None:
    """@contentstack/personalize-edge-sdk 1.0.27, pointed here with setEdgeApiUrl and otherwise unchanged."""
    node = shutil.which("node")
    if node is None or not SDK.is_dir():
        pytest.fail("node and the edge SDK are needed: ./scripts/test installs the SDK with `npm ci`")
    proc, base = serve_process("--no-access-log", *open_store.serve_args(tmp_path, CONFIG))
    try:
        run = subprocess.run([node, str(SDK_SCRIPT), base, PROJECT], capture_output=True, text=True, timeout=60)
    finally:
        stop(proc)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert len(seen["minted"]) == 36  # the SDK adopted the uid the manifest minted
    assert [e["shortUid"] for e in seen["anonymous"]] == ["0", "1", "2"]
    assert seen["anonymous"][0]["activeVariantShortUid"] is None  # not gold yet
    assert seen["again"][0]["activeVariantShortUid"] == "0"  # set({plan: gold}) reached the profile
    assert seen["again"][2] == seen["anonymous"][2]  # A/B sticky for the user
    assert seen["tagged"] == [seen["again"][2]]  # tags: ["CHECKOUT"]
    assert seen["knownBefore"][0]["activeVariantShortUid"] is None
    assert seen["knownAfter"][0]["activeVariantShortUid"] == "0"  # setUserId merged the anonymous user in
    assert seen["unknownProject"] == "Project not found: no-such-project"
    known = open_store().guest_now("p", ("contentstack", "known-1"))
    assert known is not None
    assert known.attributes == {"plan": "gold"}
    assert known.event_counts["clickCTA"] == 1 and known.event_counts["IMPRESSION"] == 1
