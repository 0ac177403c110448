"""The routes of Segment's tracking API, declared once (service/http/routing.py): the long paths the
libraries document and the one-letter ones analytics.js uses."""

from __future__ import annotations

from typing import Any

from ..http.errors import Dialect
from ..http.routing import Example, Facts, RouteSpec, has, status
from .tracking import SHORT, TrackingApi

TRACK = {
    "type": "track",
    "event": "Item Purchased",
    "properties": {"revenue": 14.99},
    "userId": "postman-user",
    "anonymousId": None,
    "messageId": "{{$guid}}",
    "timestamp": "2026-11-30T12:00:00.000+00:00",
    "writeKey": "{{segmentWriteKey}}",
}


def _examples(kind: str) -> list[Example] | None:
    if kind == "batch":
        body = {"batch": [{k: v for k, v in TRACK.items() if k != "writeKey"}], "writeKey": "{{segmentWriteKey}}"}
        return [Example("Segment batch (analytics-python)", "/v1/batch", body, tests=(status(200), has("success")))]
    if kind == "track":
        return [
            Example("Segment track", "/v1/track", TRACK, tests=(status(200), has("success"))),
            Example(
                "Segment track without a write key: 401",
                "/v1/track",
                {k: v for k, v in TRACK.items() if k != "writeKey"},
                tests=(status(401), has("code", "message")),
            ),
        ]
    message: dict[str, Any] = {"type": kind, "userId": "postman-user", "writeKey": "{{segmentWriteKey}}"}
    if kind == "identify":
        message["traits"] = {"email": "ana@example.com", "plan": "gold"}
    if kind == "alias":
        message["previousId"] = "postman-anonymous"
    return [Example(f"Segment {kind}", f"/v1/{kind}", message, tests=(status(200), has("success")))]


def _spec(path: str, kind: str, short: bool) -> RouteSpec:
    def examples(facts: Facts, kind: str = kind, path: str = path) -> list[Example]:
        if not short:
            return _examples(kind) or []
        body: dict[str, Any] = {
            "type": "page" if kind == "batch" else kind,
            "userId": "postman-user",
            "writeKey": "{{segmentWriteKey}}",
        }
        if kind == "track":
            body["event"] = "Short path"
        if kind == "batch":
            body = {"batch": [body], "writeKey": "{{segmentWriteKey}}"}
        return [Example(f"Segment {kind} (analytics.js short path {path})", path, body, tests=(status(200),))]

    return RouteSpec(
        "POST",
        path,
        TrackingApi,
        TrackingApi.track,
        f"Segment {kind}" + (" (analytics.js short path)" if short else ""),
        "Segment tracking",
        Dialect.SEGMENT,
        headers=(("content-encoding", "gzip (optional)"), ("authorization", "Basic base64(writeKey:) (optional)")),
        statuses=(400, 401),
        examples=examples,
        hot=True,
    )


SEGMENT_ROUTES: tuple[RouteSpec, ...] = (
    *(_spec(f"/v1/{kind}", kind, False) for kind in ("track", "identify", "page", "screen", "group", "alias", "batch")),
    *(_spec(f"/v1/{letter}", kind, True) for letter, kind in SHORT.items()),
)
