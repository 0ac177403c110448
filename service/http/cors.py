"""CORS with allowed origins per project.

Starlette's CORSMiddleware takes one global origin list; here the origin is checked against the project
the request resolves to (its clientKey or context id), which is only known once the handler has read
the body, so handlers name the project in `scope["state"]["project"]` and the response headers are
decided when the response starts. A preflight carries no body: it is checked against the project named
by `sitecoreContextId` in the query when there is one, else against every project's origins.

The endpoints that take a management token (management reads and reload, explain, the test endpoints)
are not the projects' to open: only `management.allowedOrigins` grants them CORS, and it is empty by
default, so a project allowing "*" for its SDK traffic never makes management readable cross-origin.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import orjson
from starlette.types import Message, Scope

from ..runtime import Project, Runtime

EXPOSED = (
    b"Server-Timing, X-Decision-Id, X-Personalize-Outcome, X-Personalize-Experience, X-Personalize-Variant, "
    b"X-CS-Personalize-User-Uid"  # Contentstack's edge SDK adopts the user uid /manifest returns
)
METHODS = b"GET, POST, OPTIONS"
DEFAULT_ALLOWED_HEADERS = (
    b"Content-Type, Authorization, X-Library-Version, x-sc-correlation-id, x-sitecore-contextid, "
    b"X-Client-Software-ID, X-Personalize-Preview, X-Project-Uid, X-CS-Personalize-User-Uid, X-Page-Url, "
    b"X-Live-Attributes, X-User-Agent"
)


MANAGEMENT_PATHS = ("/management", "/v2/callFlows/explain", "/v2/testDecisionModel", "/v2/connections/testConnection")


def is_management(scope: Scope) -> bool:
    return str(scope["path"]).startswith(MANAGEMENT_PATHS)


def _allowed(scope: Scope, origin: str, project: Project | None, runtime: Runtime) -> bool:
    if is_management(scope):
        return origin in runtime.management_origins
    return project.allows_origin(origin) if project is not None else runtime.any_origin_allowed(origin)


def request_origin(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"origin":
            return str(value.decode("latin-1"))
    return None


def is_preflight(scope: Scope) -> bool:
    return scope["method"] == "OPTIONS" and any(n == b"access-control-request-method" for n, _ in scope["headers"])


def preflight_response(scope: Scope, origin: str, runtime: Runtime) -> tuple[Message, Message]:
    """The two ASGI messages answering a preflight: 204 with the allowances, or 403 with a JSON error."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    context_id = (query.get("sitecoreContextId") or [""])[0]
    project = runtime.by_context_id.get(context_id) if context_id else None
    if not _allowed(scope, origin, project, runtime):
        body = orjson.dumps(
            {
                "status": 403,
                "code": 403,
                "message": "Forbidden",
                "developerMessage": f"origin {origin} is not allowed for this project",
            }
        )
        start: Message = {
            "type": "http.response.start",
            "status": 403,
            "headers": [(b"content-type", b"application/json"), (b"vary", b"Origin")],
        }
        return start, {"type": "http.response.body", "body": body}
    requested = next((v for n, v in scope["headers"] if n == b"access-control-request-headers"), None)
    start = {
        "type": "http.response.start",
        "status": 204,
        "headers": [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-methods", METHODS),
            (b"access-control-allow-headers", requested or DEFAULT_ALLOWED_HEADERS),
            (b"access-control-max-age", b"600"),
            (b"vary", b"Origin"),
        ],
    }
    return start, {"type": "http.response.body", "body": b""}


def response_headers(scope: Scope, origin: str, project: Project | None, runtime: Runtime) -> list[tuple[bytes, bytes]]:
    """CORS headers for an actual response: allowed when the resolved project (else any project) allows it,
    or for a management endpoint when management.allowedOrigins names the origin."""
    if not _allowed(scope, origin, project, runtime):
        return [(b"vary", b"Origin")]
    return [
        (b"vary", b"Origin"),
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-expose-headers", EXPOSED),
    ]
