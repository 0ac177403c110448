"""Segments: the audiences a config marks `segment: true`, kept current for every guest on every stored
event, in the event's own transaction (Sitecore recomputes its segments nightly). A segment reads the
guest profile — `guest.events.VIEW`, `guest.attributes.*`, `guest.identities`, `guest.segments` — as the
event leaves it; `request`, `params` and `headers` are empty, since no decision request is involved."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..runtime import Project

EMPTY_REQUEST: dict[str, Any] = {"request": {}, "params": {}, "headers": {}}


def evaluator(project: Project) -> Callable[[dict[str, Any]], frozenset[str]] | None:
    """The segments a guest view is in, for this project's config; None when it has no segment."""
    segments = [audience for audience in project.audiences.values() if audience.segment]
    if not segments:
        return None

    def members(guest: dict[str, Any]) -> frozenset[str]:
        context = {**EMPTY_REQUEST, "guest": guest}
        return frozenset(audience.id for audience in segments if audience.condition.matches(context))

    return members
