"""Whatever a client sends, callFlows never answers 5xx, and every 4xx is a JSON error naming a field."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.app import create_app
from service.config import load_runtime
from service.metrics import Metrics

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
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
bodies = st.fixed_dictionaries(
    {"clientKey": st.sampled_from(["demo", "", "nope"])},
    optional={name: json_values for name in FIELDS[1:]}
    | {"friendlyId": st.sampled_from(["home_banner", "loyalty_offer", "promo_*", "x", "", "*"]) | st.text(max_size=10)},
)


async def _post(body: bytes, path: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=APP), base_url="http://t") as client:
        return await client.post(path, content=body)


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
        ]
    ),
)
def test_structured_bodies_never_5xx(body: dict[str, Any], path: str) -> None:
    check(asyncio.run(_post(json.dumps(body).encode(), path)))


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes_never_5xx(raw: bytes) -> None:
    check(asyncio.run(_post(raw, "/v2/callFlows")))
