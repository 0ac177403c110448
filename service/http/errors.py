"""Error bodies in the shapes existing clients parse (sitecore-interactive-api.md section 6)."""

from __future__ import annotations

import orjson

from .responses import JsonBytes

MORE_INFO = "README.md#errors"  # clients show it; the README lists every status and its cause
_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class ApiError(Exception):
    """Raised at the edge to reject a request; rendered in the dialect of the endpoint."""

    def __init__(self, status: int, developer_message: str, field: str | None = None) -> None:
        super().__init__(developer_message)
        self.status = status
        self.developer_message = developer_message
        self.field = field


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


_STREAM_PREFIXES = ("/v1.2/", "/events/", "/v1/events/")


def is_stream_path(path: str) -> bool:
    """The browser and event (stream) paths, whose clients read errors as `{error_msg}`."""
    return path.startswith(_STREAM_PREFIXES)
