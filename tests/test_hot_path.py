"""The hot path answers the SDKs' callFlows routes, Contentstack's manifest and the ingestion routes of the
three dialects exactly as Starlette's routing and middleware would."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from service.app import ServiceApp, create_app
from service.config import load_runtime
from service.http.errors import Dialect
from service.sitecore.callflows import InteractiveApi
from tests.conftest import app_client

VARYING = {"x-decision-id", "server-timing", "content-length"}
BODIES: list[tuple[str, dict[str, str], Any]] = [
    ("/v2/callFlows", {}, {"clientKey": "demo", "friendlyId": "home_banner", "browserId": "b-1"}),
    ("/v2/callFlows", {"Origin": "https://shop.example"}, {"clientKey": "demo", "friendlyId": "loyalty_offer"}),
    ("/v1/personalize?sitecoreContextId=demo", {}, {"friendlyId": "promo_*", "currencyCode": "usd"}),
    ("/personalize/v2/callFlows?sitecoreContextId=nope", {}, {"friendlyId": "x"}),  # 401
    ("/v2/callFlows", {}, {"clientKey": "demo", "friendlyId": 5}),  # 400
    ("/v2/callFlows", {}, {"clientKey": "demo", "friendlyId": "missing"}),  # 200 {}
    ("GET /manifest", {"x-project-uid": "demo", "x-cs-personalize-user-uid": "u-1"}, None),
    ("GET /manifest?tags[]=x", {"x-project-uid": "demo", "Origin": "https://shop.example"}, None),  # uid minted
    ("GET /manifest", {"x-project-uid": "nope"}, None),  # 404 in Contentstack's shape
    ("GET /manifest?" + "&".join(f"tags[]={n}" for n in range(11)), {"x-project-uid": "demo"}, None),  # 400
    ("/v1.2/events", {}, {"type": "VIEW", "browser_id": "b-1", "client_key": "demo", "channel": "WEB"}),
    ("/v1/events/v1.2/events?sitecoreContextId=demo", {"Origin": "https://shop.example"}, {"type": "VIEW"}),  # 400
    ("/v1.2/events", {}, {"type": "VIEW", "browser_id": "b-1", "client_key": "nope"}),  # 401
    ("/v1/track", {}, {"writeKey": "demo", "userId": "u-1", "event": "Signed Up", "messageId": "m-1"}),
    ("/v1/b", {}, {"writeKey": "demo", "batch": [{"type": "page", "anonymousId": "a-1"}, {"type": 5}]}),
    ("/v1/t", {}, {"writeKey": "nope", "userId": "u-1", "event": "x"}),  # 401 in Segment's shape
    ("/events", {"x-project-uid": "demo", "x-cs-personalize-user-uid": "u-1"}, [{"type": "EVENT", "eventKey": "k"}]),
    ("PATCH /user-attributes", {"x-project-uid": "demo", "x-cs-personalize-user-uid": "u-1"}, {"plan": "gold"}),
    ("/user-attributes/actions/merge", {"x-project-uid": "demo"}, {"sourceUserUid": "u-2"}),  # 400
]
RANDOM = {"ref", "customer_ref"}  # minted per answer: compared by presence, not value


async def answers(app: Starlette, path: str, headers: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
    method, _, path = path.rpartition(" ")
    async with app_client(app) as client:
        r = await client.request(method or "POST", path, json=body, headers=headers)
    kept = {k: v for k, v in r.headers.items() if k not in VARYING | {"x-cs-personalize-user-uid"}}
    content: Any = r.content
    if r.headers.get("content-type", "").startswith("application/json"):
        content = r.json()
    if isinstance(content, dict):
        content = {k: "<minted>" if k in RANDOM else v for k, v in content.items()}
    return r.status_code, content, kept


@pytest.mark.parametrize(("path", "headers", "body"), BODIES)
async def test_same_answer_with_and_without_the_hot_path(path: str, headers: dict[str, str], body: Any) -> None:
    hot = create_app(load_runtime(env={}))
    assert isinstance(hot, ServiceApp) and hot.hot_path is not None
    segment = {f"/v1/{kind}" for kind in ("track", "identify", "page", "screen", "group", "alias", "batch")}
    assert set(hot.hot_path.handlers) == {
        ("POST", "/v1/personalize"),
        ("POST", "/v2/callFlows"),
        ("POST", "/personalize/v2/callFlows"),
        ("GET", "/manifest"),
        ("POST", "/v1.2/events"),
        ("POST", "/v1/events/v1.2/events"),
        *(("POST", path) for path in segment | {"/v1/t", "/v1/i", "/v1/p", "/v1/s", "/v1/g", "/v1/a", "/v1/b"}),
        ("POST", "/events"),
        ("PATCH", "/user-attributes"),
        ("POST", "/user-attributes/actions/merge"),
    }
    plain = create_app(load_runtime(env={}))
    plain.hot_path = None  # type: ignore[attr-defined]
    assert await answers(hot, path, headers, body) == await answers(plain, path, headers, body)


async def test_other_methods_and_preflights_go_through_routing(client: httpx.AsyncClient) -> None:
    r = await client.get("/v2/callFlows")
    assert r.status_code == 405 and r.json()["status"] == 405
    r = await client.options(
        "/v2/callFlows", headers={"Origin": "https://a.example", "Access-Control-Request-Method": "POST"}
    )
    assert r.status_code == 204 and r.headers["access-control-allow-origin"] == "https://a.example"


async def test_a_bug_is_a_logged_500_in_the_callflows_shape(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(self: InteractiveApi, scope: Any, receive: Any) -> Any:
        raise RuntimeError("a bug")

    app = create_app(load_runtime(env={}))
    assert isinstance(app, ServiceApp) and app.hot_path is not None
    handler = (lambda scope, receive: broken(None, scope, receive), Dialect.SITECORE)  # type: ignore[arg-type]
    monkeypatch.setitem(app.hot_path.handlers, ("POST", "/v2/callFlows"), handler)
    async with app_client(app) as c:
        r = await c.post("/v2/callFlows", json={"clientKey": "demo", "friendlyId": "home_banner"})
    assert r.status_code == 500 and r.json()["developerMessage"].startswith("internal error")
    assert r.headers["x-decision-id"] in caplog.text and "RuntimeError: a bug" in caplog.text
