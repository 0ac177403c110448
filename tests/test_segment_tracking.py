"""Segment's tracking API: the auth forms, gzip and text/plain bodies, Segment's limits, messageId
de-duplication, every message type and the analytics.js short paths — and the real analytics-python
library delivering without an error."""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.app import create_app
from service.config import load_runtime
from service.profiles import ProfileStore
from tests.conftest import OpenStore, app_client
from tests.servers.process import serve_process, stop


def track(user: str = "u-1", **extra: Any) -> dict[str, Any]:
    return {"type": "track", "event": "Item Purchased", "userId": user, "anonymousId": None,
            "messageId": str(uuid.uuid4()), "timestamp": "2026-11-30T12:00:00.000+00:00", **extra}  # fmt: skip


@pytest.fixture
async def segment(store: ProfileStore) -> Any:
    async with app_client(create_app(load_runtime(env={}), store=store)) as client:
        yield client


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({}, {**track(), "writeKey": "demo"}),  # analytics-python >= 2.3: in the body
        ({"Authorization": "Basic " + base64.b64encode(b"demo:").decode()}, track()),  # <= 2.2: HTTP Basic
        ({"Authorization": "Bearer some-oauth-token"}, {**track(), "writeKey": "demo"}),  # OAuth + body
    ],
)
async def test_the_three_auth_forms(segment: httpx.AsyncClient, store: ProfileStore, headers: Any, body: Any) -> None:
    r = await segment.post("/v1/track", json=body, headers=headers)
    assert (r.status_code, r.json()) == (200, {"success": True})
    guest = store.guest_now("demo", ("user", "u-1"))
    assert guest is not None and guest.event_counts == {"Item Purchased": 1}


@pytest.mark.parametrize(
    ("body", "message"),
    [({**track(), "writeKey": "nope"}, "unknown write key"), (track(), "a write key is required")],
)
async def test_unknown_or_missing_write_keys_are_401(segment: httpx.AsyncClient, body: Any, message: str) -> None:
    r = await segment.post("/v1/track", json=body)
    assert r.status_code == 401
    assert r.json() == {"success": False, "code": "unauthorized", "message": r.json()["message"], "field": "writeKey"}
    assert message in r.json()["message"]


async def test_gzip_and_text_plain_bodies(segment: httpx.AsyncClient, store: ProfileStore) -> None:
    raw = gzip.compress(json.dumps({"batch": [track("u-gz")], "writeKey": "demo"}).encode())
    headers = {"Content-Encoding": "gzip", "Content-Type": "text/plain"}
    assert (await segment.post("/v1/batch", content=raw, headers=headers)).json() == {"success": True}
    assert store.guest_now("demo", ("user", "u-gz")) is not None
    r = await segment.post("/v1/batch", content=b"not gzip", headers=headers)
    assert r.status_code == 400 and "not gzip" in r.json()["message"]


async def test_limits_keep_the_valid_messages_of_a_batch(segment: httpx.AsyncClient, store: ProfileStore) -> None:
    big = track("u-big", properties={"blob": "x" * 33_000})
    r = await segment.post("/v1/track", json={**big, "writeKey": "demo"})
    assert r.status_code == 400 and "larger than 32768 bytes" in r.json()["message"]
    batch = [track("u-a"), big, {"type": "track", "userId": "u-b"}, "junk", track("u-c")]
    r = await segment.post("/v1/batch", json={"batch": batch, "writeKey": "demo"})
    assert r.status_code == 200
    assert [(x["index"], x["reason"][:20]) for x in r.json()["rejected"]] == [
        (1, "larger than 32768 by"),
        (2, "event (the name of w"),
        (3, "a message is a JSON "),
    ]
    assert all(store.guest_now("demo", ("user", u)) is not None for u in ("u-a", "u-c"))
    assert store.guest_now("demo", ("user", "u-big")) is None
    r = await segment.post("/v1/batch", json={"batch": [track()] * 2501, "writeKey": "demo"})
    assert r.status_code == 400 and "at most 2500 messages" in r.json()["message"]
    r = await segment.post("/v1/batch", content=b"{" + b" " * 520_000 + b"}")
    assert r.status_code == 400 and "exceeds the limit of 512000 bytes" in r.json()["message"]
    r = await segment.post("/v1/track", content=b"{nope")
    assert r.status_code == 400 and "invalid JSON" in r.json()["message"]


