"""GET /openapi.json: OpenAPI 3.1 for the routes a config serves, generated from their declarations
(service/routes.py): request bodies from the same pydantic models the handlers validate with, error
bodies in each route's dialect."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .http.errors import Dialect
from .http.routing import Access, RouteSpec

MANAGEMENT: list[dict[str, list[str]]] = [{"bearerAuth": []}]
JSON = "application/json"


class SitecoreError(BaseModel):
    """callFlows error body (both moreInfo spellings)."""

    status: int
    code: int
    message: str
    developerMessage: str
    moreInfo: str
    moreInfoUrl: str
    field: str | None = None


class StreamError(BaseModel):
    """Browser and stream endpoints' error body."""

    error_msg: str
    moreInfo: str


class ManagementError(BaseModel):
    """Management API error body (Contentstack's shape)."""

    error_code: int
    error_message: str
    errors: dict[str, list[str]] | None = None


class SegmentError(BaseModel):
    """Segment's tracking API error body (analytics-python reads code and message)."""

    success: bool
    code: str
    message: str
    field: str | None = None


class ContentstackError(BaseModel):
    """Contentstack Edge API error body."""

    error: str
    message: str
    field: str | None = None


ERROR_BODIES: dict[Dialect, type[BaseModel]] = {
    Dialect.SITECORE: SitecoreError,
    Dialect.STREAM: StreamError,
    Dialect.MANAGEMENT: ManagementError,
    Dialect.SEGMENT: SegmentError,
    Dialect.CONTENTSTACK: ContentstackError,
}


def _components(specs: tuple[RouteSpec, ...]) -> dict[str, Any]:
    bodies = {spec.body.__name__: spec.body for spec in specs if spec.body is not None}
    models: list[type[BaseModel]] = [*bodies.values(), *ERROR_BODIES.values()]
    _, schema = models_json_schema([(m, "validation") for m in models], ref_template="#/components/schemas/{model}")
    definitions: dict[str, Any] = schema.get("$defs", {})
    return definitions


def build_openapi(specs: tuple[RouteSpec, ...], version: str) -> dict[str, Any]:
    """The document for the given routes."""
    spec_paths: dict[str, dict[str, Any]] = {}
    for op in specs:
        method, path = op.method.lower(), op.path
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in _path_params(path)
        ]
        parameters += [
            {"name": n, "in": "query", "required": False, "description": d, "schema": {"type": "string"}}
            for n, d in op.query
        ]
        parameters += [
            {"name": n, "in": "header", "required": False, "description": d, "schema": {"type": "string"}}
            for n, d in op.headers
        ]
        responses: dict[str, Any] = {"200": {"description": "The answer", "content": {op.content: {"schema": {}}}}}
        for status in op.statuses:
            responses[str(status)] = {
                "description": "Error",
                "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{ERROR_BODIES[op.dialect].__name__}"}}},
            }
        operation: dict[str, Any] = {
            "summary": op.summary,
            "tags": [op.tag],
            "operationId": _operation_id(method, path),
            "parameters": parameters,
            "responses": responses,
        }
        if op.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{op.body.__name__}"}}},
            }
        if op.access is Access.MANAGEMENT:
            operation["security"] = MANAGEMENT
        spec_paths.setdefault(_openapi_path(path), {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "personalize",
            "version": version,
            "description": "Self-hosted decisioning service, wire-compatible with Sitecore Personalize.",
        },
        "paths": spec_paths,
        "components": {
            "schemas": _components(specs),
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "A management token from the config"}
            },
        },
    }


def _path_params(path: str) -> list[str]:
    return [part[1:-1].split(":")[0] for part in path.split("/") if part.startswith("{")]


def _openapi_path(path: str) -> str:
    return "/".join(f"{{{p[1:-1].split(':')[0]}}}" if p.startswith("{") else p for p in path.split("/"))


def _operation_id(method: str, path: str) -> str:
    cleaned = "".join(c if c.isalnum() else "_" for c in path).strip("_")
    return f"{method}_{cleaned}"
