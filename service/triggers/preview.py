"""What a sample event would fire, without firing it: each trigger's verdict, and for those that fire the
exact request the worker would send (its signature computed for a preview id and this second; credentials
shown as [redacted], never their values). Nothing is written: the outbox is only read, for frequency and
caps. The management API (`POST /management/triggers/preview`) and `personalize preview-trigger` call it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connections.pool import REDACTED
from connections.push import webhook_headers

from ..profiles.model import Change, Event, Identity
from ..profiles.reading import read_guest
from ..profiles.store import ProfileStore
from ..profiles.writing import guests_named
from ..runtime import Project
from .compiled import Kind, Trigger
from .firing import evaluate


@dataclass(frozen=True, slots=True)
class Sample:
    event_type: str
    data: dict[str, Any] = field(default_factory=dict)
    at: float | None = None  # the event's time; None: now
    identity: Identity | None = None  # a stored guest, found by an identity; None: a new guest
    entered: frozenset[str] = frozenset()  # segment changes to assume
    exited: frozenset[str] = frozenset()
    resolved: bool = False


def preview(store: ProfileStore, project: Project, sample: Sample, now: float) -> dict[str, Any]:
    """Call in a worker thread: it reads the database."""
    with store.reading() as db:
        ref = guests_named(db, project.id, (sample.identity,))[0] if sample.identity is not None else None
        view = read_guest(db, project.id, ref, now, store.max_events).view() if ref else {}
        event = Event(sample.event_type, sample.at if sample.at is not None else now, sample.data)
        change = Change(project.id, ref or "(a new guest)", event, sample.entered, sample.exited, ref is None,
                        sample.resolved)  # fmt: skip
        found = evaluate(db, project.triggers, change, lambda: view, now) if project.triggers is not None else []
        verdicts = {v.trigger.id: v for v in found}
    triggers = project.triggers.triggers if project.triggers is not None else ()
    results = []
    for trigger in triggers:
        verdict = verdicts.get(trigger.id)
        if verdict is None:
            results.append(
                {"trigger": trigger.id, "fires": False, "why": f"not fired by this change ({_when(trigger)})"}
            )
        elif verdict.delivery is None:
            results.append({"trigger": trigger.id, "fires": False, "why": verdict.why_not})
        else:
            delivery = verdict.delivery
            result: dict[str, Any] = {"trigger": trigger.id, "fires": True, "status": delivery.status}
            if delivery.reason:
                result["reason"] = delivery.reason
            headers = webhook_headers(trigger.destination, delivery.request, delivery.id, int(now))
            headers.update({name: REDACTED for name in trigger.destination.auth.header_names})
            result["request"] = {"method": delivery.method, "url": delivery.url, "headers": headers,
                                 "body": delivery.body}  # fmt: skip
            results.append(result)
    return {"guest": ref, "event": {"type": event.type, "at": event.at, "data": event.data}, "triggers": results}


def _when(trigger: Trigger) -> str:
    if trigger.kind is Kind.EVENT:
        return f"it fires on event {trigger.event_type}"
    if trigger.kind in (Kind.SEGMENT_ENTERED, Kind.SEGMENT_EXITED):
        return f"it fires on {trigger.kind.value.replace('_', ' ')} {', '.join(sorted(trigger.segments))}"
    return f"it fires on {trigger.kind.value.replace('_', ' ')}"
