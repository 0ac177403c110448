"""Values a client can send that the condition engine cannot hold: numbers outside 64 bits, wrong types.

Each was a 500 with a traceback before; now an audience that cannot evaluate is a defined false with the
reason in the trace, and a model expression that cannot evaluate is its node's failure (its default).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

TOKEN = {"Authorization": "Bearer demo-management-token"}
HUGE = [10**30, 2**64, -(2**63) - 1, -(10**400), 10**400]


LOYALTY = '{"clientKey":"demo","friendlyId":"loyalty_offer","params":{"n":%d,"loyalty":{"tier":"gold"}}}'


ROUTES = ["/v2/callFlows", "/v1/personalize?sitecoreContextId=demo", "/personalize/v2/callFlows"]


@pytest.mark.parametrize("number", HUGE)
@pytest.mark.parametrize("path", ROUTES)
async def test_numbers_outside_64_bits_are_decided(client: httpx.AsyncClient, path: str, number: int) -> None:
    r = await client.post(path, content=LOYALTY % number)
    assert r.status_code == 200, r.text
    assert r.headers["X-Personalize-Outcome"] == "variant"  # the audience still matched


async def test_a_big_number_compares_as_a_number(client: httpx.AsyncClient) -> None:
    body = '{"clientKey":"demo","friendlyId":"home_banner","browserId":"b","params":{"cartValue":' + str(10**30) + "}}"
    r = await client.post("/v2/callFlows/explain", content=body, headers=TOKEN)
    assert r.status_code == 200, r.text
    if r.json()["trace"]["variant"] != "control":  # the table's `>= 150` rule reads the widened number
        assert r.json()["response"]["offer"]["code"] == "BIGCART15"


async def test_an_audience_that_cannot_evaluate_is_false_with_its_reason(write_config: Any) -> None:
    from service.app import create_app
    from service.config import load_runtime
    from service.http.metrics import Metrics
    from tests.conftest import app_client

    path = write_config(
        """
        management: {tokens: [t]}
        projects: [{id: p, clientKey: k}]
        audiences:
          - {id: big_spenders, rule: {">": [{"var": "params.spend"}, 100]}}
        experiences:
          - friendlyId: x
            status: active
            type: segmented
            fallback: {who: nobody}
            variants:
              - {id: big, audience: big_spenders, response: {who: big}}
        """
    )
    async with app_client(create_app(load_runtime(path, env={}), Metrics())) as c:
        body = {"clientKey": "k", "friendlyId": "x", "params": {"spend": {"a": 1}}}
        r = await c.post("/v2/callFlows/explain", json=body, headers={"Authorization": "Bearer t"})
        assert r.status_code == 200, r.text
        assert r.json()["response"] == {"who": "nobody"}
        tried = next(s for s in r.json()["trace"]["steps"] if s["step"] == "segment")["tried"]
        assert tried[0]["matched"] is False
        assert tried[0]["error"].startswith("could not evaluate")
        raw = '{"clientKey":"k","friendlyId":"x","params":{"spend":' + str(10**40) + "}}"
        r = await c.post("/v2/callFlows", content=raw)
        assert r.json() == {"who": "big"}


@pytest.mark.parametrize("number", HUGE[:3])
async def test_test_decision_model_with_big_numbers(client: httpx.AsyncClient, number: int) -> None:
    body = '{"context": {"params": {"loyalty": {"tier": "gold"}, "cartValue": %d}}, "decisionModelRef": "banner_offer"}'
    r = await client.post("/v2/testDecisionModel", content=body % number, headers=TOKEN)
    assert r.status_code == 200, r.text
    assert r.json()["error"] is False


async def test_jss_page_personalization_reads_variant_id(client: httpx.AsyncClient) -> None:
    """JSS 21.x / Content SDK: callFlows with the page's variant ids; the answer names one in `variantId`."""
    body = {
        "clientKey": "demo",
        "friendlyId": "embedded_home_en",
        "browserId": "b-jss",
        "channel": "WEB",
        "language": "EN",
        "variants": ["home_gold", "home_silver"],
        "params": {"loyalty": {"tier": "gold"}},
    }
    r = await client.post("/v2/callFlows", json=body)
    assert r.json() == {"variantId": "home_gold"} and r.json()["variantId"] in body["variants"]
    r = await client.post("/v2/callFlows", json={**body, "params": {}})
    assert r.json() == {"variantId": ""}  # no variant: JSS shows the default page
