"""Health, readiness, Prometheus metrics and JSON access-log lines."""

from __future__ import annotations

import io
import json

import httpx

from service.app import create_app
from service.config import load_runtime
from service.http.access_log import AccessLog
from tests.conftest import app_client


async def test_health_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = (await client.get("/readyz")).json()
    assert ready == {"status": "ready", "config": "(embedded demo)", "projects": ["demo"]}


async def test_metrics_count_requests_latency_and_decisions(client: httpx.AsyncClient) -> None:
    for tier in ("gold", "silver", "bronze"):
        await client.post(
            "/v2/callFlows",
            json={"clientKey": "demo", "friendlyId": "loyalty_offer", "params": {"loyalty": {"tier": tier}}},
        )
    await client.post("/v2/callFlows", json={"clientKey": "demo", "friendlyId": "nothing_here"})
    await client.post("/v2/callFlows", content=b"{")
    text = (await client.get("/metrics")).text
    assert 'personalize_http_requests_total{route="/v2/callFlows",status="200"} 4.0' in text
    assert 'personalize_http_requests_total{route="/v2/callFlows",status="400"} 1.0' in text
    assert 'personalize_http_request_duration_seconds_count{route="/v2/callFlows"} 5.0' in text
    assert 'personalize_decisions_total{experience="loyalty_offer",outcome="variant",variant="gold_offer"} 1.0' in text
    assert 'personalize_decisions_total{experience="loyalty_offer",outcome="variant",variant="join_offer"} 1.0' in text
    assert 'personalize_decisions_total{experience="",outcome="not_found",variant=""} 1.0' in text
    assert "_created" not in text


async def test_access_log_lines_carry_the_decision_id() -> None:
    stream = io.BytesIO()
    access_log = AccessLog(stream, enabled=True)
    async with app_client(create_app(load_runtime(env={}), access_log=access_log)) as client:
        r = await client.post(
            "/v2/callFlows",
            json={"clientKey": "demo", "friendlyId": "loyalty_offer", "params": {"loyalty": {"tier": "gold"}}},
            headers={"Authorization": "Bearer demo-management-token"},
        )
        await client.get("/healthz")
    access_log.flush()
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert second["route"] == "/healthz"
    line = first
    assert line["decisionId"] == r.headers["x-decision-id"]
    assert (line["method"], line["path"], line["route"], line["status"]) == (
        "POST",
        "/v2/callFlows",
        "/v2/callFlows",
        200,
    )
    assert (line["project"], line["friendlyId"], line["outcome"], line["variant"]) == (
        "demo",
        "loyalty_offer",
        "variant",
        "gold_offer",
    )
    assert isinstance(line["ms"], float)
    assert "demo-management-token" not in json.dumps(line)
