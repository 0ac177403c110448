"""One declaration per route: the app's routing, the OpenAPI document and the Postman collection are views
of service/routes.py, so they agree by construction; a route added to the table appears in all three."""

from __future__ import annotations

import re
from typing import Any

import pytest

from service import routes
from service.app import create_app, route_methods
from service.cli.postman_export import build_collection, facts
from service.config import load_runtime
from service.http.operations import OperationsApi
from service.http.routing import Example, RouteSpec
from service.openapi import build_openapi
from service.runtime import Runtime


def requests_of(collection: dict[str, Any]) -> list[dict[str, Any]]:
    return [item["request"] for folder in collection["item"] for item in folder["item"] if "request" in item]


def views(runtime: Runtime) -> tuple[set[tuple[str, str]], set[tuple[str, str]], list[tuple[str, str]]]:
    """(method, path) as the app routes them, as OpenAPI describes them, and the Postman requests' URLs."""
    app = create_app(runtime)
    routed = set(route_methods(list(app.routes)))  # type: ignore[arg-type]
    described = {(m, p) for p, ops in build_openapi(routes.served(runtime), "t")["paths"].items() for m in ops}
    sent = [
        (r["method"].lower(), "/" + "/".join(r["url"]["path"]))
        for r in requests_of(build_collection(runtime))
        if isinstance(r["url"], dict)  # the connection replays address their upstream, not the service
    ]
    return routed, described, sent


def covers(path: str, sent: list[tuple[str, str]], method: str) -> bool:
    pattern = re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "$")
    return any(m == method and pattern.match(p) for m, p in sent)


@pytest.mark.parametrize("config", [None, "tests/reference.yaml"])
def test_routing_openapi_and_postman_are_one_table(config: str | None) -> None:
    runtime = load_runtime(config, env={})
    routed, described, sent = views(runtime)
    declared = {(spec.method.lower(), spec.path) for spec in routes.served(runtime)}
    assert routed == described == declared
    for method, path in declared:
        assert covers(path, sent, method), f"no Postman request for {method.upper()} {path}"
    assert all(covers(p, [(m, p) for m, p in sent], m) for m, p in sent)  # and no request for an unknown route


def test_every_declared_route_has_an_example_whatever_the_config() -> None:
    empty = facts(load_runtime("tests/reference.yaml", env={}))
    for spec in routes.ROUTES:
        assert spec.examples(empty), f"{spec.method} {spec.path} has no Postman example"


def test_a_route_added_to_the_table_is_routed_described_and_in_postman(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = RouteSpec(
        "GET",
        "/healthz/deep",
        OperationsApi,
        OperationsApi.healthz,
        "A route added by this test",
        "Operations",
        examples=lambda f: [Example("Deep health", "/healthz/deep")],
    )
    monkeypatch.setattr(routes, "ROUTES", (*routes.ROUTES, extra))
    routed, described, sent = views(load_runtime(env={}))
    assert ("get", "/healthz/deep") in routed & described
    assert ("get", "/healthz/deep") in sent
