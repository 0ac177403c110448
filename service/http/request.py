"""Reading what a request carries at the edge: headers, query, a size-limited body, project, bearer token.

Reads the ASGI scope directly: Starlette's QueryParams and Headers cost ~15 us a request here (parse_qsl
of the whole query, a Headers object per access), a quarter of the request budget (bench/http.py).
"""

from __future__ import annotations

from typing import TypeVar
from urllib.parse import unquote_plus

from pydantic import BaseModel
from starlette.types import Receive, Scope

from ..runtime import Project, Runtime
from .errors import ApiError
from .json_bodies import parse


class Incoming:
    """The headers (first value wins) and query of one request, looked up by name."""

    __slots__ = ("_query", "headers", "query_string")

    def __init__(self, scope: Scope) -> None:
        self.headers: dict[bytes, bytes] = {}
        for name, value in reversed(scope["headers"]):
            self.headers[name] = value
        self.query_string: bytes = scope.get("query_string", b"")
        self._query: dict[str, str] | None = None

    def header(self, name: bytes) -> str | None:
        value = self.headers.get(name)
        return value.decode("latin-1") if value is not None else None

    def query(self, name: str) -> str | None:
        """A query parameter's first value (the query is split once, on first use)."""
        if not self.query_string:
            return None
        if self._query is None:
            self._query = {}
            for part in reversed(self.query_string.split(b"&")):
                text = part.decode("latin-1")
                key, _, value = text.partition("=")
                if "%" in text or "+" in text:  # unquoting costs ~1 us a parameter; most need none
                    key, value = unquote_plus(key), unquote_plus(value)
                self._query[key] = value
        return self._query.get(name)

    def header_map(self) -> dict[str, str]:
        """Every header as str -> str, for audience rules that read `headers.*`."""
        return {k.decode("latin-1"): v.decode("latin-1") for k, v in self.headers.items()}

    def context_id(self) -> str:
        """Edge context id: `sitecoreContextId` query (Cloud SDK) or `x-sitecore-contextid` header (Content SDK)."""
        return self.query("sitecoreContextId") or self.header(b"x-sitecore-contextid") or ""

    def bearer_token(self) -> str | None:
        header = self.header(b"authorization") or ""
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def read_body(receive: Receive, incoming: Incoming, limit: int, too_large: int = 413) -> bytes:
    """The body, or `too_large` (413; Segment's clients expect 400) as soon as it is known to exceed `limit`
    bytes, before reading it all. A body that stalls is the server's to end (service/http/server.py: 408
    after settings.bodyTimeoutMs); this sees the client leave."""
    declared = incoming.headers.get(b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(too_large, f"body of {declared.decode()} bytes exceeds the limit of {limit} bytes", "(body)")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ApiError(400, "the client disconnected before sending the whole body", "(body)")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ApiError(too_large, f"body exceeds the limit of {limit} bytes", "(body)")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def resolve_project(runtime: Runtime, client_key: str | None, ctx: str) -> Project:
    """The project named by context id (edge clients) or clientKey (direct API); 401 when unknown."""
    if ctx:
        project = runtime.by_context_id.get(ctx)
        if project is None:
            raise ApiError(401, "unknown sitecoreContextId", "sitecoreContextId")
        return project
    if client_key:
        project = runtime.by_client_key.get(client_key)
        if project is None:
            raise ApiError(401, "unknown clientKey", "clientKey")
        return project
    raise ApiError(401, "clientKey is required (or sitecoreContextId on edge endpoints)", "clientKey")


def require_management(incoming: Incoming, runtime: Runtime) -> None:
    """401 unless the request carries one of the configured management bearer tokens."""
    token = incoming.bearer_token()
    if token is None:
        raise ApiError(401, "a management bearer token is required (Authorization: Bearer ...)", "Authorization")
    if not runtime.is_management_token(token):
        raise ApiError(401, "the management bearer token is not valid", "Authorization")


Body = TypeVar("Body", bound=BaseModel)


async def read_json_body(scope: Scope, receive: Receive, runtime: Runtime, model: type[Body]) -> Body:
    """A JSON body validated by `model`: 413 / 408 / 400 naming the field otherwise."""
    raw = await read_body(receive, Incoming(scope), runtime.max_body_bytes)
    return parse(model, raw)
