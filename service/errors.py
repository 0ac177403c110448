"""Error bodies in the shapes existing clients parse (sitecore-interactive-api.md section 6)."""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from starlette.responses import Response

MORE_INFO = "README.md#errors"  # clients show it; the README lists every status and its cause
_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
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


def sitecore_error(error: ApiError, headers: Mapping[str, str] | None = None) -> Response:
    """callFlows error body: both `moreInfo` (docs, .NET SDK) and `moreInfoUrl` (Cloud SDK types)."""
    body: dict[str, object] = {
        "status": error.status,
        "code": error.status,
        "message": _REASONS.get(error.status, "Error"),
        "developerMessage": error.developer_message,
        "moreInfo": MORE_INFO,
        "moreInfoUrl": MORE_INFO,
    }
    if error.field is not None:
        body["field"] = error.field
    return Response(orjson.dumps(body), error.status, headers=headers, media_type="application/json")


def stream_error(error: ApiError, headers: Mapping[str, str] | None = None) -> Response:
    """Browser and stream endpoints' error body: `{error_msg, moreInfo}`."""
    body = {"error_msg": error.developer_message, "moreInfo": MORE_INFO}
    return Response(orjson.dumps(body), error.status, headers=headers, media_type="application/json")
