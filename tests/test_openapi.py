"""/openapi.json describes every route; schemathesis drives the running demo service from it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from service.app import create_app, route_methods
from service.config import load_runtime
from service.sitecore.body import CallFlowBody
from tests.conftest import app_client
from tests.servers.process import serve_process, stop


async def test_the_document_describes_the_served_routes_with_their_bodies() -> None:
    app = create_app(load_runtime(env={}))
    async with app_client(app) as client:
        spec = (await client.get("/openapi.json")).json()
    described = {(m, p) for p, ops in spec["paths"].items() for m in ops}
    assert described == set(route_methods(list(app.routes)))  # type: ignore[arg-type]
    body = spec["paths"]["/v2/callFlows"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/CallFlowBody"}
    model = CallFlowBody.model_json_schema(ref_template="#/components/schemas/{model}")
    assert spec["components"]["schemas"]["CallFlowBody"]["properties"] == model["properties"]
    assert spec["openapi"] == "3.1.0"


@pytest.fixture(scope="module")
def served_demo() -> Iterator[str]:
    proc, base = serve_process("--no-access-log")
    yield base
    stop(proc)


def check(case: Any, failures: list[str]) -> None:
    response = case.call(timeout=10)
    where = f"{case.method.upper()} {case.formatted_path}"
    if response.status_code >= 500:
        failures.append(f"{where}: {response.status_code} {response.text[:300]}")
    elif response.status_code >= 400:
        try:
            body = json.loads(response.text)
        except ValueError:
            failures.append(f"{where}: {response.status_code} without a JSON body")
            return
        if not isinstance(body, dict) or not any(
            k in body for k in ("developerMessage", "error_msg", "error_message", "error", "message")
        ):
            failures.append(f"{where}: {response.status_code} {response.text[:300]}")


@pytest.mark.slow
def test_no_generated_request_makes_the_running_demo_fail(served_demo: str) -> None:
    """schemathesis, bounded: 15 generated requests an operation; no 5xx, every 4xx a JSON error body."""
    schema = schemathesis.openapi.from_url(f"{served_demo}/openapi.json")
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 25
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: Any) -> None:
            check(case, failures)

        run()
    assert not failures, "\n".join(failures[:20])
