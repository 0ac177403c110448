"""Reading a guest as decisions, segments and triggers see it, in one pass of a few queries on the store's
connection: the profile, identities, segments, event counts by type (all kept, and over recent windows),
and the latest touch."""

from __future__ import annotations

import json
from typing import Any

from .database import Database
from .model import Guest

TOUCH_GAP = 30 * 60  # events at most this far apart are one session ("touch", as Sitecore counts them)
RECENT_WINDOWS = (("1d", 1), ("7d", 7), ("30d", 30))  # guest.recent.<window>.<TYPE>: counts in the last days
PROFILE_PARTS = frozenset({"firstSeen", "lastSeen", "daysSinceLastSeen", "attributes"})  # the guests row's
# A guest's counts by type, over the history kept and over each recent window, in one pass (one round trip).
COUNTS_SQL = "SELECT type, count(*){} FROM events WHERE guest = ? GROUP BY type".format(
    "".join(", sum(CASE WHEN at >= ? THEN 1 ELSE 0 END)" for _ in RECENT_WINDOWS)
)


def read_guest(
    db: Database, project: str, ref: str, now: float, max_events: int, parts: frozenset[str] | None = None
) -> Guest:
    """The guest as decisions read it: profile, identities, segments, counts, recent counts, latest touch.
    With `parts` (keys of the view), only what those need is read: the rest is left empty."""
    # Every query sent before any answer is read: one round trip on PostgreSQL's pipeline.
    guest = None
    if parts is None or not parts.isdisjoint(PROFILE_PARTS):
        guest = db.execute("SELECT first_seen, last_seen, attributes FROM guests WHERE ref = ?", (ref,))
    memberships = db.execute("SELECT segment FROM memberships WHERE guest = ? ORDER BY segment", (ref,))
    linked = None
    if parts is None or "identities" in parts:
        linked = db.execute("SELECT kind, value FROM identities WHERE guest = ? ORDER BY kind, value", (ref,))
    counted = None
    if parts is None or "events" in parts or "recent" in parts:
        counted = db.execute(COUNTS_SQL, (*(now - days * 86_400 for _, days in RECENT_WINDOWS), ref))
    session = _session(db, ref, max_events) if parts is None or "session" in parts else {}
    first_seen, last_seen, attributes = guest.fetchone() if guest is not None else (0.0, 0.0, "{}")
    segments = memberships.fetchall()
    identities: list[tuple[str, str]] = linked.fetchall() if linked is not None else []
    counts: dict[str, int] = {}
    recent: dict[str, dict[str, int]] = {}
    if counted is not None:
        rows = counted.fetchall()
        counts = {row[0]: int(row[1]) for row in rows}
        recent = {
            name: {row[0]: int(row[2 + i]) for row in rows if row[2 + i]} for i, (name, _) in enumerate(RECENT_WINDOWS)
        }
    return Guest(
        ref,
        project,
        first_seen,
        last_seen,
        tuple((k, v) for k, v in identities),
        json.loads(attributes),
        counts,
        tuple(s for (s,) in segments),
        recent,
        session,
        now,
    )


def guest_view(db: Database, project: str, ref: str, now: float, max_events: int) -> dict[str, Any]:
    """The whole guest as triggers read it (`guest` in their filters and payloads)."""
    return read_guest(db, project, ref, now, max_events).view()


def _session(db: Database, ref: str, max_events: int) -> dict[str, Any]:
    """The latest touch: the newest events each at most TOUCH_GAP seconds after the one before."""
    rows = db.execute(
        "SELECT type, at, data FROM events WHERE guest = ? ORDER BY at DESC, seq DESC LIMIT ?", (ref, max_events)
    )
    events: dict[str, int] = {}
    pages: list[str] = []
    start = end = None
    for kind, at, data in rows:
        if start is not None and start - at > TOUCH_GAP:
            break
        end = at if end is None else end
        start = at
        events[kind] = events.get(kind, 0) + 1
        page = json.loads(data).get("page") if kind in ("VIEW", "PAGE") else None
        if isinstance(page, str):
            pages.append(page)
    if start is None:
        return {}
    return {"start": start, "end": end, "events": events, "pages": pages[::-1]}
