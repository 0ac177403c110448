"""Compile `triggers` config into service.triggers.Trigger objects (filters, payload templates, references)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from connections import Connection
from decision_models import (
    Audience,
    Catalog,
    Experience,
    ExperienceVersion,
    ExpressionError,
    Status,
    Template,
    TemplateError,
    compile_condition,
    compile_template,
)
from decision_models.expressions import Condition

from ..triggers import Kind, Trigger
from ..triggers.compiled import TRIGGER_ROOTS
from . import schema_triggers


def build_trigger(
    item: schema_triggers.Trigger,
    issue: Callable[[str, str], None],
    audiences: Mapping[str, Audience],
    connections: Mapping[str, Connection],
    version: ExperienceVersion | None = None,
) -> Trigger | None:
    """A compiled trigger, or None after reporting every problem through `issue`."""
    failed = False

    def report(sub: str, message: str) -> None:
        nonlocal failed
        failed = True
        issue(sub, message)

    destination = connections.get(item.destination)
    if destination is None or destination.kind != "destination":
        report(".destination", f"'{item.destination}' is not a connection of kind destination here")
    audience = audiences.get(item.audience) if item.audience is not None else None
    if item.audience is not None and audience is None:
        report(".audience", f"unknown audience '{item.audience}'")
    when = item.when
    for key, names in (("segmentEntered", when.segment_entered), ("segmentExited", when.segment_exited)):
        for i, name in enumerate(names):
            if name not in audiences or not audiences[name].segment:
                report(f".when.{key}[{i}]", f"'{name}' is not an audience marked segment: true")
    condition = None
    if when.filter is not None:
        try:
            condition = compile_condition(when.filter, roots=TRIGGER_ROOTS)
        except ExpressionError as exc:
            report(".when.filter", str(exc))
    payload = None
    if item.payload is not None:
        try:
            payload = compile_template(item.payload, roots=TRIGGER_ROOTS)
        except TemplateError as exc:
            report(".payload", str(exc))
    if failed or destination is None:
        return None
    kind = (
        Kind.EVENT
        if when.event is not None
        else Kind.SEGMENT_ENTERED
        if when.segment_entered
        else Kind.SEGMENT_EXITED
        if when.segment_exited
        else Kind.GUEST_CREATED
        if when.guest_created
        else Kind.SESSION_CLOSED
        if when.session_closed
        else Kind.IDENTITY_RESOLVED
    )
    return Trigger(
        id=item.id,
        name=item.name or item.id,
        kind=kind,
        destination=destination,
        event_type=when.event,
        segments=frozenset(when.segment_entered or when.segment_exited),
        filter=condition,
        audience=audience,
        frequency=item.frequency.criterion,
        interval=item.frequency.interval,
        cap=(item.cap.count, item.cap.per_s) if item.cap else None,
        payload=payload,
        active=item.status == "active",
        catalog=_catalog(item.id, item.name, version) if version is not None else None,
        # No payload template: the default payload reads the guest, or an experience's variants may (their
        # audiences, models and templates); so do touch frequency and any rule or template naming `guest`.
        reads_guest=payload is None
        or item.frequency.criterion == "touch"
        or any(path[0] == "guest" for path in _reads(condition, audience, payload)),
    )


def _reads(condition: Condition | None, audience: Audience | None, payload: Template | None) -> list[tuple[str, ...]]:
    reads = [*(condition.reads if condition else ()), *(payload.reads if payload else ())]
    return reads + list(audience.condition.reads) if audience is not None else reads


def _catalog(trigger: str, name: str, version: ExperienceVersion) -> Catalog:
    """A trigger's variants as a one-experience catalog: the engine that serves callFlows decides them."""
    summary = {"id": trigger, "friendlyId": trigger, "name": name or trigger}
    experience = Experience(trigger, trigger, name or trigger, Status.ACTIVE, version, summary=summary)
    return Catalog.build({trigger: experience}, set(), reads_headers=False, reads_guest=True)
