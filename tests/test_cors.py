"""CORS per project: preflight, allowed and refused origins, exposed headers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from service.app import create_app
from service.config import load_runtime
from service.http.metrics import Metrics
from tests.conftest import MANAGEMENT_TOKEN, app_client

TOKEN = {"Authorization": f"Bearer {MANAGEMENT_TOKEN}"}

BODY = {"clientKey": "abBah8aelipaPeebae7roox2tiexoSee", "friendlyId": "home_banner"}
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type,x-library-version",
}


async def test_preflight_for_the_projects_origin(ref_client: httpx.AsyncClient) -> None:
    r = await ref_client.options(
        "/v1/personalize?sitecoreContextId=CTX", headers={"Origin": "https://site.example", **PREFLIGHT}
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "https://site.example"
    assert "POST" in r.headers["access-control-allow-methods"]
    assert r.headers["access-control-allow-headers"] == "content-type,x-library-version"


async def test_preflight_refuses_another_projects_origin(ref_client: httpx.AsyncClient) -> None:
    r = await ref_client.options(
        "/v1/personalize?sitecoreContextId=CTX", headers={"Origin": "https://other.example", **PREFLIGHT}
    )
    assert r.status_code == 403
    assert "access-control-allow-origin" not in r.headers
    # Without a context id in the query, any project's origin may preflight (the body is not sent yet).
    r = await ref_client.options("/v2/callFlows", headers={"Origin": "https://other.example", **PREFLIGHT})
    assert r.status_code == 204
    r = await ref_client.options("/v2/callFlows", headers={"Origin": "https://evil.example", **PREFLIGHT})
    assert r.status_code == 403


async def test_actual_request_is_checked_against_the_resolved_project(ref_client: httpx.AsyncClient) -> None:
    r = await ref_client.post("/v2/callFlows", json=BODY, headers={"Origin": "https://site.example"})
    assert r.headers["access-control-allow-origin"] == "https://site.example"
    exposed = r.headers["access-control-expose-headers"]
    assert "Server-Timing" in exposed and "X-Decision-Id" in exposed and "X-Personalize-Outcome" in exposed
    assert r.headers["vary"] == "Origin"
    # other.example belongs to another project: the browser must not read this project's response.
    r = await ref_client.post("/v2/callFlows", json=BODY, headers={"Origin": "https://other.example"})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


async def test_errors_before_a_project_is_known_still_readable(ref_client: httpx.AsyncClient) -> None:
    r = await ref_client.post("/v2/callFlows", content=b"{", headers={"Origin": "https://site.example"})
    assert r.status_code == 400
    assert r.headers["access-control-allow-origin"] == "https://site.example"


async def test_wildcard_demo_allows_any_origin(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v2/callFlows",
        json={"clientKey": "demo", "friendlyId": "home_banner"},
        headers={"Origin": "http://localhost:3000"},
    )
    assert r.headers["access-control-allow-origin"] == "http://localhost:3000"


async def test_no_origin_no_cors_headers(client: httpx.AsyncClient) -> None:
    r = await client.post("/v2/callFlows", json={"clientKey": "demo", "friendlyId": "home_banner"})
    assert "access-control-allow-origin" not in r.headers


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/management/experiences"),
        ("GET", "/management/connections"),
        ("POST", "/management/reload"),
        ("POST", "/v2/callFlows/explain"),
        ("POST", "/v2/testDecisionModel"),
        ("POST", "/v2/connections/testConnection"),
    ],
)
async def test_a_project_wildcard_never_opens_management(client: httpx.AsyncClient, method: str, path: str) -> None:
    origin = {"Origin": "https://evil.example"}
    r = await client.request(method, path, headers={**origin, **TOKEN}, json={})
    assert "access-control-allow-origin" not in r.headers
    r = await client.options(path, headers={**origin, **PREFLIGHT, "Access-Control-Request-Method": method})
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers


async def test_management_origins_are_granted_explicitly(write_config: Callable[[str], Path]) -> None:
    path = write_config(
        """
        management: {tokens: [t], allowedOrigins: ["https://admin.example"]}
        projects: [{id: p, clientKey: k, allowedOrigins: ["*"]}]
        """
    )
    async with app_client(create_app(load_runtime(path, env={}), Metrics())) as c:
        admin = {"Origin": "https://admin.example", "Authorization": "Bearer t"}
        r = await c.get("/management/experiences", headers=admin)
        assert (r.status_code, r.headers["access-control-allow-origin"]) == (200, "https://admin.example")
        r = await c.get("/management/experiences", headers={**admin, "Origin": "https://other.example"})
        assert "access-control-allow-origin" not in r.headers
