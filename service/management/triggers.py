"""`POST /management/triggers/preview`: what a sample event would fire (service/triggers/preview.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response
from starlette.types import Receive, Scope

from ..http.errors import Dialect
from ..http.request import Incoming, read_json_body
from ..http.responses import JsonBytes
from ..http.routing import Access, Example, RouteSpec, has, status
from ..profiles import GuestCache
from ..runtime import Runtime
from ..triggers.preview import Sample, preview
from .api import project_of


class GuestIdentity(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    kind: str = Field(min_length=1, description="browser, email, user, anonymous, contentstack, or a provider")
    id: str = Field(min_length=1)


class PreviewBody(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    type: str = Field(min_length=1, description="The sample event's type (ADD_TO_CART, a Segment event name, …)")
    data: dict[str, Any] = Field(default_factory=dict, description="The event's body, as templates read it")
    at: float | None = Field(None, description="The event's time (epoch seconds); default now")
    guest: GuestIdentity | None = Field(None, description="A stored guest to preview for; default a new guest")
    entered: list[str] = Field(default_factory=list, description="Segments to assume entered by this event")
    exited: list[str] = Field(default_factory=list, description="Segments to assume exited by this event")
    resolved: bool = Field(False, description="Assume the event resolved the guest's identity")


class TriggersApi:
    def __init__(self, runtime: Callable[[], Runtime], guests: GuestCache) -> None:
        self.runtime, self.store = runtime, guests.store

    async def preview(self, scope: Scope, receive: Receive) -> Response:
        runtime = self.runtime()
        project = project_of(Incoming(scope), runtime)
        body = await read_json_body(scope, receive, runtime, PreviewBody)
        sample = Sample(
            body.type,
            body.data,
            body.at,
            (body.guest.kind, body.guest.id) if body.guest else None,
            frozenset(body.entered),
            frozenset(body.exited),
            body.resolved,
        )
        result = await asyncio.to_thread(preview, self.store, project, sample, time.time())
        return JsonBytes(orjson.dumps(result))


TRIGGER_ROUTES: tuple[RouteSpec, ...] = (
    RouteSpec(
        "POST",
        "/management/triggers/preview",
        TriggersApi,
        TriggersApi.preview,
        "What a sample event would fire, and the exact request of each push (nothing is sent or stored)",
        "Deliveries",
        Dialect.MANAGEMENT,
        Access.MANAGEMENT,
        body=PreviewBody,
        headers=(("x-project-uid", "The project (its Contentstack project uid or id)"),),
        statuses=(400, 401, 404),
        examples=lambda f: [
            Example(
                "Preview a segment entry",
                "/management/triggers/preview",
                {"type": "VIEW", "data": {"page": "home"}, "entered": ["returning_visitors"]},
                tests=(status(200), has("triggers", "event")),
            )
        ],
    ),
)
