"""Decision ids, Prometheus metrics and JSON-lines access logs, as one pure ASGI middleware."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Mapping
from typing import Any

import orjson
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ACCESS_LOG = logging.getLogger("personalize.access")
disable_created_metrics()  # type: ignore[no-untyped-call]  # *_created series double the exposition for no reader we serve
_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """The service's Prometheus metrics, in a registry of its own so tests can make fresh ones."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "personalize_http_requests",
            "HTTP requests by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "personalize_http_request_duration_seconds",
            "HTTP request latency by route",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.decisions = Counter(
            "personalize_decisions",
            "Decisions by experience, variant and outcome",
            ["experience", "variant", "outcome"],
            registry=self.registry,
        )

    def exposition(self) -> tuple[bytes, str]:
        """Prometheus text; with several workers, merged from PROMETHEUS_MULTIPROC_DIR."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            merged = CollectorRegistry()
            multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
            return generate_latest(merged), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class JsonLinesFormatter(logging.Formatter):
    """One JSON object a line: the fields passed as `extra={"fields": {...}}`."""

    def format(self, record: logging.LogRecord) -> str:
        fields: Mapping[str, Any] = getattr(record, "fields", {})
        return orjson.dumps({"ts": round(record.created, 3), "log": record.name, **fields}).decode()


def configure_access_log(enabled: bool) -> None:
    ACCESS_LOG.handlers.clear()
    ACCESS_LOG.propagate = False
    if enabled:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonLinesFormatter())
        ACCESS_LOG.addHandler(handler)
        ACCESS_LOG.setLevel(logging.INFO)
    else:
        ACCESS_LOG.setLevel(logging.CRITICAL + 1)


class Observability:
    """Gives every request an X-Decision-Id, counts it, times it and writes its access-log line.

    Handlers add their own facts (project, friendlyId, outcome...) to `scope["state"]["log"]`.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: Mapping[Any, str]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        decision_id = os.urandom(12).hex()
        state = scope.setdefault("state", {})
        state["decision_id"] = decision_id
        state["started"] = started
        log: dict[str, Any] = {}
        state["log"] = log
        status = 500
        header = (b"x-decision-id", decision_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = self.routes.get(scope.get("endpoint"), "unmatched")
            self.metrics.requests.labels(route, str(status)).inc()
            self.metrics.latency.labels(route).observe(elapsed)
            if ACCESS_LOG.isEnabledFor(logging.INFO):
                ACCESS_LOG.info(
                    "",
                    extra={
                        "fields": {
                            "decisionId": decision_id,
                            "method": scope["method"],
                            "path": scope["path"],
                            "route": route,
                            "status": status,
                            "ms": round(elapsed * 1000, 3),
                            **log,
                        }
                    },
                )
