"""Per-connection Prometheus metrics: latency, outcomes by kind, cache hits, coalesced calls, token
fetches, breaker state."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}


class ConnectionMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.latency = Histogram(
            "personalize_connection_duration_seconds",
            "Connection call latency",
            ["connection"],
            buckets=_BUCKETS,
            registry=registry,
        )
        self.outcomes = Counter(
            "personalize_connection_calls",
            "Connection calls by outcome kind",
            ["connection", "kind"],
            registry=registry,
        )
        self.cache_hits = Counter(
            "personalize_connection_cache_hits",
            "Calls answered from the response cache",
            ["connection"],
            registry=registry,
        )
        self.coalesced = Counter(
            "personalize_connection_coalesced_calls",
            "Calls that shared an identical in-flight call",
            ["connection"],
            registry=registry,
        )
        self.token_fetches = Counter(
            "personalize_connection_token_fetches", "OAuth2 token requests", ["connection"], registry=registry
        )
        self.breaker = Gauge(
            "personalize_connection_breaker_state",
            "Circuit breaker: 0 closed, 1 half-open, 2 open",
            ["connection"],
            registry=registry,
        )
        self._children: dict[tuple[str, ...], Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (metric._name, *labels)
        child = self._children.get(key)
        if child is None:  # `labels()` validates and locks: ~3 us a call; label sets are few
            child = self._children[key] = metric.labels(*labels)
        return child

    def count(self, connection: str, kind: str, seconds: float, breaker_state: int) -> None:
        self._child(self.outcomes, connection, kind).inc()
        self._child(self.latency, connection).observe(seconds)
        self._child(self.breaker, connection).set(breaker_state)
