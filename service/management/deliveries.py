"""Management of triggered deliveries: the delivery log (filters: destination, status, trigger, guest,
since), one delivery with every attempt, replay of one, and per destination its state, recovery of
everything that failed since a time, and enabling it again after a 410."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope

from ..delivery import admin
from ..http.errors import ApiError, Dialect
from ..http.request import Incoming
from ..http.responses import JsonBytes
from ..http.routing import Access, Example, RouteSpec, has, status
from ..profiles import GuestCache
from ..runtime import Runtime


def parse_time(text: str, field: str) -> float:
    """Seconds since the epoch, or an ISO 8601 time (`2026-11-30T12:00:00Z`)."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise ApiError(400, f"{field}: seconds since the epoch or an ISO 8601 time", field) from None


class DeliveriesApi:
    def __init__(self, runtime: Callable[[], Runtime], guests: GuestCache, clock: Callable[[], float] = time.time):
        self.runtime, self.store, self.clock = runtime, guests.store, clock

    def _wake(self) -> None:
        for listener in self.store.on_deliveries:
            listener()

    async def log(self, scope: Scope, receive: Receive) -> Response:
        incoming = Incoming(scope)
        since = incoming.query("since")
        limit = incoming.query("limit") or "100"
        if not limit.isdigit() or not 1 <= int(limit) <= admin.MAX_LIST:
            raise ApiError(400, f"limit: 1 to {admin.MAX_LIST}", "limit")
        filters = admin.Filters(
            destination=incoming.query("destination"),
            status=incoming.query("status"),
            trigger=incoming.query("trigger"),
            guest=incoming.query("guest"),
            since=parse_time(since, "since") if since else None,
            limit=int(limit),
        )
        return JsonBytes(orjson.dumps(await asyncio.to_thread(admin.deliveries, self.store, filters)))

    async def one(self, scope: Scope, receive: Receive) -> Response:
        found = await asyncio.to_thread(admin.delivery, self.store, scope["path_params"]["id"])
        if found is None:
            raise ApiError(404, "no such delivery", "id")
        return JsonBytes(orjson.dumps(found))

    async def replay(self, scope: Scope, receive: Receive) -> Response:
        delivery_id = scope["path_params"]["id"]
        if not await asyncio.to_thread(admin.replay, self.store, delivery_id, self.clock()):
            raise ApiError(404, "no such delivery (or it was never rendered: nothing to send)", "id")
        self._wake()
        return JsonBytes(orjson.dumps({"id": delivery_id, "status": "pending"}))

    def _destination(self, scope: Scope) -> str:
        name: str = scope["path_params"]["id"]
        connections = self.runtime().connections
        known = connections.connections.get(name) if connections is not None else None
        if known is None or known.kind != "destination":
            raise ApiError(404, f"no destination connection '{name}'", "id")
        return name

    async def destination(self, scope: Scope, receive: Receive) -> Response:
        name = self._destination(scope)
        return JsonBytes(orjson.dumps(await asyncio.to_thread(admin.destination_state, self.store, name, self.clock())))

    async def recover(self, scope: Scope, receive: Receive) -> Response:
        name = self._destination(scope)
        since = Incoming(scope).query("since")
        if not since:
            raise ApiError(400, "since is required: recover what failed since then", "since")
        count = await asyncio.to_thread(admin.recover, self.store, name, parse_time(since, "since"), self.clock())
        self._wake()
        return JsonBytes(orjson.dumps({"destination": name, "recovered": count}))

    async def enable(self, scope: Scope, receive: Receive) -> Response:
        name = self._destination(scope)
        enabled = await asyncio.to_thread(admin.enable, self.store, name)
        self._wake()
        return JsonBytes(orjson.dumps({"destination": name, "enabled": True, "wasDisabled": enabled}))


def _spec(
    method: str,
    path: str,
    handler: Callable[..., object],
    summary: str,
    example: Example,
    query: tuple[tuple[str, str], ...] = (),
) -> RouteSpec:
    return RouteSpec(
        method,
        f"/management{path}",
        DeliveriesApi,
        handler,  # type: ignore[arg-type]
        summary,
        "Deliveries",
        Dialect.MANAGEMENT,
        Access.MANAGEMENT,
        query=query,
        statuses=(400, 401, 404),
        examples=lambda facts: [example],
    )


LOG_QUERY = (
    ("destination", "A destination connection's id"),
    ("status", "pending, delivered, dead, aborted or not_rendered"),
    ("trigger", "A trigger's id"),
    ("guest", "A guest's ref"),
    ("since", "Changed at or after: epoch seconds or ISO 8601"),
    ("limit", "At most this many, newest first (default 100, at most 500)"),
)
DELIVERY_ROUTES: tuple[RouteSpec, ...] = (
    _spec("GET", "/deliveries", DeliveriesApi.log, "The delivery log, newest first",
          Example("The delivery log", "/management/deliveries?limit=20", tests=(status(200),)), LOG_QUERY),
    _spec("GET", "/deliveries/{id}", DeliveriesApi.one, "A delivery, its request and every attempt",
          Example("A delivery", "/management/deliveries/msg_unknown", tests=(status(404),))),
    _spec("POST", "/deliveries/{id}/replay", DeliveriesApi.replay, "Send a delivery again (same webhook-id)",
          Example("Replay a delivery", "/management/deliveries/msg_unknown/replay", tests=(status(404),))),
    _spec("GET", "/destinations/{id}", DeliveriesApi.destination, "A destination: disabled, throttled, its queue",
          Example("A destination", "/management/destinations/{{destination}}",
                  tests=(status(200), has("disabled", "deliveries")))),
    _spec("POST", "/destinations/{id}/recover", DeliveriesApi.recover,
          "Send again every dead or aborted delivery of a destination since a time",
          Example("Recover a destination", "/management/destinations/{{destination}}/recover?since=0",
                  tests=(status(200), has("recovered"))), (("since", "Epoch seconds or ISO 8601"),)),
    _spec("POST", "/destinations/{id}/enable", DeliveriesApi.enable, "Enable a destination a 410 disabled",
          Example("Enable a destination", "/management/destinations/{{destination}}/enable",
                  tests=(status(200), has("enabled")))),
)  # fmt: skip
