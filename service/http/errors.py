"""One error type, rendered in the shape each dialect's clients parse (docs/wire-formats.md, "Errors").

Handlers raise `ApiError(status, message, field)`; the route's `Dialect` chooses the body.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

import orjson

from .responses import JsonBytes

_server_log = logging.getLogger("uvicorn.error")
MORE_INFO = "README.md#errors"  # clients show it; the README lists every status and its cause
_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Payload Too Large",
    422: "Unprocessable Content",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class Dialect(StrEnum):
    """Whose error shape a route answers in."""

    SITECORE = "sitecore"  # callFlows and the test endpoints: status, developerMessage, moreInfo(Url), field
    STREAM = "stream"  # browser and event endpoints: error_msg, moreInfo
    MANAGEMENT = "management"  # Contentstack Personalize Management: error_code, error_message, errors
    SEGMENT = "segment"  # Segment's tracking API: code, message (what analytics-python parses)
    CONTENTSTACK = "contentstack"  # Contentstack's Edge API: error, message (its edge SDK reads them)


class ApiError(Exception):
    """Raised at the edge to reject a request; rendered in the dialect of the endpoint."""

    def __init__(self, status: int, developer_message: str, field: str | None = None, code: str | None = None) -> None:
        super().__init__(developer_message)
        self.status = status
        self.developer_message = developer_message
        self.field = field
        self.code = code  # a dialect's own error code, where its clients branch on one


def sitecore_error_body(status: int, developer_message: str, field: str | None = None) -> bytes:
    """callFlows error body: both `moreInfo` (docs, .NET SDK) and `moreInfoUrl` (Cloud SDK types)."""
    body: dict[str, object] = {
        "status": status,
        "code": status,
        "message": _REASONS.get(status, "Error"),
        "developerMessage": developer_message,
        "moreInfo": MORE_INFO,
        "moreInfoUrl": MORE_INFO,
    }
    if field is not None:
        body["field"] = field
    return orjson.dumps(body)


def sitecore_error(error: ApiError, headers: list[tuple[bytes, bytes]] | None = None) -> JsonBytes:
    return JsonBytes(sitecore_error_body(error.status, error.developer_message, error.field), error.status, headers)


def stream_error(error: ApiError, headers: list[tuple[bytes, bytes]] | None = None) -> JsonBytes:
    """Browser and stream endpoints' error body: `{error_msg, moreInfo}`."""
    body = orjson.dumps({"error_msg": error.developer_message, "moreInfo": MORE_INFO})
    return JsonBytes(body, error.status, headers)


def management_error(error: ApiError, headers: list[tuple[bytes, bytes]] | None = None) -> JsonBytes:
    """Contentstack's error shape: `error_message`, plus `errors` by field when one is known."""
    body: dict[str, Any] = {"error_code": error.status, "error_message": error.developer_message}
    if error.field:
        body["errors"] = {error.field: [error.developer_message]}
    return JsonBytes(orjson.dumps(body), error.status, headers)


def segment_error(error: ApiError, headers: list[tuple[bytes, bytes]] | None = None) -> JsonBytes:
    """Segment's shape: `{code, message}` (analytics-python raises APIError(status, code, message))."""
    code = _REASONS.get(error.status, "Error").lower().replace(" ", "_")
    body: dict[str, Any] = {"success": False, "code": code, "message": error.developer_message}
    if error.field:
        body["field"] = error.field
    return JsonBytes(orjson.dumps(body), error.status, headers)


def contentstack_error(error: ApiError, headers: list[tuple[bytes, bytes]] | None = None) -> JsonBytes:
    """`{error, message}`: the error's own code (the edge SDK turns `personalize.MANIFEST.PROJECT_NOT_FOUND`
    into "Project not found"), else one named after the status."""
    code = error.code or "personalize." + _REASONS.get(error.status, "Error").upper().replace(" ", "_")
    body: dict[str, Any] = {"error": code, "message": error.developer_message}
    if error.field:
        body["field"] = error.field
    return JsonBytes(orjson.dumps(body), error.status, headers)


_RENDERERS = {
    Dialect.SITECORE: sitecore_error,
    Dialect.STREAM: stream_error,
    Dialect.MANAGEMENT: management_error,
    Dialect.SEGMENT: segment_error,
    Dialect.CONTENTSTACK: contentstack_error,
}


def render_error(dialect: Dialect, error: ApiError, headers: list[tuple[bytes, bytes]] | None = None) -> JsonBytes:
    return _RENDERERS[dialect](error, headers)


STORAGE_RETRY_AFTER = 1  # seconds: a PostgreSQL connection is opened again by the next call


def render_unavailable(dialect: Dialect, exc: Exception) -> JsonBytes:
    """The profile store failed for a reason that may pass (StorageUnavailable): 503 with Retry-After, in
    the route's dialect; the detail goes to the server log, not to the client."""
    _server_log.warning("profile store unavailable: %s", exc)
    message = f"the profile store is unavailable; nothing was stored, retry in {STORAGE_RETRY_AFTER} s"
    error = ApiError(503, message, "(storage)")
    return render_error(dialect, error, [(b"retry-after", str(STORAGE_RETRY_AFTER).encode())])


_STREAM_PREFIXES = ("/v1.2/", "/events/", "/v1/events/")


def dialect_for_path(path: str) -> Dialect:
    """The dialect of a path no route answers (a 404 or 405): browser and event paths' clients read
    `error_msg` (Engage does, even on a 404), management clients Contentstack's shape."""
    if path.startswith(_STREAM_PREFIXES):
        return Dialect.STREAM
    if path.startswith("/management"):
        return Dialect.MANAGEMENT
    return Dialect.SITECORE
