"""Decision ids, metrics and access-log lines for every request, as one pure ASGI middleware."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .access_log import AccessLog
from .metrics import Metrics


class Observability:
    """Gives every request an X-Decision-Id, counts it, times it and writes its access-log line.

    Handlers add their own facts (project, friendlyId, outcome...) to `scope["state"]["log"]`.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, access_log: AccessLog, routes: Mapping[Any, str]) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        decision_id = os.urandom(12).hex()
        log: dict[str, Any] = {}
        scope["state"] = {"decision_id": decision_id, "started": started, "log": log}
        status = 500
        header = (b"x-decision-id", decision_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = self.routes.get(scope.get("endpoint"), "unmatched")
            self.metrics.observe_request(route, status, elapsed)
            if self.access_log.enabled:
                self.access_log.write(
                    {
                        "ts": round(time.time(), 3),
                        "decisionId": decision_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "route": route,
                        "status": status,
                        "ms": round(elapsed * 1000, 3),
                        **log,
                    }
                )
