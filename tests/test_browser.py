"""Browser identity endpoints the Cloud SDK calls before it personalizes."""

from __future__ import annotations

import hashlib
import uuid

import httpx
import pytest

from service.sitecore.browser import guest_ref


async def test_create_returns_browser_id_and_stable_guest_ref(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/events/v1.2/browser/create.json?sitecoreContextId=demo&client_key=")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"status", "version", "client_key", "ref", "customer_ref"}
    assert (body["status"], body["version"], body["client_key"]) == ("OK", "1.2", "demo")
    uuid.UUID(body["ref"])
    shown = await client.get(f"/v1/events/v1.2/browser/{body['ref']}/show.json?sitecoreContextId=demo&client_key=")
    assert shown.json() == {"customer": {"ref": body["customer_ref"]}}


async def test_two_creates_give_two_browsers(client: httpx.AsyncClient) -> None:
    a = (await client.get("/v1/events/v1.2/browser/create.json?sitecoreContextId=demo")).json()
    b = (await client.get("/v1/events/v1.2/browser/create.json?sitecoreContextId=demo")).json()
    assert a["ref"] != b["ref"] and a["customer_ref"] != b["customer_ref"]


async def test_direct_variant_with_client_key(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1.2/browser/create.json?client_key=demo&message={}")
    assert r.status_code == 200 and r.json()["client_key"] == "demo"


async def test_context_id_header_works_for_show(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/events/v1.2/browser/B/show.json", headers={"x-sitecore-contextid": "demo"})
    assert r.json() == {"customer": {"ref": guest_ref("demo", "B")}}


def test_guest_ref_is_stable_and_project_scoped() -> None:
    assert guest_ref("demo", "B") == guest_ref("demo", "B")
    assert guest_ref("demo", "B") != guest_ref("other", "B")
    assert guest_ref("demo", "B") != guest_ref("demo", "C")
    # The documented derivation (RFC 4122 UUID v5 of "project\x1fbrowserId"), recomputed by hand: a change to
    # it would re-key every visitor's guest, so it must be deliberate.
    digest = bytearray(
        hashlib.sha1(uuid.UUID("6f1f5b0e-3c1a-5d3e-9a51-7a1e0c2b9d40").bytes + b"demo\x1fB").digest()[:16]
    )
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    assert guest_ref("demo", "B") == str(uuid.UUID(bytes=bytes(digest)))


async def test_errors_use_the_stream_error_shape(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/events/v1.2/browser/create.json?sitecoreContextId=nope")
    assert r.status_code == 401
    assert r.json() == {"error_msg": "unknown sitecoreContextId", "moreInfo": "README.md#errors"}
    r = await client.get("/v1/events/v1.2/browser/bad%20id!/show.json?sitecoreContextId=demo")
    assert r.status_code == 400 and "browserId" in r.json()["error_msg"]


async def test_cloud_sdk_01_bootstrap_path(client: httpx.AsyncClient) -> None:
    """Cloud SDK 0.1.x `init` calls create.json without the /v1 prefix; a 404 there made init throw."""
    r = await client.get("/events/v1.2/browser/create.json?sitecoreContextId=demo&client_key=")
    assert r.status_code == 200 and r.json()["status"] == "OK" and r.json()["ref"]


async def test_engage_get_guest_id_path(client: httpx.AsyncClient) -> None:
    """Engage's getGuestId: GET /v1.2/browser/{id}/show.json?client_key=…&api_token=…"""
    r = await client.get("/v1.2/browser/B-1/show.json?client_key=demo&api_token=demo")
    assert r.json() == {"customer": {"ref": guest_ref("demo", "B-1")}}
    r = await client.get("/v1.2/browser/B-1/show.json?client_key=nope&api_token=x")
    assert r.status_code == 401 and "unknown clientKey" in r.json()["error_msg"]


@pytest.mark.parametrize("path", ["/v1.2/browser/nope.json", "/events/v1.2/nothing", "/v1/events/v1.2/browser/x"])
async def test_browser_and_event_404s_carry_error_msg(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 404
    assert set(r.json()) == {"error_msg", "moreInfo"}  # Engage reads error_msg
    assert "developerMessage" in (await client.get("/v2/nothing")).json()  # elsewhere: the callFlows shape
