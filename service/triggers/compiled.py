"""Triggers as the config compiles them, and which of them a stored event may fire (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from connections import Connection
from decision_models import Audience, Catalog, Template
from decision_models.expressions import Condition

from ..profiles.model import Change, Event

TRIGGER_ROOTS = ("guest", "event", "segment", "trigger")  # what filters and payload templates read
SECONDS = {"minute": 60.0, "hour": 3600.0, "day": 86_400.0}


class Kind(StrEnum):
    EVENT = "event"
    SEGMENT_ENTERED = "segment_entered"
    SEGMENT_EXITED = "segment_exited"
    GUEST_CREATED = "guest_created"
    IDENTITY_RESOLVED = "identity_resolved"
    SESSION_CLOSED = "session_closed"


@dataclass(frozen=True, slots=True)
class Trigger:
    id: str
    name: str
    kind: Kind
    destination: Connection
    event_type: str | None = None
    segments: frozenset[str] = frozenset()
    filter: Condition | None = None
    audience: Audience | None = None
    frequency: str = "event"  # event | touch | minute | hour | day
    interval: int = 1
    cap: tuple[int, float] | None = None  # (count, per seconds)
    payload: Template | None = None  # None: the push payload (person, identifiers, touch, …)
    active: bool = True  # paused triggers are compiled but never fire
    reads_guest: bool = True  # its filter, audience, payload or frequency reads the profile (known at load)
    # Variants and decision models (`experience` in config), decided by the worker before the first attempt;
    # None: the payload is rendered with the event.
    catalog: Catalog | None = None

    @property
    def min_gap(self) -> float:
        """Seconds that must pass after this trigger fired for a guest before it fires again for them."""
        return SECONDS.get(self.frequency, 0.0) * self.interval


def event_view(event: Event) -> dict[str, Any]:
    return {"ref": event.ref, "type": event.type, "at": event.at, "data": event.data}


def segment_view(change: Change, segment: str | None) -> dict[str, Any] | None:
    """The segment change that fired a trigger, as templates read it (`segment.id`, `segment.change`)."""
    if segment is None:
        return None
    return {"id": segment, "change": "entered" if segment in change.entered else "exited"}


def push_payload(trigger: Trigger, change: Change, context: dict[str, Any]) -> dict[str, Any]:
    """The default payload, in the shape of a segment-entry push (person, identifiers, touch, event,
    newMatchedSegments, currentMatchedSegments) plus the trigger and the segment change, from the context
    the trigger's filter and template read."""
    guest = context["guest"]
    session = guest.get("session") or {}
    current = [s for s in guest.get("segments", []) if s not in change.entered]
    return {
        "trigger": {"id": trigger.id, "name": trigger.name, "when": str(trigger.kind)},
        "person": {
            "id": guest.get("ref"),
            "firstSeen": guest.get("firstSeen"),
            "lastSeen": guest.get("lastSeen"),
            "firstTimeVisitor": change.created,
            "attributes": guest.get("attributes", {}),
        },
        "identifiers": [{"personId": guest.get("ref"), **i} for i in guest.get("identities", [])],
        "touch": {
            "start": session.get("start"),
            "end": session.get("end"),
            "numberOfPageViews": len(session.get("pages", [])),
            "events": session.get("events", {}),
        },
        "event": context["event"],
        "segment": context["segment"],
        "newMatchedSegments": [{"segmentId": s} for s in sorted(change.entered)],
        "currentMatchedSegments": [{"segmentId": s} for s in current],
    }
