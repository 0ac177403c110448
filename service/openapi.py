"""GET /openapi.json: OpenAPI 3.1 for every route, request bodies from the same pydantic models the
handlers validate with. Operations are described here, by (method, path); tests/test_openapi.py fails
when the app has a route this table does not describe."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .management.connection_testing import TestConnectionBody
from .sitecore.body import CallFlowBody
from .sitecore.model_testing import TestModelBody

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


@dataclass(frozen=True)
class Operation:
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    error: type[BaseModel] = SitecoreError
    secured: bool = False
    query: tuple[tuple[str, str], ...] = ()  # (name, description)
    headers: tuple[tuple[str, str], ...] = ()
    ok: str = "The answer, as JSON"
    content: str = JSON
    extra_status: tuple[int, ...] = field(default=())


CALL = Operation(
    "Run the live experience named by friendlyId; the body is the rendered template",
    "Interactive Experience",
    CallFlowBody,
    query=(
        ("sitecoreContextId", "Edge context id (Cloud SDK)"),
        ("siteId", "Site name (ignored)"),
        ("preview", "draft: run the draft version"),
    ),
    headers=(
        ("x-sitecore-contextid", "Edge context id (Content SDK)"),
        ("x-personalize-preview", "draft: run the draft version (management token)"),
    ),
    extra_status=(400, 401, 413),
)
MGMT_PROJECT = (("x-project-uid", "The project (its Contentstack project uid or id)"),)
PAGED = (("skip", "Items to skip"), ("limit", "Items to return (1-1000)"))


def _listing(summary: str, headers: tuple[tuple[str, str], ...] = MGMT_PROJECT) -> Operation:
    """A management list: token, project header, skip/limit."""
    return Operation(
        summary,
        "Management",
        error=ManagementError,
        secured=True,
        query=PAGED,
        headers=headers,
        extra_status=(400, 401, 404),
    )


def _single(summary: str, query: tuple[tuple[str, str], ...] = ()) -> Operation:
    """One management object by id."""
    return Operation(
        summary,
        "Management",
        error=ManagementError,
        secured=True,
        query=query,
        headers=MGMT_PROJECT,
        extra_status=(400, 401, 404) if query else (401, 404),
    )


OPERATIONS: dict[tuple[str, str], Operation] = {
    ("post", "/v2/callFlows"): CALL,
    ("post", "/v1/personalize"): CALL,
    ("post", "/personalize/v2/callFlows"): CALL,
    ("post", "/v2/callFlows/{flow_ref}"): CALL,
    ("post", "/v2/callFlows/getAudience/{friendly_id}"): Operation(
        "Legacy JSS getAudience: {variantId, browserId}",
        "Interactive Experience",
        CallFlowBody,
        extra_status=(400, 401, 413),
    ),
    ("post", "/v2/callFlows/explain"): Operation(
        "The same decision with its trace: {response, trace}",
        "Interactive Experience",
        CallFlowBody,
        secured=True,
        query=CALL.query,
        headers=CALL.headers,
        extra_status=(400, 401, 413),
    ),
    ("get", "/v1/events/v1.2/browser/create.json"): Operation(
        "A new browser id and its guest ref",
        "Browser identity",
        error=StreamError,
        query=(("sitecoreContextId", "Edge context id"), ("client_key", "Client key (direct API)")),
        extra_status=(401,),
    ),
    ("get", "/events/v1.2/browser/create.json"): Operation(
        "A new browser id and its guest ref (Cloud SDK 0.1.x path)",
        "Browser identity",
        error=StreamError,
        query=(("sitecoreContextId", "Edge context id"), ("client_key", "Client key (direct API)")),
        extra_status=(401,),
    ),
    ("get", "/v1.2/browser/{browser_id}/show.json"): Operation(
        "The guest ref of a browser id (Engage getGuestId)",
        "Browser identity",
        error=StreamError,
        query=(("client_key", "Client key"), ("api_token", "Ignored (Engage sends it)")),
        extra_status=(400, 401),
    ),
    ("get", "/v1.2/browser/create.json"): Operation(
        "A new browser id and its guest ref (direct API)",
        "Browser identity",
        error=StreamError,
        query=(("client_key", "Client key"), ("message", "Ignored")),
        extra_status=(401,),
    ),
    ("get", "/v1/events/v1.2/browser/{browser_id}/show.json"): Operation(
        "The guest ref of a browser id",
        "Browser identity",
        error=StreamError,
        query=(("sitecoreContextId", "Edge context id"), ("client_key", "Client key")),
        extra_status=(400, 401),
    ),
    ("post", "/v2/testDecisionModel"): Operation(
        "Run a decision model variant on a context; every node's result",
        "Decision models",
        TestModelBody,
        secured=True,
        extra_status=(400, 401, 404),
    ),
    ("post", "/v2/connections/testConnection"): Operation(
        "Run a connection once; the request sent (secrets redacted), the response, the outputs",
        "Connections",
        TestConnectionBody,
        secured=True,
        extra_status=(400, 401, 404),
    ),
    ("get", "/management/audiences"): _listing("Get All Audiences"),
    ("get", "/management/audiences/{uid}"): _single("Get a Single Audience"),
    ("get", "/management/experiences"): _listing("Get All Experiences"),
    ("get", "/management/experiences/{uid}"): _single("Get a Single Experience"),
    ("get", "/management/experiences/{uid}/versions"): _listing("Get All Versions of an experience"),
    ("get", "/management/experiences/{uid}/variants/{variant}/audiences"): _single(
        "Get Audience(s) of a Variant (active version; ?version=draft for the draft)",
        query=(("version", "active or draft"),),
    ),
    ("get", "/management/connections"): _listing("Connections (secrets redacted)"),
    ("get", "/management/decision-models"): _listing("Decision models and their variants"),
    ("get", "/management/decision-models/{uid}"): _single("One decision model"),
    ("get", "/management/projects"): Operation(
        "Projects (write keys counted, never shown)",
        "Management",
        error=ManagementError,
        secured=True,
        query=PAGED,
        extra_status=(400, 401),
    ),
    ("post", "/management/reload"): Operation(
        "Reload the config: validated first, swapped whole",
        "Management",
        error=ManagementError,
        secured=True,
        extra_status=(401, 422),
    ),
    ("get", "/healthz"): Operation("The process is up", "Operations"),
    ("get", "/readyz"): Operation("The config is loaded", "Operations"),
    ("get", "/metrics"): Operation("Prometheus metrics", "Operations", content="text/plain"),
    ("get", "/openapi.json"): Operation("This document", "Operations"),
    ("post", "/sandbox/oauth/token"): Operation(
        "Demo sandbox: client_credentials token",
        "Demo sandbox",
        error=StreamError,
        content=JSON,
        extra_status=(400, 401),
    ),
    ("get", "/sandbox/recommendations"): Operation(
        "Demo sandbox: recommendations (Bearer token)",
        "Demo sandbox",
        error=StreamError,
        query=(("tier", "Loyalty tier"),),
        extra_status=(401,),
    ),
}


def _components() -> dict[str, Any]:
    models: list[type[BaseModel]] = [
        CallFlowBody,
        TestModelBody,
        TestConnectionBody,
        SitecoreError,
        StreamError,
        ManagementError,
    ]
    _, schema = models_json_schema([(m, "validation") for m in models], ref_template="#/components/schemas/{model}")
    definitions: dict[str, Any] = schema.get("$defs", {})
    return definitions


def build_openapi(paths: list[tuple[str, str]], version: str) -> dict[str, Any]:
    """The document for the given (method, path) routes; an undescribed route raises KeyError."""
    spec_paths: dict[str, dict[str, Any]] = {}
    for method, path in paths:
        op = OPERATIONS[(method, path)]
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
        responses: dict[str, Any] = {"200": {"description": op.ok, "content": {op.content: {"schema": {}}}}}
        for status in op.extra_status:
            responses[str(status)] = {
                "description": "Error",
                "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{op.error.__name__}"}}},
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
        if op.secured:
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
            "schemas": _components(),
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
