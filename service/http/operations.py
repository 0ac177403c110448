"""Operations endpoints: health, readiness, Prometheus metrics and the OpenAPI document."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope

from ..profiles.store import ProfileStore
from ..runtime import Runtime
from .metrics import Metrics
from .responses import JsonBytes
from .routing import Example, RouteSpec, has, status


class OperationsApi:
    def __init__(
        self,
        runtime: Callable[[], Runtime],
        metrics: Metrics,
        openapi: Callable[[], dict[str, Any]],
        store: ProfileStore | None = None,
    ) -> None:
        self.runtime = runtime
        self.metrics = metrics
        self.store = store
        self._openapi = openapi
        self._spec: bytes | None = None

    async def healthz(self, scope: Scope, receive: Receive) -> Response:
        return JsonBytes(b'{"status":"ok"}')

    async def readyz(self, scope: Scope, receive: Receive) -> Response:
        current = self.runtime()
        body = {"status": "ready", "config": current.source, "projects": sorted(current.projects)}
        return JsonBytes(orjson.dumps(body))

    async def metrics_text(self, scope: Scope, receive: Receive) -> Response:
        if self.store is not None:
            await asyncio.to_thread(self.metrics.deliveries.read_queue, self.store, time.time())
        connections = self.runtime().connections
        body, content_type = self.metrics.exposition(*([connections.registry] if connections is not None else []))
        return Response(body, 200, media_type=content_type)

    async def openapi(self, scope: Scope, receive: Receive) -> Response:
        if self._spec is None:  # built on first use: most processes are never asked
            self._spec = orjson.dumps(self._openapi())
        return JsonBytes(self._spec)


OPERATIONS_ROUTES: tuple[RouteSpec, ...] = (
    RouteSpec(
        "GET", "/healthz", OperationsApi, OperationsApi.healthz, "The process is up", "Operations",
        examples=lambda f: [Example("Health", "/healthz")],
    ),
    RouteSpec(
        "GET", "/readyz", OperationsApi, OperationsApi.readyz, "The config is loaded", "Operations",
        examples=lambda f: [Example("Ready", "/readyz")],
    ),
    RouteSpec(
        "GET", "/metrics", OperationsApi, OperationsApi.metrics_text, "Prometheus metrics", "Operations",
        content="text/plain",
        examples=lambda f: [
            Example(
                "Metrics",
                "/metrics",
                tests=(
                    status(200),
                    "pm.test('prometheus text', () => pm.expect(pm.response.text()).to.include('personalize_'));",
                ),
            )
        ],
    ),
    RouteSpec(
        "GET", "/openapi.json", OperationsApi, OperationsApi.openapi, "This document", "Operations",
        examples=lambda f: [Example("OpenAPI", "/openapi.json", tests=(status(200), has("openapi", "paths")))],
    ),
)  # fmt: skip
