"""Delivery metrics per destination: attempts by outcome (counted by the worker as it settles them), and the
queue — pending deliveries and the age of the oldest — read from the outbox when /metrics is scraped (the
outbox is shared by every worker and process, so the database is the one place that knows it)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from ..profiles.store import ProfileStore
from .policy import Status

QUEUE_SQL = "SELECT destination, count(*), min(created_at) FROM deliveries WHERE status = ? GROUP BY destination"


class DeliveryMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.attempts = Counter(
            "personalize_delivery_attempts",
            "Delivery attempts by destination and what came of them: delivered, retry, dead, aborted, postponed",
            ["destination", "outcome"],
            registry=registry,
        )
        # With several workers, the series of the last one scraped (each reads the same database).
        self.queue = Gauge(
            "personalize_delivery_pending", "Deliveries waiting to be sent, by destination", ["destination"],
            registry=registry, multiprocess_mode="mostrecent",
        )  # fmt: skip
        self.oldest = Gauge(
            "personalize_delivery_oldest_pending_seconds",
            "Age of the oldest pending delivery, by destination (since its event)",
            ["destination"],
            registry=registry,
            multiprocess_mode="mostrecent",
        )

    def count(self, destination: str, outcome: str) -> None:
        self.attempts.labels(destination, outcome).inc()

    def read_queue(self, store: ProfileStore, now: float) -> None:
        """Set the queue gauges from the outbox (call it in a worker thread: it queries the database)."""
        with store.reading() as db:
            rows = db.execute(QUEUE_SQL, (Status.PENDING,)).fetchall()
        self.queue.clear()
        self.oldest.clear()
        for destination, count, oldest in rows:
            self.queue.labels(destination).set(count)
            self.oldest.labels(destination).set(max(0.0, now - oldest))
