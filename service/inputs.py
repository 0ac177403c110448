"""Reading what a request carries at the edge: a size-limited body, the project, the bearer token."""

from __future__ import annotations

from starlette.requests import Request

from .errors import ApiError
from .runtime import Project, Runtime


async def read_body(request: Request, limit: int) -> bytes:
    """The body, or 413 as soon as it is known to exceed `limit` bytes (before reading it all)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"body of {declared} bytes exceeds the limit of {limit} bytes", "(body)")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"body exceeds the limit of {limit} bytes", "(body)")
        chunks.append(chunk)
    return b"".join(chunks)


def context_id(request: Request) -> str:
    """The edge context id: `sitecoreContextId` query (Cloud SDK) or `x-sitecore-contextid` header (Content SDK)."""
    return request.query_params.get("sitecoreContextId") or request.headers.get("x-sitecore-contextid") or ""


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


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def require_management(request: Request, runtime: Runtime) -> None:
    """401 unless the request carries one of the configured management bearer tokens."""
    token = bearer_token(request)
    if token is None:
        raise ApiError(401, "a management bearer token is required (Authorization: Bearer ...)", "Authorization")
    if not runtime.is_management_token(token):
        raise ApiError(401, "the management bearer token is not valid", "Authorization")
