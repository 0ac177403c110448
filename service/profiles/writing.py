"""Writing one event on its guest, inside the store's group transaction (store.py): find the guest by any
of the write's identities or create it, merge the guests its identities name, count and bound the history,
re-evaluate the segments, and let the project's triggers react, all on the transaction's connection.

A guest is found by any of its identities (`browser`, `email`, `<provider>` from identifiers, Segment's
`user` and `anonymous`, Contentstack's user uid); an event carrying an identity nobody has yet creates the
guest, and every identity of that event is linked to it.

Merges: when the identities of one write name several guests (an IDENTITY event linking a browser to a
known person, a Segment alias), they become one — the guest of the write's first identity, which callers
order most-durable first (identifiers, email, user id, then browser or anonymous id). Nothing is lost:
every identity and event moves to it; on an attribute both have, the surviving guest's value wins (the
write's own attributes, the newest, win over both); first seen is the earliest, last seen the latest; the
merged guest's ref keeps resolving to the survivor.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .database import Database
from .model import Change, Event, Identity, Reactor, Segments, Write, new_ref
from .reading import guest_view, read_guest

ANONYMOUS_KINDS = frozenset({"browser", "anonymous"})  # identities that do not name a person


@dataclass(frozen=True, slots=True)
class Batch:
    """One request's writes, with what its project does on each of them."""

    project: str
    writes: list[Write]
    segments: Segments | None = None
    reactor: Reactor | None = None


def record_write(db: Database, batch: Batch, write: Write, now: float, max_events: int) -> tuple[str | None, int]:
    """Store one write on the guest its identities name (created, or merged into one, as the module says);
    its guest ref (None for a message id already stored) and how many deliveries its triggers made pending."""
    identities, event, attributes = write.identities, write.event, write.attributes
    project = batch.project
    if write.message_id is not None:
        seen = db.execute(
            "INSERT INTO seen_messages(project, message_id, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1",
            (project, write.message_id, float("inf") if write.message_forever else now),
        )
        if seen.fetchone() is None:
            return None, 0  # a retry of a message already stored
    linked = guests_named(db, project, identities)
    found = distinct(linked)
    ref = found[0] if found else None
    at = event.at
    for other in found[1:]:
        _merge(db, other, ref, now)
    created, resolved = ref is None, len(found) > 1
    if ref is None:
        ref, count = new_ref(), 1
        db.execute(
            "INSERT INTO guests(ref, project, first_seen, last_seen, attributes, event_count)"
            " VALUES (?, ?, ?, ?, '{}', 1)",
            (ref, project, at, at),
        )
    else:  # its last seen and its count in one statement (each statement is a system call or more)
        (count,) = db.execute(
            "UPDATE guests SET last_seen = CASE WHEN last_seen < ? THEN ? ELSE last_seen END,"
            " event_count = event_count + 1 WHERE ref = ? RETURNING event_count",
            (at, at, ref),
        ).fetchone()
    for (kind, value), guest in zip(identities, linked, strict=True):
        if guest is None:  # found identities are linked already (to `ref`, once merged)
            db.execute(
                "INSERT INTO identities(project, kind, value, guest) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (project, kind, value, ref),
            )
            # A known person's identity newly linked to a guest that existed: its identity is resolved.
            resolved |= not created and kind not in ANONYMOUS_KINDS
    if attributes:
        row = db.execute("SELECT attributes FROM guests WHERE ref = ?", (ref,)).fetchone()
        merged = {**json.loads(row[0]), **attributes}
        db.execute("UPDATE guests SET attributes = ? WHERE ref = ?", (json.dumps(merged), ref))
    db.execute(
        "INSERT INTO events(ref, guest, type, at, data) VALUES (?, ?, ?, ?, ?)",
        (event.ref, ref, event.type, event.at, json.dumps(event.data)),
    )
    if count > max_events:
        _prune(db, ref, count, max_events)
    entered = exited = frozenset[str]()
    view: dict[str, Any] | None = None
    if batch.segments is not None:
        entered, exited, view = _update_segments(db, project, ref, batch.segments, event, now, max_events)
    if batch.reactor is None:
        return ref, 0
    change = Change(project, ref, event, entered, exited, created, resolved)
    read = (lambda: view) if view is not None else functools.partial(guest_view, db, project, ref, now, max_events)
    return ref, batch.reactor.react(db, change, read, now)


