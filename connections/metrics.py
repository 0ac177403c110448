"""Per-connection Prometheus metrics: latency, outcomes by kind, cache hits, coalesced calls, token
fetches, breaker state."""

from __future__ import annotations

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
