"""A triggered experience's variants, decided by the worker before a delivery's first attempt: the engine
that serves callFlows picks the variant (A/B sticky by the guest's ref, or segmented by audience), runs its
decision models (connection nodes included: the reason this happens here, outside the event's
transaction) and renders its response, on the snapshot of guest, event and segment change taken when the
event was stored. The body is then fixed for every attempt."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from decision_models import DecisionRequest, Outcome, decide

from ..runtime import Runtime
from .outbox import Delivery
from .policy import Status

SENT = frozenset({Outcome.VARIANT, Outcome.FALLBACK})  # a fallback is the config's own answer to a failure


@dataclass(frozen=True, slots=True)
class Decided:
    body: str | None  # None: nothing to send; `status` (skipped, not_rendered) and `reason` say why
    variant: str = ""
    reason: str = ""
    status: str = Status.PENDING


async def decide_variants(delivery: Delivery, runtime: Runtime) -> Decided:
    project = runtime.projects.get(delivery.project)
    triggers = project.triggers if project is not None else None
    trigger = next((t for t in triggers.triggers if t.id == delivery.trigger), None) if triggers else None
    if trigger is None or trigger.catalog is None:
        reason = f"trigger '{delivery.trigger}' with variants is no longer active in the config"
        return Decided(None, reason=reason, status=Status.NOT_RENDERED)
    snapshot = orjson.loads(delivery.context)
    request = DecisionRequest(
        friendly_id=trigger.id,
        visitor_key=delivery.guest,
        visitor_source="guestRef",
        guest=snapshot.get("guest") or {},
        extra={key: snapshot.get(key) for key in ("event", "segment", "trigger")},
    )
    decision = await decide(
        trigger.catalog, request, default_deadline_ms=runtime.default_deadline_ms, connections=runtime.connections
    )
    variant = decision.variant.id if decision.variant is not None else ""
    if decision.outcome in SENT:
        reason = "" if decision.outcome is Outcome.VARIANT else "a decision step failed: the fallback was sent"
        return Decided(decision.body.decode(), variant, reason)
    return Decided(None, variant, f"the experience chose not to push ({decision.outcome.value})", Status.SKIPPED)
