"""The service's Prometheus metrics, in a registry of its own so each app (and test) has fresh ones."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

disable_created_metrics()  # type: ignore[no-untyped-call]  # *_created series double the output for no reader
_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
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
        self.model_runs = Counter(
            "personalize_decision_model_runs",
            "Decision model runs by model, variant, status (production / test) and outcome",
            ["model", "variant", "status", "outcome"],
            registry=self.registry,
        )
        # `labels()` costs ~3 us (validation, lock); label sets are few, so children are looked up once.
        self._request_children: dict[tuple[str, int], Counter] = {}
        self._latency_children: dict[str, Histogram] = {}
        self._decision_children: dict[tuple[str, str, str], Counter] = {}
        self._model_children: dict[tuple[str, str, str, str], Counter] = {}

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        counter = self._request_children.get((route, status))
        if counter is None:
            counter = self._request_children[(route, status)] = self.requests.labels(route, str(status))
        counter.inc()
        histogram = self._latency_children.get(route)
        if histogram is None:
            histogram = self._latency_children[route] = self.latency.labels(route)
        histogram.observe(seconds)

    def count_decision(self, experience: str, variant: str, outcome: str) -> None:
        key = (experience, variant, outcome)
        counter = self._decision_children.get(key)
        if counter is None:
            counter = self._decision_children[key] = self.decisions.labels(*key)
        counter.inc()

    def count_model_run(self, model: str, variant: str, status: str, outcome: str) -> None:
        key = (model, variant, status, outcome)
        counter = self._model_children.get(key)
        if counter is None:
            counter = self._model_children[key] = self.model_runs.labels(*key)
        counter.inc()

    def exposition(self, *others: CollectorRegistry) -> tuple[bytes, str]:
        """Prometheus text of these metrics and `others` (the connections'); with several workers, merged
        from PROMETHEUS_MULTIPROC_DIR."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            merged = CollectorRegistry()
            multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
            return generate_latest(merged), CONTENT_TYPE_LATEST
        return b"".join(generate_latest(r) for r in (self.registry, *others)), CONTENT_TYPE_LATEST