async def test_a_retried_message_is_stored_once(segment: httpx.AsyncClient, store: ProfileStore) -> None:
    body = {"batch": [track("u-once"), track("u-once")], "writeKey": "demo"}
    for _ in range(3):  # the client retries the same batch
        assert (await segment.post("/v1/batch", json=body)).status_code == 200
    guest = store.guest_now("demo", ("user", "u-once"))
    assert guest is not None and guest.event_counts == {"Item Purchased": 2}


async def test_every_type_and_the_short_paths(segment: httpx.AsyncClient, store: ProfileStore) -> None:
    key = {"writeKey": "demo"}
    calls: list[tuple[str, dict[str, Any]]] = [
        ("/v1/identify", {"userId": "u-7", "anonymousId": "a-7", "traits": {"plan": "gold"}}),
        ("/v1/p", {"anonymousId": "a-7", "name": "Home"}),
        ("/v1/s", {"anonymousId": "a-7", "name": "Cart"}),
        ("/v1/g", {"userId": "u-7", "groupId": "acme"}),
        ("/v1/t", {"userId": "u-7", "event": "Signed Up"}),
        ("/v1/a", {"userId": "u-8", "previousId": "u-7"}),
        ("/v1/b", {"batch": [{"type": "page", "anonymousId": "a-7"}]}),
    ]
    for path, body in calls:
        r = await segment.post(path, json={**body, **key})
        assert r.status_code == 200, (path, r.text)
    guest = store.guest_now("demo", ("user", "u-8"))  # alias linked the new id to the same guest
    assert guest is not None and guest.attributes == {"plan": "gold"}
    assert guest.event_counts == {"IDENTIFY": 1, "PAGE": 2, "SCREEN": 1, "GROUP": 1, "Signed Up": 1, "ALIAS": 1}
    r = await segment.post("/v1/track", json={"event": "x", **key})
    assert r.status_code == 400 and r.json()["message"] == "userId or anonymousId is required"


@pytest.mark.slow
def test_analytics_python_delivers_without_an_error(tmp_path: Path, open_store: OpenStore) -> None:
    from segment.analytics import Client

    proc, base = serve_process("--no-access-log", *open_store.serve_args(tmp_path))
    errors: list[Any] = []
    try:
        for gzipped in (False, True):  # sync_mode sends each call at once; gzip as the library compresses
            client = Client(
                "demo", host=base, sync_mode=True, gzip=gzipped, on_error=lambda error, items: errors.append(error)
            )
            client.identify("lib-user", {"email": "lib@example.com"})
            client.track("lib-user", "Order Completed", {"revenue": 42})
            client.page("lib-user", name="Checkout")
            client.flush()
    finally:
        stop(proc)
    assert errors == []
    guest = open_store().guest_now("demo", ("user", "lib-user"))
    assert guest is not None
    assert guest.event_counts == {"IDENTIFY": 2, "Order Completed": 2, "PAGE": 2}
    assert guest.attributes == {"email": "lib@example.com"}


async def test_alias_merges_an_anonymous_history_into_the_user(segment: httpx.AsyncClient, store: ProfileStore) -> None:
    key = {"writeKey": "demo"}
    await segment.post("/v1/page", json={"anonymousId": "anon-1", "name": "Home", **key})
    await segment.post("/v1/identify", json={"userId": "u-42", "traits": {"plan": "pro"}, **key})
    await segment.post("/v1/alias", json={"userId": "u-42", "previousId": "anon-1", **key})  # merges the two
    await segment.post("/v1/track", json={"userId": "u-42", "event": "Bought", **key})
    user = store.guest_now("demo", ("user", "u-42"))
    anonymous = store.guest_now("demo", ("anonymous", "anon-1"))
    assert user is not None and anonymous is not None and user.ref == anonymous.ref  # one guest now
    assert user.event_counts == {"PAGE": 1, "IDENTIFY": 1, "ALIAS": 1, "Bought": 1}
    assert user.attributes == {"plan": "pro"}
