"""CORS with allowed origins per project.

Starlette's CORSMiddleware takes one global origin list; here the origin is checked against the project
the request resolves to (its clientKey or context id), which is only known once the handler has read
the body, so handlers name the project in `scope["state"]["project"]` and this middleware decides.
A preflight carries no body: it is checked against the project named by `sitecoreContextId` in the
query when there is one, else against every project's origins.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .runtime import Project, Runtime

EXPOSED = b"Server-Timing, X-Decision-Id, X-Personalize-Outcome, X-Personalize-Experience, X-Personalize-Variant"
METHODS = b"GET, POST, OPTIONS"
DEFAULT_ALLOWED_HEADERS = (
    b"Content-Type, Authorization, X-Library-Version, x-sc-correlation-id, x-sitecore-contextid, "
    b"X-Client-Software-ID, X-Personalize-Preview"
)


class ProjectCors:
    def __init__(self, app: ASGIApp, runtime: Callable[[], Runtime]) -> None:
        self.app = app
        self.runtime = runtime

    def _preflight_allowed(self, scope: Scope, origin: str) -> bool:
        runtime = self.runtime()
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        context_id = (query.get("sitecoreContextId") or [""])[0]
        project = runtime.by_context_id.get(context_id) if context_id else None
        if project is not None:
            return project.allows_origin(origin)
        return runtime.any_origin_allowed(origin)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(scope, origin, headers, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                project: Project | None = scope.get("state", {}).get("project")
                allowed = (
                    project.allows_origin(origin) if project is not None else self.runtime().any_origin_allowed(origin)
                )
                extra = [(b"vary", b"Origin")]
                if allowed:
                    extra += [
                        (b"access-control-allow-origin", origin.encode("latin-1")),
                        (b"access-control-expose-headers", EXPOSED),
                    ]
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(self, scope: Scope, origin: str, headers: Headers, send: Send) -> None:
        if not self._preflight_allowed(scope, origin):
            body = orjson.dumps(
                {
                    "status": 403,
                    "code": 403,
                    "message": "Forbidden",
                    "developerMessage": f"origin {origin} is not allowed for this project",
                }
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": 403,
                    "headers": [(b"content-type", b"application/json"), (b"vary", b"Origin")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        requested = headers.get("access-control-request-headers")
        await send(
            {
                "type": "http.response.start",
                "status": 204,
                "headers": [
                    (b"access-control-allow-origin", origin.encode("latin-1")),
                    (b"access-control-allow-methods", METHODS),
                    (
                        b"access-control-allow-headers",
                        requested.encode("latin-1") if requested else DEFAULT_ALLOWED_HEADERS,
                    ),
                    (b"access-control-max-age", b"600"),
                    (b"vary", b"Origin"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})
