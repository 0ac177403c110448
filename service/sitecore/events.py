"""Sitecore's stream events: the requests the Engage SDK, the Cloud SDK events package, the Content SDK and
the documented direct API make, stored on the guest they identify (docs/wire-formats.md, "Events").

  POST /v1.2/events                                   Engage: project from `client_key` in the body
  POST /v1/events/v1.2/events?sitecoreContextId=…     Cloud SDK events 0.4-0.6
  POST /v1/events/v1.2/events (x-sitecore-contextid)  Content SDK 2.x
  GET  /v1.2/event/create.json?client_key=…&message=  the direct API, the event as URL-encoded JSON

The body is one flat event; clients read the answer's body, not its status: 201
`{"ref", "status": "OK", "version": "1.2", "customer_ref"}`. Errors are `{error_msg, moreInfo}`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response
from starlette.types import Receive, Scope

from ..http.errors import ApiError, Dialect
from ..http.json_bodies import parse
from ..http.request import Incoming, read_body, resolve_project
from ..http.responses import JsonBytes
from ..http.routing import Example, RouteSpec, has, status
from ..profiles import Event, GuestCache, Identity, Write, event_time
from ..runtime import Runtime

# IDENTITY events carry the person's details: kept as the guest's attributes.
PERSON_FIELDS = ("email", "firstname", "lastname", "gender", "dob", "mobile", "phone", "postal_code", "city",
                 "state", "street", "country", "title")  # fmt: skip


class EventIdentifier(BaseModel):
    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True)
    id: str
    provider: str
    expiry_date: str | None = None


class SitecoreEvent(BaseModel):
    """One flat event as the SDKs send it; `client_key` and `pos` may be empty strings."""

    model_config = ConfigDict(extra="allow", hide_input_in_errors=True)
    type: str = ""
    browser_id: str = ""
    channel: str | None = None
    client_key: str = ""
    pos: str = ""
    language: str | None = None
    currency: str | None = None
    page: str | None = None
    requested_at: str | None = None
    ext: dict[str, Any] = Field(default_factory=dict)
    identifiers: list[EventIdentifier] = Field(default_factory=list)


class EventsApi:
    def __init__(self, runtime: Callable[[], Runtime], guests: GuestCache) -> None:
        self.runtime = runtime
        self.guests = guests

    async def post(self, scope: Scope, receive: Receive) -> Response:
        """POST /v1.2/events and /v1/events/v1.2/events."""
        incoming = Incoming(scope)
        raw = await read_body(receive, incoming, self.runtime().max_body_bytes)
        return await self._store(scope, incoming, raw)

    async def create_json(self, scope: Scope, receive: Receive) -> Response:
        """GET /v1.2/event/create.json?client_key=…&message=<the event as JSON>."""
        incoming = Incoming(scope)
        message = incoming.query("message")
        if not message:
            raise ApiError(400, "message (the event as JSON) is required", "message")
        try:
            body = orjson.loads(message)
        except orjson.JSONDecodeError:
            raise ApiError(400, "message: not JSON", "message") from None
        if not isinstance(body, dict):
            raise ApiError(400, "message: the event must be a JSON object", "message")
        body.setdefault("client_key", incoming.query("client_key") or "")
        return await self._store(scope, incoming, orjson.dumps(body))

    async def _store(self, scope: Scope, incoming: Incoming, raw: bytes) -> Response:
        event = parse(SitecoreEvent, raw)
        runtime = self.runtime()
        project = resolve_project(runtime, event.client_key or incoming.query("client_key"), incoming.context_id())
        scope["state"]["project"] = project
        if not event.browser_id:
            raise ApiError(400, "browser_id is required", "browser_id")
        if not event.type:
            raise ApiError(400, "type is required", "type")
        # Most durable first: on a merge the guest of the first identity survives (service/profiles/writing.py).
        identities: list[Identity] = [(i.provider, i.id) for i in event.identifiers if i.id and i.provider]
        extra = event.model_extra or {}
        email = extra.get("email")
        if isinstance(email, str) and email.strip():
            identities.append(("email", email.strip().lower()))
        identities.append(("browser", event.browser_id))
        attributes = {k: extra[k] for k in PERSON_FIELDS if k in extra} if event.type == "IDENTITY" else {}
        stored = Event(
            type=event.type.upper(),
            at=event_time(event.requested_at, time.time()),
            data=event.model_dump(exclude_defaults=True),
        )
        write = Write(tuple(identities), stored, attributes)
        [guest_ref] = await self.guests.record(project, [write])
        scope["state"]["log"].update({"project": project.id, "event": stored.type})
        body = {"ref": stored.ref, "status": "OK", "version": "1.2", "customer_ref": guest_ref}
        return JsonBytes(orjson.dumps(body), 201)


EVENTS_ROUTES: tuple[RouteSpec, ...] = (
    *(
        RouteSpec(
            "POST",
            path,
            EventsApi,
            EventsApi.post,
            summary,
            "Events",
            Dialect.STREAM,
            body=SitecoreEvent,
            query=query,
            headers=headers,
            statuses=(400, 401, 413),
            examples=examples,
            hot=True,
        )
        for path, summary, query, headers, examples in (
            (
                "/v1.2/events",
                "Store an event (Engage SDK; project from client_key in the body)",
                (),
                (),
                lambda f: [
                    Example(
                        "Engage: a VIEW event",
                        "/v1.2/events",
                        {
                            "type": "VIEW",
                            "browser_id": "{{browserId}}",
                            "client_key": "{{clientKey}}",
                            "channel": "WEB",
                            "language": "EN",
                            "currency": "EUR",
                            "page": "home",
                            "pos": "",
                        },
                        tests=(status(201), has("ref", "status", "version")),
                    )
                ],
            ),
            (
                "/v1/events/v1.2/events",
                "Store an event (Cloud SDK events, Content SDK)",
                (("sitecoreContextId", "Edge context id (Cloud SDK)"), ("siteId", "Site name (ignored)")),
                (("x-sitecore-contextid", "Edge context id (Content SDK)"),),
                lambda f: [
                    Example(
                        "Cloud SDK: an IDENTITY event",
                        "/v1/events/v1.2/events?sitecoreContextId={{contextId}}&siteId=postman",
                        {
                            "type": "IDENTITY",
                            "browser_id": "{{browserId}}",
                            "client_key": "",
                            "pos": "",
                            "channel": "WEB",
                            "email": "ana@example.com",
                            "firstname": "Ana",
                            "identifiers": [{"id": "ana@example.com", "provider": "email"}],
                        },
                        tests=(status(201), has("ref", "customer_ref")),
                    )
                ],
            ),
        )
    ),
    RouteSpec(
        "GET",
        "/v1.2/event/create.json",
        EventsApi,
        EventsApi.create_json,
        "Store an event (the documented direct API: the event as URL-encoded JSON in `message`)",
        "Events",
        Dialect.STREAM,
        query=(("client_key", "Client key"), ("message", "The event as URL-encoded JSON")),
        statuses=(400, 401),
        examples=lambda f: [
            Example(
                "Direct API: event/create.json",
                "/v1.2/event/create.json?client_key={{clientKey}}&message=%7B%22type%22%3A%22VIEW%22%2C%22"
                "browser_id%22%3A%22postman-browser%22%2C%22channel%22%3A%22WEB%22%7D",
                tests=(status(201), has("ref", "status")),
            )
        ],
    ),
)
