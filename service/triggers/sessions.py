"""Closing touches: a guest's touch ends when no event came for `settings.triggers.sessionTimeoutS` (30
minutes by default, as a touch is counted). Nothing arrives at that moment, so a sweeper looks for such
guests — the delivery worker runs it every SWEEP_SECONDS — fires the project's sessionClosed triggers for
each, in one transaction, and marks the touch closed so no other sweep (no other process) fires it again.

Touches that ended more than LOOKBACK_SECONDS ago are not closed late: a trigger added to a config, or a
service down for a day, does not push for every guest's ancient last visit.
"""

from __future__ import annotations

import functools

from ..profiles.model import Change, Event, new_ref
from ..profiles.reading import guest_view
from ..profiles.store import ProfileStore
from ..runtime import Runtime
from .compiled import Kind
from .firing import fire

SWEEP_SECONDS = 30.0
LOOKBACK_SECONDS = 86_400.0
BATCH = 500  # touches closed per project per sweep (the next sweep takes the rest)


def close_sessions(store: ProfileStore, runtime: Runtime, now: float) -> tuple[int, int]:
    """Close every touch that has timed out; (touches closed, deliveries made pending). Call it in a worker
    thread: it writes to the database."""
    closed = pending = 0
    timeout = runtime.session_timeout
    with store.transaction() as db:
        for project in runtime.projects.values():
            triggers = project.triggers
            if triggers is None or not any(t.kind is Kind.SESSION_CLOSED for t in triggers.triggers):
                continue
            rows = db.execute(
                "SELECT ref, last_seen FROM guests WHERE project = ? AND last_seen < ? AND last_seen >= ?"
                " AND session_closed < last_seen ORDER BY last_seen LIMIT ?",
                (project.id, now - timeout, now - timeout - LOOKBACK_SECONDS, BATCH),
            ).fetchall()
            for ref, last_seen in rows:
                event = Event("SESSION_CLOSED", last_seen + timeout, {"lastEventAt": last_seen}, f"session-{new_ref()}")
                change = Change(project.id, ref, event, session_closed=True)
                # The profile is read only if a trigger reads it, as for stored events (firing.evaluate).
                guest = functools.partial(guest_view, db, project.id, ref, now, store.max_events)
                pending += fire(db, triggers, change, guest, now)
                db.execute("UPDATE guests SET session_closed = ? WHERE ref = ?", (last_seen, ref))
                closed += 1
    return closed, pending
