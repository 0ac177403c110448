"""Operating the outbox: the delivery log with its filters, one delivery with every attempt, replay of one
delivery, recovery of a destination's failed deliveries since a time, and enabling a disabled destination.
Synchronous on the store's connection; the management API and the CLI call them in a worker thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..profiles.store import ProfileStore
from .outbox import COLUMNS, from_row
from .policy import Status

FAILED = (Status.DEAD, Status.ABORTED)
MAX_LIST = 500


@dataclass(frozen=True, slots=True)
class Filters:
    destination: str | None = None
    status: str | None = None
    trigger: str | None = None
    guest: str | None = None
    since: float | None = None  # updated at or after
    limit: int = 100


def deliveries(store: ProfileStore, filters: Filters) -> list[dict[str, Any]]:
    """Newest first."""
    where: list[str] = []
    params: list[Any] = []
    for column, value in (
        ("destination", filters.destination),
        ("status", filters.status),
        ("trigger", filters.trigger),
        ("guest", filters.guest),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if filters.since is not None:
        where.append("updated_at >= ?")
        params.append(filters.since)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    sql = f"SELECT {COLUMNS} FROM deliveries{clause} ORDER BY updated_at DESC, id LIMIT ?"
    with store.reading() as db:
        rows = db.execute(sql, (*params, min(filters.limit, MAX_LIST))).fetchall()
    return [from_row(row).view() for row in rows]


def delivery(store: ProfileStore, delivery_id: str) -> dict[str, Any] | None:
    """One delivery and its attempts, oldest first."""
    with store.reading() as db:
        row = db.execute(f"SELECT {COLUMNS} FROM deliveries WHERE id = ?", (delivery_id,)).fetchone()
        if row is None:
            return None
        attempts = db.execute(
            "SELECT at, status, kind, ms, response FROM delivery_attempts WHERE delivery = ? ORDER BY seq",
            (delivery_id,),
        ).fetchall()
    view = from_row(row).view()
    view["attemptLog"] = [
        {"at": at, "status": status, "kind": kind, "ms": round(ms, 1), "response": response}
        for at, status, kind, ms, response in attempts
    ]
    return view


def replay(store: ProfileStore, delivery_id: str, now: float) -> bool:
    """Send a delivery again, whatever its state (a delivered one included), with its webhook-id: due now,
    with a fresh schedule. False when there is no such delivery or it was never rendered."""
    with store.transaction() as db:
        changed = db.execute(
            "UPDATE deliveries SET status = ?, attempts = 0, next_at = ?, lease_until = 0, updated_at = ?,"
            " reason = 'replayed' WHERE id = ? AND status <> ?",
            (Status.PENDING, now, now, delivery_id, Status.NOT_RENDERED),
        )
        return bool(changed.rowcount)


def recover(store: ProfileStore, destination: str, since: float, now: float) -> int:
    """Every dead or aborted delivery of `destination` that failed since `since`, due again now."""
    with store.transaction() as db:
        changed = db.execute(
            "UPDATE deliveries SET status = ?, attempts = 0, next_at = ?, lease_until = 0, updated_at = ?,"
            " reason = 'recovered' WHERE destination = ? AND updated_at >= ? AND status IN (?, ?)",
            (Status.PENDING, now, now, destination, since, *FAILED),
        )
        return int(changed.rowcount)


def destination_state(store: ProfileStore, destination: str, now: float) -> dict[str, Any]:
    """Whether a destination is disabled or throttled, and its queue: counts by status, oldest pending."""
    with store.reading() as db:
        state = db.execute(
            "SELECT disabled_at, paused_until, reason FROM destinations WHERE id = ?", (destination,)
        ).fetchone()
        counts = db.execute(
            "SELECT status, count(*), min(created_at) FROM deliveries WHERE destination = ? GROUP BY status",
            (destination,),
        ).fetchall()
    by_status = {status: int(count) for status, count, _ in counts}
    oldest = next((first for status, _, first in counts if status == Status.PENDING), None)
    disabled_at, paused_until, reason = state if state is not None else (None, 0.0, "")
    return {
        "id": destination,
        "disabled": disabled_at is not None,
        "disabledAt": disabled_at,
        "reason": reason,
        "pausedUntil": paused_until if paused_until > now else None,
        "deliveries": by_status,
        "oldestPendingAgeS": round(now - oldest, 3) if oldest is not None else None,
    }


def enable(store: ProfileStore, destination: str) -> bool:
    """Enable a destination a 410 disabled; its waiting deliveries go out again."""
    with store.transaction() as db:
        changed = db.execute(
            "UPDATE destinations SET disabled_at = NULL, paused_until = 0, reason = '' WHERE id = ?", (destination,)
        )
        return bool(changed.rowcount)


def executions(store: ProfileStore, guest: str, limit: int = 20) -> list[dict[str, Any]]:
    """A guest's trigger executions, newest first: what fired, which variant, the delivery and its status."""
    with store.reading() as db:
        rows = db.execute(
            "SELECT id, trigger, variant, status, attempts, created_at, reason FROM deliveries WHERE guest = ?"
            " ORDER BY created_at DESC, id LIMIT ?",
            (guest, limit),
        ).fetchall()
    return [
        {"delivery": i, "trigger": t, "variant": v or None, "status": st, "attempts": a, "at": at, "reason": r}
        for i, t, v, st, a, at, r in rows
    ]
