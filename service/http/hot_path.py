"""The hot path: the SDKs' callFlows routes, Contentstack's manifest and the ingestion routes of the three
dialects (the routes declared `hot`), dispatched by exact method and path before Starlette.

Measured on the demo decision (bench/http.py): Starlette's routing and exception middleware, the route's
Endpoint wrapper and the middleware's send wrapper cost ~10 us of a request the floor app answers in
~55 us. Here the same handler runs with the same edge work — decision id, CORS, metrics, access log, error
bodies — in one coroutine; the routes are chosen by their declarations (`RouteSpec.hot`), and every other
path, method or preflight goes through Starlette unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from starlette.types import ASGIApp, Receive, Scope, Send

from ..profiles.database import StorageUnavailable
from ..runtime import Runtime
from . import cors
from .errors import ApiError, Dialect, render_error, render_unavailable
from .middleware import Observability, begin
from .routing import Handler

_server_log = logging.getLogger("uvicorn.error")


class Answer(NamedTuple):
    """A hot route's response, with what its edge work (metrics, access log) needs once it is sent."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    started: float
    decision_id: str
    log: dict[str, Any]


class HotPath:
    def __init__(
        self,
        app: ASGIApp,
        handlers: Mapping[tuple[str, str], tuple[Handler, Dialect]],
        edge: Observability,
        runtime: Callable[[], Runtime],
    ) -> None:
        self.app = app
        self.handlers = dict(handlers)  # (method, exact path) -> handler and the dialect of its errors
        self.edge = edge
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.handlers.get((scope["method"], scope["path"])) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        answer = await self.answer(found, scope, receive)
        await send({"type": "http.response.start", "status": answer.status, "headers": answer.headers})
        await send({"type": "http.response.body", "body": answer.body})
        self.finish(scope, answer)

    async def answer(self, found: tuple[Handler, Dialect], scope: Scope, receive: Receive) -> Answer:
        """The route's response with the edge's headers (decision id, CORS); never raises but to cancel.
        The server's hot lane (service/http/lane.py) calls this directly, without ASGI messages."""
        handler, dialect = found
        started, decision_id, log, state = begin(scope)
        scope["path_params"] = {}  # as Starlette's routing sets it: exact paths have none
        try:
            response = await handler(scope, receive)
        except ApiError as exc:
            response = render_error(dialect, exc)
        except StorageUnavailable as exc:
            response = render_unavailable(dialect, exc)
        except Exception:  # a bug: logged with its traceback, answered as Starlette's handler would
            _server_log.exception("request %s failed", decision_id)
            response = render_error(dialect, ApiError(500, "internal error; see the server log for this X-Decision-Id"))
        headers = response.raw_headers
        headers.append((b"x-decision-id", decision_id.encode()))
        origin = cors.request_origin(scope)
        if origin is not None:
            headers += cors.response_headers(scope, origin, state.get("project"), self.runtime())
        return Answer(response.status_code, headers, bytes(response.body), started, decision_id, log)

    def finish(self, scope: Scope, answer: Answer) -> None:
        """Metrics and the access-log line, once the response is sent."""
        self.edge.finish(scope, answer.started, answer.status, answer.decision_id, answer.log, scope["path"])
