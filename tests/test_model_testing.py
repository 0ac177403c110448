"""POST /v2/testDecisionModel and `personalize test-model` on the demo's banner_offer model."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from service.cli import main

TOKEN = {"Authorization": "Bearer demo-management-token"}


async def test_runs_a_variant_and_reports_every_node(client: httpx.AsyncClient) -> None:
    body = {
        "context": {
            "channel": "WEB",
            "guest": {"ref": "g-1"},
            "params": {"loyalty": {"tier": "gold"}, "cartValue": 120},
        },
        "decisionModelRef": "banner_offer",
        "decisionModelVariantRef": "tier_by_cart",
    }
    r = await client.post("/v2/testDecisionModel", json=body, headers=TOKEN)
    assert r.status_code == 200
    result = r.json()
    assert {
        k: result[k] for k in ("decisionModelRef", "decisionModelVariantRef", "decisionModelVariantRevision", "error")
    } == {
        "decisionModelRef": "banner_offer",
        "decisionModelVariantRef": "tier_by_cart",
        "decisionModelVariantRevision": "1",
        "error": False,
    }
    nodes = {n["id"]: n for n in result["decisionModelResultNodes"]}
    assert list(nodes) == ["tier", "cart", "offer_table", "headline", "offer"]
    assert nodes["offer_table"]["outputs"] == [{"code": "GOLD20", "discountPercent": 20}]
    assert nodes["offer_table"]["matchedRules"] == [2, 3, 5]
    assert nodes["offer_table"]["dependentNodes"] == ["headline", "offer"]
    assert nodes["tier"]["outputs"] == [{"value": "gold"}]
    assert all(isinstance(n["executionTime"], float) for n in nodes.values())
    assert result["outputs"]["offer"]["headline"] == "20 % off with code GOLD20"


async def test_without_a_variant_runs_the_visitors_production_variant(client: httpx.AsyncClient) -> None:
    body = {"context": {"browserId": "b-1", "params": {}}, "decisionModelRef": "banner_offer"}
    result = (await client.post("/v2/testDecisionModel", json=body, headers=TOKEN)).json()
    assert result["decisionModelVariantRef"] == "tier_by_cart"
    assert result["debug"]["bucket"].isdigit()


@pytest.mark.parametrize(
    ("body", "headers", "status", "field"),
    [
        ({"decisionModelRef": "banner_offer"}, {}, 401, "Authorization"),
        ({"decisionModelRef": "nope"}, TOKEN, 404, "decisionModelRef"),
        ({"decisionModelRef": "banner_offer", "decisionModelVariantRef": "v9"}, TOKEN, 404, "decisionModelVariantRef"),
        ({"context": {"params": []}, "decisionModelRef": "banner_offer"}, TOKEN, 400, "context.params"),
        ({}, TOKEN, 400, "decisionModelRef"),
        ({"decisionModelRef": "banner_offer", "clientKey": "wrong"}, TOKEN, 401, "clientKey"),
    ],
)
async def test_errors(
    client: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str], status: int, field: str
) -> None:
    r = await client.post("/v2/testDecisionModel", json=body, headers=headers)
    assert (r.status_code, r.json()["field"]) == (status, field)


async def test_a_table_violation_is_reported_not_raised(client: httpx.AsyncClient) -> None:
    body = {
        "context": {"params": {"loyalty": {"tier": "gold"}}},
        "decisionModelRef": "banner_offer",
        "decisionModelVariantRef": "generous_gold",
    }
    result = (await client.post("/v2/testDecisionModel", json=body, headers=TOKEN)).json()
    assert result["error"] is False  # generous_gold's rules do not overlap
    assert result["outputs"] == {"offer": {"code": "GOLD20", "discountPercent": 20}}


def test_cli_prints_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test-model", "banner_offer", "--input", "loyalty.tier=platinum"]) == 0
    out = capsys.readouterr().out
    assert "model banner_offer / variant tier_by_cart (production, revision 1)" in out
    assert "rules [1, 5] matched" in out
    assert (
        'outputs: {"offer": {"code": "PLAT25", "discountPercent": 25, "headline": "25 % off with code PLAT25"}}' in out
    )


def test_cli_json_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["test-model", "banner_offer", "--variant", "generous_gold", "--json", "--input", "request.channel=APP"])
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["decisionModelVariantStatus"] == "test"
    assert main(["test-model", "nope"]) == 2
    assert "no decision model 'nope'" in capsys.readouterr().err


async def test_a_number_sent_as_a_string_is_read_as_a_number(client: httpx.AsyncClient) -> None:
    """Engage flattens params and forms send strings: "200" in a number input is 200, and the trace says so."""
    body = {
        "context": {"params": {"loyalty": {"tier": "bronze"}, "cartValue": "200"}},
        "decisionModelRef": "banner_offer",
        "decisionModelVariantRef": "tier_by_cart",
    }
    result = (await client.post("/v2/testDecisionModel", json=body, headers=TOKEN)).json()
    nodes = {n["id"]: n for n in result["decisionModelResultNodes"]}
    assert result["outputs"]["offer"]["code"] == "BIGCART15"
    assert nodes["cart"]["outputs"] == [{"value": 200}]
    params = {"loyalty": {"tier": "bronze"}, "cartValue": "200"}
    call = {"clientKey": "demo", "friendlyId": "home_banner", "browserId": "b-2", "params": params}
    trace = (await client.post("/v2/callFlows/explain", json=call, headers=TOKEN)).json()["trace"]
    assert trace["variant"] != "control"  # b-2 is bucketed into a variant that runs banner_offer
    cart = [n for m in trace["steps"][-1]["models"] for n in m["nodes"] if n["id"] == "cart"]
    assert cart[0]["coerced"] == "the string '200' was read as a number"


async def test_a_model_sees_the_same_roots_under_test_as_under_callflows(write_config: Any) -> None:
    """One context builder: request.friendlyId (missing under the test endpoint before) and request.variants."""
    from service.app import create_app
    from service.config import load_runtime
    from tests.conftest import app_client

    path = write_config(
        """
        management: {tokens: [t]}
        projects: [{id: p, clientKey: k}]
        decisionModels:
          - id: echo
            variants:
              - id: v
                status: production
                weight: 10000
                nodes:
                  - {id: fid, kind: input, source: request.friendlyId, type: string}
                  - {id: pages, kind: input, source: request.variants, type: list}
                  - {id: out, kind: output, fields: {fid: fid, pages: pages}}
        experiences:
          - friendlyId: home
            status: active
            type: segmented
            variants: [{id: v, decisionModels: [echo], response: "${decisions.echo.out}"}]
        """
    )
    async with app_client(create_app(load_runtime(path, env={}))) as c:
        called = await c.post("/v2/callFlows", json={"clientKey": "k", "friendlyId": "home", "variants": ["a"]})
        context = {"friendlyId": "home", "variants": ["a"]}
        tested = await c.post(
            "/v2/testDecisionModel",
            json={"context": context, "decisionModelRef": "echo"},
            headers={"Authorization": "Bearer t"},
        )
    assert called.json() == tested.json()["outputs"]["out"] == {"fid": "home", "pages": ["a"]}
