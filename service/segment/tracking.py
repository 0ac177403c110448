"""Segment's HTTP tracking API (docs/wire-formats.md, "Segment"): what analytics.js, analytics-python and the
other Segment libraries send, stored on the guest each message identifies.

The write key comes in the body (`writeKey`), as HTTP Basic's user with an empty password, or in the body
beside a Bearer token; it names the project. Bodies may be gzipped and labelled text/plain. Limits are
Segment's: a message ≤ 32 KB, a request ≤ 500 KB and ≤ 2,500 messages. A batch is stored in one
transaction; a message that cannot be used is left out and named in the answer, the others are stored.
A `messageId` is stored once per project for a day, so a client's retry is not counted twice.
"""

from __future__ import annotations

import base64
import time
import zlib
from collections.abc import Callable
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope

from ..http.errors import ApiError
from ..http.request import Incoming, read_body
from ..http.responses import JsonBytes
from ..profiles import Event, GuestCache, Identity, Write, event_time
from ..runtime import Project, Runtime

MAX_MESSAGE = 32 * 1024
MAX_REQUEST = 500 * 1024
MAX_MESSAGES = 2500
TYPES = {"track", "identify", "page", "screen", "group", "alias"}
SHORT = {"t": "track", "i": "identify", "p": "page", "s": "screen", "g": "group", "a": "alias", "b": "batch"}


def write_of(message: Any, kind: str | None, now: float) -> Write:
    """The store write of one message; ValueError (the reason) for one that cannot be used."""
    if not isinstance(message, dict):
        raise ValueError("a message is a JSON object")
    if len(orjson.dumps(message)) > MAX_MESSAGE:
        raise ValueError(f"larger than {MAX_MESSAGE} bytes")
    kind = kind or message.get("type")
    if kind not in TYPES:
        raise ValueError(f"type must be one of {', '.join(sorted(TYPES))}")
    identities: list[Identity] = []
    for field, identity_kind in (("userId", "user"), ("anonymousId", "anonymous")):
        value = message.get(field)
        if value is not None and not isinstance(value, str | int):
            raise ValueError(f"{field} must be a string")
        if value not in (None, ""):
            identities.append((identity_kind, str(value)))
    previous = message.get("previousId") if kind == "alias" else None
    if isinstance(previous, str) and previous:
        # The earlier id was a user id or an anonymous id: either way its guest merges into this one.
        identities += [("user", previous), ("anonymous", previous)]
    if not identities:
        raise ValueError("userId or anonymousId is required")
    traits = message.get("traits") if kind == "identify" else None
    if traits is not None and not isinstance(traits, dict):
        raise ValueError("traits must be an object")
    name = message.get("event") if kind == "track" else None
    if kind == "track" and (not isinstance(name, str) or not name):
        raise ValueError("event (the name of what happened) is required for track")
    message_id = message.get("messageId")
    return Write(
        tuple(identities),
        Event(
            type=name if isinstance(name, str) else kind.upper(),
            at=event_time(message.get("timestamp") or message.get("originalTimestamp"), now),
            data=message,
        ),
        dict(traits or {}),
        str(message_id)[:100] if message_id else None,
    )


def _decompressed(raw: bytes, incoming: Incoming) -> bytes:
    if (incoming.header(b"content-encoding") or "").strip().lower() != "gzip":
        return raw
    inflater = zlib.decompressobj(wbits=31)
    try:
        data = inflater.decompress(raw, MAX_REQUEST + 1)  # never more than the limit, whatever the ratio
    except zlib.error as exc:
        raise ApiError(400, f"the body is not gzip: {exc}", "(body)") from None
    if len(data) > MAX_REQUEST:
        raise ApiError(400, f"the body is larger than {MAX_REQUEST} bytes", "(body)")
    return data


class TrackingApi:
    def __init__(self, runtime: Callable[[], Runtime], guests: GuestCache) -> None:
        self.runtime = runtime
        self.guests = guests

    def _project(self, body: dict[str, Any], incoming: Incoming) -> Project:
        key = body.get("writeKey")
        header = incoming.header(b"authorization") or ""
        if not key and header[:6].lower() == "basic ":
            try:
                key = base64.b64decode(header[6:]).decode().partition(":")[0]
            except (ValueError, UnicodeDecodeError):
                raise ApiError(401, "the Basic authorization is not base64 of writeKey:", "writeKey") from None
        if not isinstance(key, str) or not key:
            raise ApiError(401, "a write key is required (writeKey in the body, or HTTP Basic user)", "writeKey")
        project = self.runtime().by_write_key.get(key)
        if project is None:
            raise ApiError(401, "unknown write key", "writeKey")
        return project

    async def track(self, scope: Scope, receive: Receive) -> Response:
        """POST /v1/{track,identify,page,screen,group,alias,batch} and the short /v1/{t,i,p,s,g,a,b}."""
        incoming = Incoming(scope)
        raw = await read_body(receive, incoming, MAX_REQUEST, too_large=400)
        try:
            body = orjson.loads(_decompressed(raw, incoming))
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, f"invalid JSON: {exc}", "(body)") from None
        if not isinstance(body, dict):
            raise ApiError(400, "the body must be a JSON object", "(body)")
        project = self._project(body, incoming)
        scope["state"]["project"] = project
        kind = scope["path"].rsplit("/", 1)[1]
        kind = SHORT.get(kind, kind)
        now = time.time()
        if kind != "batch":
            try:
                writes = [write_of(body, kind, now)]
            except ValueError as exc:
                raise ApiError(400, str(exc), "(body)") from None
            rejected: list[dict[str, Any]] = []
        else:
            writes, rejected = _batch(body, now)
        await self.guests.record(project, writes)
        scope["state"]["log"].update({"project": project.id, "messages": len(writes)})
        answer: dict[str, Any] = {"success": True}
        if rejected:
            answer["rejected"] = rejected
        return JsonBytes(orjson.dumps(answer))


def _batch(body: dict[str, Any], now: float) -> tuple[list[Write], list[dict[str, Any]]]:
    messages = body.get("batch")
    if not isinstance(messages, list):
        raise ApiError(400, "batch must be a list of messages", "batch")
    if len(messages) > MAX_MESSAGES:
        raise ApiError(400, f"a batch holds at most {MAX_MESSAGES} messages", "batch")
    shared = {k: body[k] for k in ("context", "integrations") if isinstance(body.get(k), dict)}
    writes, rejected = [], []
    for index, message in enumerate(messages):
        if isinstance(message, dict) and shared:  # batch-level context and integrations apply to each
            own = {k: message[k] for k in shared if isinstance(message.get(k), dict)}
            message = {**message, **{k: {**v, **own.get(k, {})} for k, v in shared.items()}}
        try:
            writes.append(write_of(message, None, now))
        except ValueError as exc:
            rejected.append({"index": index, "reason": str(exc)})
    return writes, rejected
