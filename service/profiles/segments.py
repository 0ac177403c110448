"""Segments: the audiences a config marks `segment: true`, kept current for every guest on every stored
event, in the event's own transaction (Sitecore recomputes its segments nightly). A segment reads the
guest profile — `guest.events.VIEW`, `guest.attributes.*`, `guest.identities`, `guest.segments` — as the
event leaves it; `request`, `params` and `headers` are empty, since no decision request is involved."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from decision_models import Audience

from .model import Segments

EMPTY_REQUEST: dict[str, Any] = {"request": {}, "params": {}, "headers": {}}


def evaluator(audiences: Iterable[Audience]) -> Segments | None:
    """The segments a guest view is in, among a project's audiences (compiled at load); None when none is
    a segment."""
    segments = [audience for audience in audiences if audience.segment]
    if not segments:
        return None

    def members(guest: dict[str, Any]) -> frozenset[str]:
        context = {**EMPTY_REQUEST, "guest": guest}
        return frozenset(audience.id for audience in segments if audience.condition.matches(context))

    return members
