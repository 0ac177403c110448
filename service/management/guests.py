"""Management of guest profiles: find a guest by identity or ref, read its events, export everything
about it, delete everything about it (a person's right to access and to erasure)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope

from ..delivery import admin
from ..http.errors import ApiError, Dialect
from ..http.request import Incoming
from ..http.responses import JsonBytes
from ..http.routing import Access, Example, RouteSpec, has, status
from ..profiles import GuestCache, privacy
from ..runtime import Runtime
from .api import page, project_of

MAX_EXECUTIONS = 1000


class GuestsApi:
    def __init__(self, runtime: Callable[[], Runtime], guests: GuestCache) -> None:
        self.runtime = runtime
        self.guests = guests

    async def _ref(self, scope: Scope) -> tuple[Incoming, str]:
        incoming = Incoming(scope)
        project = project_of(incoming, self.runtime())
        ref = scope["path_params"].get("ref")
        kind, value = incoming.query("kind"), incoming.query("id")
        if ref is None and not (kind and value):
            raise ApiError(400, "name the guest by identity: ?kind=browser&id=…", "kind")
        found = await privacy.find_ref(self.guests.store, project.id, ref, (kind, value) if kind and value else None)
        if found is None:
            raise ApiError(404, "no such guest in this project", "ref" if ref is not None else "id")
        return incoming, found

    async def find(self, scope: Scope, receive: Receive) -> Response:
        """GET /management/guests?kind=…&id=… and /management/guests/{ref}: the profile (no events)."""
        _, ref = await self._ref(scope)
        profile = await privacy.export_guest(self.guests.store, ref)
        profile["eventCount"] = len(profile.pop("events"))
        return JsonBytes(orjson.dumps(profile))

    async def events(self, scope: Scope, receive: Receive) -> Response:
        incoming, ref = await self._ref(scope)
        events = (await privacy.export_guest(self.guests.store, ref))["events"]
        return page(events[::-1], incoming)  # newest first

    async def segments(self, scope: Scope, receive: Receive) -> Response:
        """The segments the guest is in now, and every entry and exit with its time and causing event."""
        _, ref = await self._ref(scope)
        export = await privacy.export_guest(self.guests.store, ref)
        return JsonBytes(orjson.dumps({"current": export["segments"], "changes": export["segmentChanges"]}))

    async def executions(self, scope: Scope, receive: Receive) -> Response:
        """The guest's trigger executions, newest first: trigger, variant, delivery id and status."""
        incoming, ref = await self._ref(scope)
        return page(await asyncio.to_thread(admin.executions, self.guests.store, ref, MAX_EXECUTIONS), incoming)

    async def export(self, scope: Scope, receive: Receive) -> Response:
        _, ref = await self._ref(scope)
        return JsonBytes(orjson.dumps(await privacy.export_guest(self.guests.store, ref)))

    async def delete(self, scope: Scope, receive: Receive) -> Response:
        _, ref = await self._ref(scope)
        export = await privacy.export_guest(self.guests.store, ref)
        deleted = await privacy.delete_guest(self.guests.store, ref)
        identities = [(i["kind"], i["id"]) for i in export["identities"]]
        self.guests.forget(export["project"], identities)
        return JsonBytes(orjson.dumps({"ref": ref, "deleted": deleted}))


def _spec(method: str, path: str, handler: Callable[..., object], summary: str, example: Example) -> RouteSpec:
    return RouteSpec(
        method,
        f"/management/guests{path}",
        GuestsApi,
        handler,  # type: ignore[arg-type]
        summary,
        "Guests",
        Dialect.MANAGEMENT,
        Access.MANAGEMENT,
        query=(("kind", "Identity kind: browser, email, user, anonymous, or a provider"), ("id", "Identity"))
        if path == ""
        else (("skip", "Items to skip"), ("limit", "Items to return"))
        if path.endswith(("/events", "/executions"))
        else (),
        headers=(("x-project-uid", "The project (its Contentstack project uid or id)"),),
        statuses=(400, 401, 404),
        examples=lambda facts: [example],
    )


BY_BROWSER = "?kind=browser&id={{browserId}}"
GUEST_ROUTES: tuple[RouteSpec, ...] = (
    _spec("GET", "", GuestsApi.find, "A guest by identity",
          Example("Find a guest (the browser the Events folder wrote to)", f"/management/guests{BY_BROWSER}",
                  tests=(status(200), has("ref", "identities", "eventCount")))),
    _spec("GET", "/{ref}", GuestsApi.find, "A guest by ref (merged refs followed)",
          Example("A guest by ref", "/management/guests/unknown-ref", tests=(status(404),))),
    _spec("GET", "/{ref}/events", GuestsApi.events, "A guest's events, newest first",
          Example("A guest's events", "/management/guests/unknown-ref/events", tests=(status(404),))),
    _spec("GET", "/{ref}/segments", GuestsApi.segments, "A guest's segments now, and every entry and exit",
          Example("A guest's segments", "/management/guests/unknown-ref/segments", tests=(status(404),))),
    _spec("GET", "/{ref}/executions", GuestsApi.executions, "A guest's trigger executions, newest first",
          Example("A guest's executions", "/management/guests/unknown-ref/executions", tests=(status(404),))),
    _spec("GET", "/{ref}/export", GuestsApi.export, "Everything stored about a guest",
          Example("Export a guest", "/management/guests/unknown-ref/export", tests=(status(404),))),
    _spec("DELETE", "/{ref}", GuestsApi.delete, "Delete everything stored about a guest",
          Example("Delete a guest", "/management/guests/unknown-ref", tests=(status(404), has("error_message")))),
)  # fmt: skip
