"""Everything stored about one guest, exported or deleted (by ref, a merged ref, or any identity), and
retention: events and guests older than the configured days pruned."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from .database import Database
from .model import Identity
from .store import ProfileStore
from .writing import guests_named


def _resolve(store: ProfileStore, project: str, ref: str | None, identity: Identity | None) -> str | None:
    with store.reading() as db:
        if identity is not None:
            return guests_named(db, project, (identity,))[0]
        merged = db.execute("SELECT into_ref FROM merged_guests WHERE ref = ?", (ref,)).fetchone()
        target = merged[0] if merged else ref
        row = db.execute("SELECT ref FROM guests WHERE ref = ? AND project = ?", (target, project)).fetchone()
        return str(row[0]) if row else None


async def find_ref(
    store: ProfileStore, project: str, ref: str | None = None, identity: Identity | None = None
) -> str | None:
    """The current ref of a guest named by its ref (merged ones followed) or by an identity."""
    return await asyncio.to_thread(_resolve, store, project, ref, identity)


def _export(store: ProfileStore, ref: str) -> dict[str, Any]:
    with store.reading() as db:
        guest = db.execute(
            "SELECT ref, project, first_seen, last_seen, attributes FROM guests WHERE ref = ?", (ref,)
        ).fetchone()
        identities = db.execute("SELECT kind, value FROM identities WHERE guest = ? ORDER BY kind, value", (ref,))
        identity_rows = identities.fetchall()
        events = db.execute(
            "SELECT ref, type, at, data FROM events WHERE guest = ? ORDER BY at, seq", (ref,)
        ).fetchall()
        merged = db.execute("SELECT ref FROM merged_guests WHERE into_ref = ? ORDER BY ref", (ref,)).fetchall()
        segments = db.execute("SELECT segment, since FROM memberships WHERE guest = ? ORDER BY segment", (ref,))
        current = segments.fetchall()
        changes = db.execute(
            "SELECT segment, change, at, event FROM segment_changes WHERE guest = ? ORDER BY seq", (ref,)
        ).fetchall()
        deliveries = db.execute(
            "SELECT id, trigger, variant, destination, status, created_at, body FROM deliveries WHERE guest = ?"
            " ORDER BY created_at, id",
            (ref,),
        ).fetchall()
    return {
        "ref": guest[0],
        "project": guest[1],
        "firstSeen": guest[2],
        "lastSeen": guest[3],
        "attributes": json.loads(guest[4]),
        "identities": [{"kind": k, "id": v} for k, v in identity_rows],
        "mergedRefs": [r for (r,) in merged],
        "events": [{"ref": r, "type": t, "at": at, "data": json.loads(d)} for r, t, at, d in events],
        "segments": [{"segment": s, "since": since} for s, since in current],
        "segmentChanges": [{"segment": s, "change": c, "at": at, "event": e} for s, c, at, e in changes],
        # Triggered pushes carry what their payload held about the guest: they are the guest's data too.
        "deliveries": [
            {"id": i, "trigger": t, "variant": v or None, "destination": d, "status": st, "at": at, "payload": body}
            for i, t, v, d, st, at, body in deliveries
        ],
    }


async def export_guest(store: ProfileStore, ref: str) -> dict[str, Any]:
    """The profile, every identity, every stored event, segment change and triggered delivery, and the
    refs merged into it."""
    return await asyncio.to_thread(_export, store, ref)


def _erase(db: Database, ref: str) -> dict[str, int]:
    """Delete every row about a guest, in the caller's transaction; how many of each kind went."""
    return {
        "events": db.execute("DELETE FROM events WHERE guest = ?", (ref,)).rowcount,
        "segmentChanges": db.execute("DELETE FROM segment_changes WHERE guest = ?", (ref,)).rowcount,
        "memberships": db.execute("DELETE FROM memberships WHERE guest = ?", (ref,)).rowcount,
        "deliveries": db.execute("DELETE FROM deliveries WHERE guest = ?", (ref,)).rowcount,  # attempts cascade
        "identities": db.execute("DELETE FROM identities WHERE guest = ?", (ref,)).rowcount,
        "mergedRefs": db.execute("DELETE FROM merged_guests WHERE into_ref = ?", (ref,)).rowcount,
        "guests": db.execute("DELETE FROM guests WHERE ref = ?", (ref,)).rowcount,
    }


def _delete(store: ProfileStore, ref: str) -> dict[str, int]:
    with store.transaction() as db:
        return _erase(db, ref)


async def delete_guest(store: ProfileStore, ref: str) -> dict[str, int]:
    """Delete everything about a guest; how many rows of each kind went."""
    return await asyncio.to_thread(_delete, store, ref)


def _prune(store: ProfileStore, before: float) -> dict[str, int]:
    with store.transaction() as db:
        events = db.execute("DELETE FROM events WHERE at < ?", (before,)).rowcount
        # Finished deliveries age out with the events that fired them; pending ones are still owed.
        db.execute("DELETE FROM deliveries WHERE created_at < ? AND status <> 'pending'", (before,))
        stale = [r for (r,) in db.execute("SELECT ref FROM guests WHERE last_seen < ?", (before,)).fetchall()]
        for ref in stale:
            _erase(db, ref)
        db.execute("UPDATE guests SET event_count = (SELECT count(*) FROM events WHERE guest = guests.ref)")
    return {"events": events, "guests": len(stale)}


async def prune(store: ProfileStore, before: float) -> dict[str, int]:
    """Retention: delete events older than `before`, and guests not seen since (with all they hold)."""
    return await asyncio.to_thread(_prune, store, before)
