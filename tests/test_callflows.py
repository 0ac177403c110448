"""The callFlows family over HTTP, with the reference's request bodies verbatim."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from service.sitecore.callflows import server_timing

TOKEN = {"Authorization": "Bearer test-token"}

# The request bodies of the clients in docs/wire-formats.md, verbatim as each client sends them.
DIRECT_BODY = b"""{
  "clientKey": "abBah8aelipaPeebae7roox2tiexoSee",
  "channel": "WEB",
  "language": "en",
  "currencyCode": "EUR",
  "pointOfSale": "myretailsite/ireland",
  "browserId": "a38b230c-11eb-4cf9-8d5d-274e9f344925",
  "friendlyId": "home_page_banner",
  "params": { "any": "custom JSON" }
}"""
# Section 4.1: what the Cloud SDK 0.6.1 sends from a browser, verbatim.
CLOUD_SDK_BODY = (
    b'{"channel":"WEB","clientKey":"","currencyCode":"EUR","friendlyId":"home_banner","guestRef":"G",'
    b'"language":"EN","params":{"utm":{"source":"google","campaign":"x"}},"pointOfSale":"","browserId":"B"}'
)
SDK_HEADERS = {
    "Content-Type": "application/json",
    "X-Library-Version": "0.6.1",
    "x-sc-correlation-id": "3f2c0a1b2c3d4e5f60718293a4b5c6d7",
}


async def post(client: httpx.AsyncClient, url: str, body: bytes | dict[str, Any], **headers: str) -> httpx.Response:
    if isinstance(body, dict):
        return await client.post(url, json=body, headers=headers)
    return await client.post(url, content=body, headers={"Content-Type": "application/json", **headers})


async def test_direct_api_body(ref_client: httpx.AsyncClient) -> None:
    r = await post(ref_client, "/v2/callFlows", DIRECT_BODY)
    assert r.status_code == 200
    assert r.json() == {"echo": "custom JSON", "language": "EN", "currency": "EUR"}
    assert r.headers["x-personalize-outcome"] == "variant"
    assert r.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("/v1/personalize?sitecoreContextId=CTX&siteId=SITE", SDK_HEADERS),  # Cloud SDK 0.2.x-0.6.1
        ("/v1/personalize?siteId=SITE", {**SDK_HEADERS, "x-sitecore-contextid": "CTX", "X-Library-Version": "2.1.0"}),
        ("/personalize/v2/callFlows?sitecoreContextId=CTX&siteId=SITE", SDK_HEADERS),  # Cloud SDK 0.1.x
    ],
)
async def test_edge_sdk_bodies(ref_client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> None:
    r = await ref_client.post(url, content=CLOUD_SDK_BODY, headers=headers)
    assert r.status_code == 200
    assert r.content == b'{"title":"from google","campaign":"x"}'  # the template's JSON, no envelope
    assert r.headers["x-sc-correlation-id"] == SDK_HEADERS["x-sc-correlation-id"]


async def test_every_response_has_timing_and_decision_id(ref_client: httpx.AsyncClient) -> None:
    r = await ref_client.post("/v1/personalize?sitecoreContextId=CTX", content=CLOUD_SDK_BODY)
    phases = [part.split(";")[0] for part in r.headers["server-timing"].split(", ")]
    assert phases == ["parse", "audience", "bucketing", "render"]
    assert len(r.headers["x-decision-id"]) == 24
    other = await ref_client.post("/v1/personalize?sitecoreContextId=CTX", content=CLOUD_SDK_BODY)
    assert other.headers["x-decision-id"] != r.headers["x-decision-id"]
    assert other.content == r.content  # bodies are deterministic; ids live in headers


async def test_server_side_sdk_call_without_cookies_or_language(ref_client: httpx.AsyncClient) -> None:
    body = {
        "channel": "WEB",
        "clientKey": "",
        "currencyCode": "EUR",
        "friendlyId": "home_banner",
        "guestRef": "",
        "pointOfSale": "",
        "browserId": "",
    }
    r = await post(ref_client, "/v1/personalize?sitecoreContextId=CTX", body)
    assert r.json() == {"title": "for everyone", "channel": "WEB"}


async def test_engage_flattened_params_and_identifiers(ref_client: httpx.AsyncClient) -> None:
    body = {
        "channel": "web",
        "clientKey": "abBah8aelipaPeebae7roox2tiexoSee",
        "currency": "eur",
        "email": "ana@example.com",
        "friendlyId": "home_banner",
        "identifiers": {"id": "123456", "provider": "BXLP"},
        "language": "en",
        "params": {"loyalty_tier": "gold"},
        "pointOfSale": "myretailsite/ireland",
    }
    r = await post(ref_client, "/v2/callFlows", body)
    assert r.json() == {"title": "gold"}


async def test_channel_defaults_to_web_and_is_case_insensitive(ref_client: httpx.AsyncClient) -> None:
    r = await post(
        ref_client,
        "/v2/callFlows",
        {"clientKey": "abBah8aelipaPeebae7roox2tiexoSee", "friendlyId": "home_banner", "channel": "mobile_app"},
    )
    assert r.json() == {"title": "for everyone", "channel": "MOBILE_APP"}


async def test_headers_are_readable_by_audiences(ref_client: httpx.AsyncClient) -> None:
    r = await ref_client.post(
        "/v2/callFlows",
        json={"clientKey": "abBah8aelipaPeebae7roox2tiexoSee", "friendlyId": "home_banner"},
        headers={"User-Agent": "curl/8"},
    )
    assert r.json() == {"title": "curl"}


async def test_page_variants_reach_the_template(ref_client: httpx.AsyncClient) -> None:
    body = {"clientKey": "", "friendlyId": "page_variants", "variants": ["pv-1", "pv-2"], "browserId": "B"}
    r = await post(ref_client, "/v1/personalize?sitecoreContextId=CTX", body)
    assert r.json() == {"variantId": "pv-1"}


async def test_legacy_flow_ref_path_and_context_wrapper(ref_client: httpx.AsyncClient) -> None:
    r = await post(
        ref_client,
        "/v2/callFlows/home_banner",
        {"channel": "WEB", "browserId": "b1", "clientKey": "abBah8aelipaPeebae7roox2tiexoSee", "pointOfSale": "x"},
    )
    assert r.json() == {"title": "for everyone", "channel": "WEB"}
    wrapped = {
        "context": {
            "browserId": "b1",
            "clientKey": "abBah8aelipaPeebae7roox2tiexoSee",
            "channel": "MOBILE_WEB",
            "language": "en",
            "currencyCode": "EUR",
            "uri": "/",
            "region": "ie",
            "pointOfSale": "x",
            "friendlyId": "home_banner",
        }
    }
    r = await post(ref_client, "/v2/callFlows", wrapped)
    assert r.json() == {"title": "for everyone", "channel": "MOBILE_WEB"}


async def test_get_audience_legacy_jss(ref_client: httpx.AsyncClient) -> None:
    body = {
        "clientKey": "abBah8aelipaPeebae7roox2tiexoSee",
        "pointOfSale": "x",
        "browserId": "B",
        "timeout": 400,
        "context": {
            "geo": {"city": "Dublin", "country": "IE", "latitude": 1, "longitude": 2, "region": "L"},
            "referrer": "https://google.com",
            "ua": "Mozilla",
            "utm": {"utm_campaign": "c", "utm_source": "google"},
        },
    }
    r = await post(ref_client, "/v2/callFlows/getAudience/home_banner", body)
    assert r.json() == {"variantId": "everyone", "browserId": "B"}
    r = await post(ref_client, "/v2/callFlows/getAudience/ab_test", {**body, "browserId": "visitor-2"})
    assert set(r.json()) == {"variantId", "browserId"}
    assert r.json()["variantId"] in {"a", ""}
    r = await post(ref_client, "/v2/callFlows/getAudience/nope", body)
    assert r.json() == {"variantId": "", "browserId": "B"}


async def test_ab_control_is_sticky_and_returns_fallback(ref_client: httpx.AsyncClient) -> None:
    bodies = {}
    for i in range(40):
        body = {"clientKey": "abBah8aelipaPeebae7roox2tiexoSee", "friendlyId": "ab_test", "browserId": f"v{i}"}
        first, again = await post(ref_client, "/v2/callFlows", body), await post(ref_client, "/v2/callFlows", body)
        assert first.content == again.content
        bodies[first.headers["x-personalize-outcome"]] = first.json()
    assert bodies == {"variant": {"title": "a"}, "control": {"title": "control"}}


@pytest.mark.parametrize(
    ("friendly_id", "outcome"),
    [("nope", "not_found"), ("home_page_banner", "targeting_miss"), ("zzz*", "not_found")],
)
async def test_misses_are_200_empty_with_outcome(ref_client: httpx.AsyncClient, friendly_id: str, outcome: str) -> None:
    r = await post(
        ref_client,
        "/v2/callFlows",
        {"clientKey": "abBah8aelipaPeebae7roox2tiexoSee", "friendlyId": friendly_id, "pointOfSale": ""},
    )
    assert (r.status_code, r.content, r.headers["x-personalize-outcome"]) == (200, b"{}", outcome)


async def test_trailing_star(ref_client: httpx.AsyncClient) -> None:
    r = await post(
        ref_client, "/v2/callFlows", {"clientKey": "abBah8aelipaPeebae7roox2tiexoSee", "friendlyId": "home_*"}
    )
    assert r.headers["x-personalize-experience"] == "home_banner"  # home_page_banner sorts later
    r = await post(
        ref_client,
        "/v2/callFlows",
        {
            "clientKey": "abBah8aelipaPeebae7roox2tiexoSee",
            "friendlyId": "home_p*",
            "pointOfSale": "myretailsite/ireland",
            "params": {"any": 1},
        },
    )
    assert r.json()["echo"] == 1


async def test_deadline_fallback_over_http(ref_client: httpx.AsyncClient) -> None:
    r = await post(
        ref_client, "/v2/callFlows", {"clientKey": "abBah8aelipaPeebae7roox2tiexoSee", "friendlyId": "slow_one"}
    )
    assert (r.status_code, r.json(), r.headers["x-personalize-outcome"]) == (
        200,
        {"title": "fast fallback"},
        "fallback",
    )
    assert "decision;dur=" in r.headers["server-timing"]


async def test_projects_are_isolated(ref_client: httpx.AsyncClient) -> None:
    r = await post(
        ref_client, "/v2/callFlows", {"clientKey": "abBah8aelipaPeebae7roox2tiexoSee", "friendlyId": "secret_only"}
    )
    assert r.content == b"{}"
    r = await post(
        ref_client, "/v1/personalize?sitecoreContextId=OTHER", {"clientKey": "", "friendlyId": "secret_only"}
    )
    assert r.json() == {"title": "other project"}


# --- errors -------------------------------------------------------------------------------------------------


def assert_error(r: httpx.Response, status: int, field: str | None, text: str) -> None:
    assert r.status_code == status
    body = r.json()
    assert set(body) >= {"status", "code", "message", "developerMessage", "moreInfo", "moreInfoUrl"}
    assert body["status"] == body["code"] == status
    assert text in body["developerMessage"]
    if field is not None:
        assert body["field"] == field


@pytest.mark.parametrize(
    ("body", "field", "text"),
    [
        (b'{"clientKey": "abBah8aelipaPeebae7roox2tiexoSee", "friendlyId": ', "(body)", "malformed JSON"),
        (b"[1, 2]", "(body)", "must be a JSON object"),
        (b'{"clientKey": 5, "friendlyId": "x"}', "clientKey", "clientKey: Input should be a valid string"),
        (
            b'{"clientKey": "abBah8aelipaPeebae7roox2tiexoSee", "friendlyId": "x", "params": "a=b"}',
            "params",
            "params: Input should be an object",
        ),
        (
            b'{"clientKey": "abBah8aelipaPeebae7roox2tiexoSee", "friendlyId": "x", "identifiers": {"id": 1}}',
            "identifiers.id",
            "Input should be a valid string",
        ),
        (
            b'{"clientKey": "abBah8aelipaPeebae7roox2tiexoSee", "friendlyId": "x", "timeout": -5}',
            "timeout",
            "greater than or equal to 0",
        ),
        (b'{"clientKey": "abBah8aelipaPeebae7roox2tiexoSee"}', "friendlyId", "friendlyId is required"),
        (b'{"clientKey": "abBah8aelipaPeebae7roox2tiexoSee", "friendlyId": "Home-Banner"}', "friendlyId", "must match"),
        (b'\xff\xfe{"a": 1}', "(body)", "malformed JSON"),
    ],
)
async def test_bad_bodies_are_400_naming_the_field(
    ref_client: httpx.AsyncClient, body: bytes, field: str, text: str
) -> None:
    assert_error(await post(ref_client, "/v2/callFlows", body), 400, field, text)


async def test_unknown_project_is_401(ref_client: httpx.AsyncClient) -> None:
    assert_error(
        await post(ref_client, "/v2/callFlows", {"clientKey": "wrong", "friendlyId": "x"}),
        401,
        "clientKey",
        "unknown clientKey",
    )
    assert_error(
        await post(ref_client, "/v2/callFlows", {"clientKey": "", "friendlyId": "x"}),
        401,
        "clientKey",
        "clientKey is required",
    )
    assert_error(
        await post(ref_client, "/v1/personalize?sitecoreContextId=nope", {"friendlyId": "x"}),
        401,
        "sitecoreContextId",
        "unknown sitecoreContextId",
    )


async def test_body_over_the_limit_is_413(ref_client: httpx.AsyncClient) -> None:
    big = {"clientKey": "abBah8aelipaPeebae7roox2tiexoSee", "friendlyId": "x", "params": {"p": "x" * 5000}}
    assert_error(await post(ref_client, "/v2/callFlows", big), 413, "(body)", "exceeds the limit of 4096 bytes")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while streaming
        for _ in range(10):
            yield b" " * 1000

    r = await ref_client.post("/v2/callFlows", content=chunks())
    assert_error(r, 413, "(body)", "exceeds the limit")


async def test_unknown_route_and_method_are_json(ref_client: httpx.AsyncClient) -> None:
    assert_error(await ref_client.get("/v3/nothing"), 404, None, "Not Found")
    assert_error(await ref_client.get("/v2/callFlows"), 405, None, "Method Not Allowed")


# --- preview and explain -----------------------------------------------------------------------------------

BANNER = {"clientKey": "abBah8aelipaPeebae7roox2tiexoSee", "friendlyId": "home_banner", "browserId": "B"}


async def test_preview_needs_the_management_token(ref_client: httpx.AsyncClient) -> None:
    r = await post(ref_client, "/v2/callFlows", BANNER, **{"X-Personalize-Preview": "draft"})
    assert_error(r, 401, "Authorization", "management bearer token is required")
    r = await post(ref_client, "/v2/callFlows?preview=draft", BANNER, Authorization="Bearer wrong")
    assert_error(r, 401, "Authorization", "not valid")
    r = await post(ref_client, "/v2/callFlows", BANNER, **{"X-Personalize-Preview": "draft"}, **TOKEN)
    assert r.json() == {"title": "draft"}
    r = await post(ref_client, "/v2/callFlows", BANNER)
    assert r.json() == {"title": "for everyone", "channel": "WEB"}


async def test_explain(ref_client: httpx.AsyncClient) -> None:
    assert (await post(ref_client, "/v2/callFlows/explain", BANNER)).status_code == 401
    r = await post(ref_client, "/v2/callFlows/explain", {**BANNER, "params": {"loyalty": {"tier": "gold"}}}, **TOKEN)
    assert r.status_code == 200
    body = r.json()
    assert body["response"] == {"title": "gold"}
    trace = body["trace"]
    assert (trace["project"], trace["experience"], trace["version"], trace["variant"]) == (
        "reference",
        "home_banner",
        "live",
        "gold_v",
    )
    segment = next(s for s in trace["steps"] if s["step"] == "segment")
    assert segment["tried"] == [
        {"variant": "google", "audience": "from_google", "matched": False},
        {"variant": "gold_v", "audience": "gold", "matched": True},
    ]
    assert set(trace["timingsMs"]) == {"parse", "audience", "bucketing", "render"}
    assert "test-token" not in r.text


async def test_explain_shows_fallback_reason(ref_client: httpx.AsyncClient) -> None:
    r = await post(ref_client, "/v2/callFlows/explain", {**BANNER, "friendlyId": "slow_one"}, **TOKEN)
    trace = r.json()["trace"]
    assert trace["outcome"] == "fallback"
    assert trace["steps"][-1]["step"] == "fallback"
    assert "did not return within" in trace["steps"][-1]["reason"]


async def test_explain_shows_every_model_node(client: httpx.AsyncClient) -> None:
    body = {
        "clientKey": "demo",
        "friendlyId": "home_banner",
        "browserId": "visitor-1",
        "params": {"loyalty": {"tier": "gold"}, "cartValue": 120},
    }
    r = await post(client, "/v2/callFlows/explain", body, Authorization="Bearer demo-management-token")
    trace = r.json()["trace"]
    step = next(s for s in trace["steps"] if s["step"] == "decisionModels")
    [run] = step["models"]
    assert (run["model"], run["variant"], run["status"]) == ("banner_offer", "tier_by_cart", "production")
    nodes = {n["id"]: n for n in run["nodes"]}
    assert nodes["offer_table"]["matchedRules"] == [2, 3, 5]
    assert nodes["offer_table"]["output"] == {"code": "GOLD20", "discountPercent": 20}
    assert nodes["headline"]["output"] == "20 % off with code GOLD20"
    assert all(isinstance(n["ms"], float) for n in nodes.values())
    assert "decision" in trace["timingsMs"]


async def test_shadow_runs_are_counted_never_returned(client: httpx.AsyncClient) -> None:
    from decision_models import bucket

    shadowed = [f"v{i}" for i in range(200) if bucket("shadow:banner_offer", f"v{i}") < 1000]
    assert shadowed
    for key in shadowed[:3]:
        r = await post(
            client,
            "/v2/callFlows",
            {
                "clientKey": "demo",
                "friendlyId": "home_banner",
                "browserId": key,
                "params": {"loyalty": {"tier": "gold"}},
            },
        )
        if r.headers["x-personalize-outcome"] == "variant":
            assert r.json()["offer"]["code"] == "MEMBER10"  # production's answer, not the candidate's GOLD20
    text = (await client.get("/metrics")).text
    assert (
        'personalize_decision_model_runs_total{model="banner_offer",outcome="ok",status="test",variant="generous_gold"}'
        in text
    )


def test_server_timing_names_each_phase_in_milliseconds() -> None:
    assert server_timing(0.0512, {"audience": 0.0071, "render": 1.23456}) == (
        b"parse;dur=0.051, audience;dur=0.007, render;dur=1.235"
    )
    assert server_timing(2.0, {}) == b"parse;dur=2.000"
    assert server_timing(0.5, {"audience": 0.25, "bucketing": 0.0, "decision": 10.0005, "render": 0.1}) == (
        b"parse;dur=0.500, audience;dur=0.250, bucketing;dur=0.000, decision;dur=10.001, render;dur=0.100"
    )