def _update_segments(
    db: Database, project: str, ref: str, segments: Segments, event: Event, now: float, max_events: int
) -> tuple[frozenset[str], frozenset[str], dict[str, Any] | None]:
    """Re-evaluate the guest's segments on its profile as this write leaves it; store what changed and
    return it (entered, exited) with the guest's view as it now is (what triggers read), or None when
    only the parts the segments read were read."""
    guest = read_guest(db, project, ref, now, max_events, segments.parts)
    view = guest.view()
    inside, before = segments(view), frozenset(guest.segments)
    for segment, change in [*((s, "entered") for s in inside - before), *((s, "exited") for s in before - inside)]:
        if change == "entered":
            db.execute("INSERT INTO memberships(guest, segment, since) VALUES (?, ?, ?)", (ref, segment, event.at))
        else:
            db.execute("DELETE FROM memberships WHERE guest = ? AND segment = ?", (ref, segment))
        db.execute(
            "INSERT INTO segment_changes(project, guest, segment, change, at, event) VALUES (?, ?, ?, ?, ?, ?)",
            (project, ref, segment, change, event.at, event.ref),
        )
    whole = {**view, "segments": sorted(inside)} if segments.parts is None else None
    return inside - before, before - inside, whole


def _prune(db: Database, ref: str, count: int, max_events: int) -> None:
    """Keep the newest `max_events` events of a guest."""
    db.execute(
        "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE guest = ? ORDER BY at, seq LIMIT ?)",
        (ref, count - max_events),
    )
    db.execute("UPDATE guests SET event_count = ? WHERE ref = ?", (max_events, ref))


def _merge(db: Database, other: str, into: str | None, now: float) -> None:
    survivor = db.execute("SELECT first_seen, last_seen, attributes FROM guests WHERE ref = ?", (into,)).fetchone()
    merged = db.execute("SELECT first_seen, last_seen, attributes FROM guests WHERE ref = ?", (other,)).fetchone()
    attributes = {**json.loads(merged[2]), **json.loads(survivor[2])}  # the survivor's values win
    db.execute(
        "UPDATE guests SET first_seen = ?, last_seen = ?, attributes = ? WHERE ref = ?",
        (min(survivor[0], merged[0]), max(survivor[1], merged[1]), json.dumps(attributes), into),
    )
    db.execute("UPDATE identities SET guest = ? WHERE guest = ?", (into, other))
    db.execute("UPDATE events SET guest = ? WHERE guest = ?", (into, other))
    db.execute("DELETE FROM memberships WHERE guest = ?", (other,))  # re-evaluated for the survivor
    db.execute("UPDATE segment_changes SET guest = ? WHERE guest = ?", (into, other))
    db.execute("UPDATE deliveries SET guest = ? WHERE guest = ?", (into, other))  # frequency and caps carry over
    db.execute(
        "UPDATE guests SET event_count = (SELECT count(*) FROM events WHERE guest = ?) WHERE ref = ?", (into, into)
    )
    db.execute("UPDATE merged_guests SET into_ref = ? WHERE into_ref = ?", (into, other))
    db.execute(
        "INSERT INTO merged_guests(ref, into_ref, at) VALUES (?, ?, ?)"
        " ON CONFLICT (ref) DO UPDATE SET into_ref = excluded.into_ref, at = excluded.at",
        (other, into, now),
    )
    db.execute("DELETE FROM guests WHERE ref = ?", (other,))


def distinct(refs: Sequence[str | None]) -> list[str]:
    """The refs, each once, in their order."""
    return list(dict.fromkeys(ref for ref in refs if ref is not None))


def guests_named(db: Database, project: str, identities: tuple[Identity, ...]) -> list[str | None]:
    """The guest each identity names, or None."""
    sql = "SELECT guest FROM identities WHERE project = ? AND kind = ? AND value = ?"
    found = [db.execute(sql, (project, kind, value)) for kind, value in identities]  # all sent, then read
    return [None if row is None else str(row[0]) for row in (cursor.fetchone() for cursor in found)]
