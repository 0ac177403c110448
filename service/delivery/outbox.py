"""The outbox: deliveries written in the transaction of the event that fired them, claimed by workers under
a lease, settled after each attempt, read and replayed by management. Plain SQL on the profile store's
connection (service/profiles/database.py), the same on SQLite and PostgreSQL.

Claims run in the store's write transaction, which is one writer at a time per database (SQLite's file
lock; PostgreSQL's advisory lock), so two workers — threads or processes — never claim one delivery: the
claim sets `lease_until`, and only a delivery whose lease has passed (its worker died mid-attempt) is
claimed again. The lease outlasts the longest attempt, so one attempt is never made twice at once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from connections import BuiltRequest

from ..profiles.database import Database
from .policy import Status, Step

COLUMNS = (
    "id, project, trigger, guest, event, destination, method, url, headers, body, status, attempts, "
    "created_at, next_at, updated_at, reason, variant, context"
)


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str  # the webhook-id: the same on every attempt
    project: str
    trigger: str
    guest: str
    event: str
    destination: str
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: str
    status: str
    attempts: int
    created_at: float
    next_at: float
    updated_at: float
    reason: str
    variant: str = ""  # the variant a triggered experience chose (with `experience` in config)
    # What its variants are decided on (guest, event, segment, trigger as JSON) until the worker has decided
    # them and rendered the body; "" once rendered (or for a trigger without variants).
    context: str = ""

    @property
    def request(self) -> BuiltRequest:
        return BuiltRequest(self.method, self.url, self.headers, self.body.encode())

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "project": self.project,
            "trigger": self.trigger,
            "guest": self.guest,
            "event": self.event,
            "destination": self.destination,
            "status": self.status,
            "attempts": self.attempts,
            "createdAt": self.created_at,
            "nextAt": self.next_at if self.status == Status.PENDING else None,
            "updatedAt": self.updated_at,
            "reason": self.reason,
            "variant": self.variant or None,
            "request": {"method": self.method, "url": self.url, "headers": dict(self.headers), "body": self.body},
        }


def from_row(row: Sequence[Any]) -> Delivery:
    values = list(row)
    values[8] = tuple(tuple(pair) for pair in json.loads(values[8]))
    return Delivery(*values)


def enqueue(db: Database, delivery: Delivery) -> None:
    db.execute(
        f"INSERT INTO deliveries({COLUMNS}) VALUES ({', '.join('?' * 18)})",
        (
            delivery.id,
            delivery.project,
            delivery.trigger,
            delivery.guest,
            delivery.event,
            delivery.destination,
            delivery.method,
            delivery.url,
            json.dumps(delivery.headers),
            delivery.body,
            delivery.status,
            delivery.attempts,
            delivery.created_at,
            delivery.next_at,
            delivery.updated_at,
            delivery.reason,
            delivery.variant,
            delivery.context,
        ),
    )


def last_fired(db: Database, trigger: str, guest: str) -> float | None:
    """When `trigger` last fired for `guest` (a rendered execution), or None."""
    row = db.execute(
        "SELECT max(created_at) FROM deliveries WHERE guest = ? AND trigger = ? AND status <> ?",
        (guest, trigger, Status.NOT_RENDERED),
    ).fetchone()
    return None if row is None or row[0] is None else float(row[0])


def fired_since(db: Database, guest: str, since: float, trigger: str | None = None) -> int:
    """Executions for `guest` since `since` (of one trigger, or of all)."""
    sql = "SELECT count(*) FROM deliveries WHERE guest = ? AND created_at >= ? AND status <> ?"
    params: tuple[Any, ...] = (guest, since, Status.NOT_RENDERED)
    if trigger is not None:
        sql, params = sql + " AND trigger = ?", (*params, trigger)
    return int(db.execute(sql, params).fetchone()[0])


def claim(db: Database, now: float, limit: int, lease: float, busy: tuple[str, ...] = ()) -> list[Delivery]:
    """Due deliveries of destinations neither disabled nor paused nor `busy` (at their concurrency in the
    caller), leased to the caller until now + lease."""
    skip = f" AND destination NOT IN ({', '.join('?' * len(busy))})" if busy else ""
    rows = db.execute(
        f"SELECT {COLUMNS} FROM deliveries WHERE status = ? AND next_at <= ? AND lease_until <= ?"
        " AND destination NOT IN (SELECT id FROM destinations WHERE disabled_at IS NOT NULL OR paused_until > ?)"
        f"{skip} ORDER BY next_at LIMIT ?",
        (Status.PENDING, now, now, now, *busy, limit),
    ).fetchall()
    if rows:
        marks = ", ".join("?" * len(rows))
        db.execute(f"UPDATE deliveries SET lease_until = ? WHERE id IN ({marks})", (now + lease, *(r[0] for r in rows)))
    return [from_row(row) for row in rows]


def next_due(db: Database) -> float | None:
    row = db.execute(
        "SELECT min(CASE WHEN next_at > lease_until THEN next_at ELSE lease_until END) FROM deliveries"
        " WHERE status = ?",
        (Status.PENDING,),
    )
    value = row.fetchone()[0]
    return None if value is None else float(value)


def settle(db: Database, delivery: Delivery, step: Step, attempts: int, now: float) -> None:
    """Apply the step decided after an attempt (policy.next_step)."""
    db.execute(
        "UPDATE deliveries SET status = ?, attempts = ?, next_at = ?, lease_until = 0, updated_at = ?, reason = ?"
        " WHERE id = ?",
        (step.status, attempts, step.next_at or now, now, step.reason, delivery.id),
    )
    if step.disable_destination:
        _destination(db, delivery.destination)
        db.execute(
            "UPDATE destinations SET disabled_at = ?, reason = ? WHERE id = ?", (now, step.reason, delivery.destination)
        )
    if step.pause_destination_until:
        _destination(db, delivery.destination)
        db.execute(
            "UPDATE destinations SET paused_until = ? WHERE id = ? AND paused_until < ?",
            (step.pause_destination_until, delivery.destination, step.pause_destination_until),
        )


def postpone(db: Database, delivery: Delivery, until: float, reason: str, now: float) -> None:
    """Not attempted (the breaker is open): due again at `until`, no attempt counted."""
    db.execute(
        "UPDATE deliveries SET next_at = ?, lease_until = 0, updated_at = ?, reason = ? WHERE id = ?",
        (until, now, reason, delivery.id),
    )


def log_attempt(db: Database, delivery: str, at: float, status: int | None, kind: str, ms: float, text: str) -> None:
    db.execute(
        "INSERT INTO delivery_attempts(delivery, at, status, kind, ms, response) VALUES (?, ?, ?, ?, ?, ?)",
        (delivery, at, status, kind, ms, text),
    )


def _destination(db: Database, destination: str) -> None:
    db.execute("INSERT INTO destinations(id) VALUES (?) ON CONFLICT DO NOTHING", (destination,))


def rendered(db: Database, delivery: Delivery, body: str, variant: str) -> None:
    """The worker decided the delivery's variants: its body and variant are fixed for every attempt."""
    db.execute("UPDATE deliveries SET body = ?, variant = ?, context = '' WHERE id = ?", (body, variant, delivery.id))
