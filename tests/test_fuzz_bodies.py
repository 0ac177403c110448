"""Whatever a client sends, callFlows never answers 5xx, and every 4xx is a JSON error naming a field."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.app import create_app
from service.config import load_runtime
from service.http.metrics import Metrics

pytestmark = pytest.mark.slow

APP = create_app(load_runtime(env={}), Metrics())
FIELDS = [
    "clientKey",
    "friendlyId",
    "channel",
    "language",
    "currencyCode",
    "currency",
    "pointOfSale",
    "browserId",
    "email",
    "identifiers",
    "guestRef",
    "params",
    "variants",
    "timeout",
    "context",
]
TOKEN = {"Authorization": "Bearer demo-management-token"}
# Numbers no 64-bit engine holds: each once answered 500 when an audience read params.
big_numbers = st.sampled_from([10**30, 2**64, 2**63, -(2**63) - 1, 10**400, -(10**400)]) | st.integers(
    min_value=2**63 - 2, max_value=2**80
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | big_numbers | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
bodies = st.fixed_dictionaries(
    {"clientKey": st.sampled_from(["demo", "", "nope"])},
    optional={name: json_values for name in FIELDS[1:]}
    | {"friendlyId": st.sampled_from(["home_banner", "loyalty_offer", "promo_*", "x", "", "*"]) | st.text(max_size=10)},
)


def nested(depth: int, leaf: Any) -> str:
    """`leaf` inside `depth` alternating lists and objects, as JSON text (json.dumps recurses)."""
    opening = "".join("[" if level % 2 else '{"a":' for level in range(depth))
    closing = "".join("]" if level % 2 else "}" for level in reversed(range(depth)))
    return opening + json.dumps(leaf) + closing


async def _post(body: bytes, path: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=APP), base_url="http://t") as client:
        return await client.post(path, content=body, headers=TOKEN)


def check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    body: Any = response.json()
    if response.status_code >= 400:
        assert body["status"] == response.status_code
        assert body["developerMessage"]
        assert "field" in body


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=bodies,
    path=st.sampled_from(
        [
            "/v2/callFlows",
            "/v1/personalize?sitecoreContextId=demo",
            "/v2/callFlows/getAudience/home_banner",
            "/v2/callFlows/home_banner",
            "/personalize/v2/callFlows",
            "/v2/callFlows/explain",
        ]
    ),
)
def test_structured_bodies_never_5xx(body: dict[str, Any], path: str) -> None:
    check(asyncio.run(_post(json.dumps(body).encode(), path)))


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes_never_5xx(raw: bytes) -> None:
    check(asyncio.run(_post(raw, "/v2/callFlows")))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    field=st.sampled_from(FIELDS),
    depth=st.sampled_from([1, 50, 120, 199, 200, 500, 5000]),
    leaf=big_numbers | json_values,
)
def test_deep_nesting_and_big_numbers_in_every_field_never_5xx(field: str, depth: int, leaf: Any) -> None:
    body = {"clientKey": "demo", "friendlyId": "loyalty_offer", "params": {"loyalty": {"tier": "gold"}}}
    body[field] = "@"
    raw = json.dumps(body).replace('"@"', nested(depth, leaf)).encode()
    for path in ("/v2/callFlows", "/v2/callFlows/explain", "/v1/personalize?sitecoreContextId=demo"):
        check(asyncio.run(_post(raw, path)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    context=st.dictionaries(
        st.sampled_from(["channel", "language", "currency", "pointOfSale", "browserId", "params", "guest"]),
        json_values,
    ),
    model=st.sampled_from(["banner_offer", "recs_model", "nope"]) | st.text(max_size=8),
    extra=st.dictionaries(st.sampled_from(["decisionModelVariantRef", "clientKey"]), json_values),
)
def test_test_decision_model_never_5xx(context: dict[str, Any], model: str, extra: dict[str, Any]) -> None:
    body = {"context": context, "decisionModelRef": model, **extra}
    check(asyncio.run(_post(json.dumps(body).encode(), "/v2/testDecisionModel")))


INGESTION = [
    ("POST", "/v1.2/events", {}),
    ("POST", "/v1/events/v1.2/events?sitecoreContextId=demo", {}),
    ("POST", "/v1/batch", {}),
    ("POST", "/v1/track", {"Authorization": "Basic ZGVtbzo="}),
    ("POST", "/events", {"x-project-uid": "demo", "x-cs-personalize-user-uid": "u"}),
    ("PATCH", "/user-attributes", {"x-project-uid": "demo", "x-cs-personalize-user-uid": "u"}),
    ("POST", "/user-attributes/actions/merge", {"x-project-uid": "demo"}),
]
event_like = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["VIEW", "IDENTITY", "track", "identify", "alias", "EVENT", "IMPRESSION"])
        | json_values,
        "browser_id": json_values,
        "client_key": st.sampled_from(["demo", ""]) | json_values,
        "writeKey": st.sampled_from(["demo"]) | json_values,
        "userId": json_values,
        "anonymousId": json_values,
        "previousId": json_values,
        "event": json_values,
        "eventKey": json_values,
        "traits": json_values,
        "identifiers": json_values,
        "email": json_values,
        "batch": st.lists(json_values, max_size=3),
        "sourceUserUid": json_values,
        "targetUserUid": json_values,
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    route=st.sampled_from(INGESTION),
    body=event_like | st.lists(event_like, max_size=3) | json_values | st.binary(max_size=100),
)
def test_ingestion_never_5xx(route: tuple[str, str, dict[str, str]], body: Any) -> None:
    method, path, headers = route

    async def send() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=APP), base_url="http://t") as client:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            return await client.request(method, path, content=raw, headers=headers)

    response = asyncio.run(send())
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert set(response.json()) & {"error_msg", "message", "developerMessage"}
