"""Fire the triggers a stored event matches: called by the profile store inside the event's transaction,
so a delivery exists exactly when its event does (the outbox). A payload or request that cannot be made
for this guest is recorded as a `not_rendered` execution with the reason; nothing else stops.

Frequency and caps count this guest's executions in the outbox, by the events' own times: `touch` fires
once per touch (no execution since the touch began), `minute` / `hour` / `day` once per interval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from connections import BuiltRequest, TemplateInputError, build

from ..delivery import outbox
from ..delivery.outbox import Delivery
from ..delivery.policy import Status
from ..profiles.database import Database
from ..profiles.model import Change, new_ref
from ..profiles.segments import EMPTY_REQUEST
from .compiled import Kind, Trigger, event_view, push_payload, segment_view


@dataclass(frozen=True, slots=True)
class TriggerSet:
    """A project's active triggers; `cap` is the global one (count, per seconds) across all of them."""

    triggers: tuple[Trigger, ...]
    cap: tuple[int, float] | None = None

    def react(self, db: Any, change: Change, guest: Callable[[], dict[str, Any]], now: float) -> int:
        return fire(db, self, change, guest, now)

    def candidates(self, change: Change) -> list[tuple[Trigger, str | None]]:
        """The triggers this change may fire (before filters, audiences and frequency), each with the
        segment whose change fired it."""
        found: list[tuple[Trigger, str | None]] = []
        for trigger in self.triggers:
            if trigger.kind is Kind.EVENT:
                if trigger.event_type == change.event.type:
                    found.append((trigger, None))
            elif trigger.kind is Kind.SEGMENT_ENTERED:
                hit = sorted(trigger.segments & change.entered)
                if hit:
                    found.append((trigger, hit[0]))
            elif trigger.kind is Kind.SEGMENT_EXITED:
                hit = sorted(trigger.segments & change.exited)
                if hit:
                    found.append((trigger, hit[0]))
            elif trigger.kind is Kind.GUEST_CREATED:
                if change.created:
                    found.append((trigger, None))
            elif trigger.kind is Kind.SESSION_CLOSED:
                if change.session_closed:
                    found.append((trigger, None))
            elif change.resolved:
                found.append((trigger, None))
        return found


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a trigger does with a change: fires (with the delivery it makes), or why not."""

    trigger: Trigger
    delivery: Delivery | None = None
    why_not: str = ""


def fire(db: Database, triggers: TriggerSet, change: Change, guest: Callable[[], dict[str, Any]], now: float) -> int:
    """Put a delivery in the outbox for every trigger this change fires; how many are pending."""
    pending = 0
    for verdict in evaluate(db, triggers, change, guest, now):
        if verdict.delivery is not None:
            outbox.enqueue(db, verdict.delivery)
            pending += verdict.delivery.status == Status.PENDING
    return pending


def evaluate(
    db: Database, triggers: TriggerSet, change: Change, guest: Callable[[], dict[str, Any]], now: float
) -> list[Verdict]:
    """Every candidate trigger's verdict on this change (reads the outbox for frequency and caps; writes
    nothing): what `fire` stores, and what a preview shows."""
    candidates = triggers.candidates(change)
    if not candidates:
        return []
    # The profile is read only when a candidate reads it (compiled at load): an event trigger whose
    # payload reads only the event costs no profile read (measured: the read was most of a trigger's cost).
    view = guest() if any(trigger.reads_guest for trigger, _ in candidates) else {}
    verdicts = []
    fired = 0  # executions this change already makes: the global cap counts them with the stored ones
    for trigger, segment in candidates:
        context = {
            **EMPTY_REQUEST,
            "guest": view,
            "event": event_view(change.event),
            "segment": segment_view(change, segment),
            "trigger": {"id": trigger.id, "name": trigger.name},
        }
        if trigger.audience is not None and not trigger.audience.condition.matches(context):
            verdicts.append(Verdict(trigger, why_not=f"the guest is not in audience '{trigger.audience.id}'"))
        elif trigger.filter is not None and not trigger.filter.matches(context):
            verdicts.append(Verdict(trigger, why_not="the filter is false for this event and guest"))
        elif (held := _held(db, trigger, triggers.cap, change, view, fired)) is not None:
            verdicts.append(Verdict(trigger, why_not=held))
        else:
            verdicts.append(Verdict(trigger, _delivery(trigger, change, context, now)))
            fired += 1
    return verdicts


def _held(
    db: Database, trigger: Trigger, cap: tuple[int, float] | None, change: Change, view: dict[str, Any], fired: int
) -> str | None:
    """Why the frequency criterion or a cap holds this execution back, or None."""
    at = change.event.at
    if trigger.frequency != "event":
        last = outbox.last_fired(db, trigger.id, change.guest)
        if last is not None:
            if trigger.frequency == "touch":
                start = (view.get("session") or {}).get("start")
                if start is not None and last >= start:
                    return "frequency touch: it already fired in this touch"
            elif at - last < trigger.min_gap:
                gap = f"it fired {at - last:.0f} s ago, the interval is {trigger.min_gap:.0f} s"
                return f"frequency {trigger.frequency}: {gap}"
    if trigger.cap is not None:
        count, per = trigger.cap
        if outbox.fired_since(db, change.guest, at - per, trigger.id) >= count:
            return f"cap: {count} executions in {per:.0f} s reached"
    if cap is not None:
        count, per = cap
        if outbox.fired_since(db, change.guest, at - per) + fired >= count:
            return f"global cap (settings.triggers.cap): {count} executions in {per:.0f} s reached"
    return None


def _delivery(trigger: Trigger, change: Change, context: dict[str, Any], now: float) -> Delivery:
    destination = trigger.destination
    status, reason = Status.PENDING, ""
    request = BuiltRequest(destination.method, destination.base_text, (), b"")
    pending_context = ""
    try:
        inputs = {"guestRef": change.guest, "trigger": trigger.id, "eventType": change.event.type}
        built = build(destination, inputs)
        if trigger.catalog is not None:  # variants and models: the worker decides them on this snapshot
            snapshot = {key: context[key] for key in ("guest", "event", "segment", "trigger")}
            pending_context, payload = orjson.dumps(snapshot).decode(), b""
        elif trigger.payload is not None:
            payload = orjson.dumps(trigger.payload.render(context))
        else:
            payload = orjson.dumps(push_payload(trigger, change, context))
        request = BuiltRequest(built.method, built.url, built.headers, payload)
    except (TemplateInputError, TypeError, ValueError, orjson.JSONEncodeError) as exc:
        status, reason = Status.NOT_RENDERED, f"cannot render the payload or request: {exc}"[:500]
    return Delivery(
        id=f"msg_{new_ref().replace('-', '')}",  # time-ordered, as the store's other ids (new_ref)
        project=change.project,
        trigger=trigger.id,
        guest=change.guest,
        event=change.event.ref,
        destination=destination.id,
        method=request.method,
        url=request.url,
        headers=tuple(request.headers),
        body=(request.content or b"").decode(),
        status=status,
        attempts=0,
        created_at=change.event.at,
        next_at=now,
        updated_at=now,
        reason=reason,
        context=pending_context,
    )
