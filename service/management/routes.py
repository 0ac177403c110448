"""The management-token routes, declared once (service/http/routing.py): Contentstack-shaped reads,
this service's own objects, reload, and the connection test endpoint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..http.errors import Dialect
from ..http.routing import Access, Example, Facts, RouteSpec, has, status
from .api import ManagementApi
from .connection_testing import ConnectionsApi, TestConnectionBody

PROJECT = (("x-project-uid", "The project (its Contentstack project uid or id)"),)
PAGED = (("skip", "Items to skip"), ("limit", "Items to return (1-1000)"))
TAG = "Management"


def _read(
    path: str,
    handler: Callable[..., Any],
    summary: str,
    examples: Callable[[Facts], list[Example]],
    *,
    listing: bool,
    query: tuple[tuple[str, str], ...] = (),
    headers: tuple[tuple[str, str], ...] = PROJECT,
) -> RouteSpec:
    """A management GET: token, project header; a list takes skip/limit."""
    return RouteSpec(
        "GET",
        f"/management{path}",
        ManagementApi,
        handler,
        summary,
        TAG,
        Dialect.MANAGEMENT,
        Access.MANAGEMENT,
        query=PAGED + query if listing else query,
        headers=headers,
        statuses=(400, 401, 404) if listing or query else (401, 404),
        examples=examples,
    )


def _found(facts: Facts, *fields: str) -> tuple[str, ...]:
    """An object of the config answers 200 with its fields; the `example` id of an empty config, 404."""
    return (status(200), *((has(*fields),) if fields else ())) if facts.has_experiences else (status(404),)


MANAGEMENT_ROUTES: tuple[RouteSpec, ...] = (
    _read(
        "/audiences",
        ManagementApi.audiences,
        "Get All Audiences",
        lambda f: [Example("Get All Audiences", "/management/audiences")],
        listing=True,
    ),
    _read(
        "/audiences/{uid}",
        ManagementApi.audience,
        "Get a Single Audience",
        lambda f: [
            Example(
                "Get a Single Audience",
                f"/management/audiences/{f.audience_id or 'example'}",
                tests=(status(200), has("uid", "definition")) if f.audience_id else (status(404),),
            )
        ],
        listing=False,
    ),
    _read(
        "/experiences",
        ManagementApi.experiences,
        "Get All Experiences",
        lambda f: [
            Example("Get All Experiences", "/management/experiences"),
            Example("Without a token: 401", "/management/experiences", tests=(status(401),), authorized=False),
        ],
        listing=True,
    ),
    _read(
        "/experiences/{uid}",
        ManagementApi.experience,
        "Get a Single Experience",
        lambda f: [
            Example(
                "Get a Single Experience",
                f"/management/experiences/{f.segmented_id}",
                tests=_found(f, "uid", "__type", "shortUid", "latestVersion"),
            )
        ],
        listing=False,
    ),
    _read(
        "/experiences/{uid}/versions",
        ManagementApi.experience_versions,
        "Get All Versions of an experience",
        lambda f: [Example("Get All Versions", f"/management/experiences/{f.ab_id}/versions", tests=_found(f))],
        listing=True,
    ),
    _read(
        "/experiences/{uid}/variants/{variant}/audiences",
        ManagementApi.variant_audiences,
        "Get Audience(s) of a Variant (active version; ?version=draft for the draft)",
        lambda f: [
            Example(
                "Get Audience(s) of a Variant",
                f"/management/experiences/{f.segmented_id}/variants/0/audiences",
                tests=_found(f),
            )
        ],
        listing=False,
        query=(("version", "active or draft"),),
    ),
    _read(
        "/connections",
        ManagementApi.connections,
        "Connections (secrets redacted)",
        lambda f: [Example("Connections", "/management/connections")],
        listing=True,
    ),
    _read(
        "/decision-models",
        ManagementApi.decision_models,
        "Decision models and their variants",
        lambda f: [Example("Decision models", "/management/decision-models")],
        listing=True,
    ),
    _read(
        "/decision-models/{uid}",
        ManagementApi.decision_model,
        "One decision model",
        lambda f: [
            Example(
                "One decision model",
                f"/management/decision-models/{f.model_id or 'example'}",
                tests=(status(200),) if f.model_id else (status(404),),
            )
        ],
        listing=False,
    ),
    _read(
        "/projects",
        ManagementApi.projects,
        "Projects (write keys counted, never shown)",
        lambda f: [Example("Projects", "/management/projects")],
        listing=True,
        headers=(),
    ),
    RouteSpec(
        "POST",
        "/management/reload",
        ManagementApi,
        ManagementApi.reload,
        "Reload the config: validated first, swapped whole",
        TAG,
        Dialect.MANAGEMENT,
        Access.MANAGEMENT,
        statuses=(401, 422),
        examples=lambda f: [
            Example("Reload the config", "/management/reload", tests=(status(200), has("status", "errors")))
        ],
    ),
    RouteSpec(
        "POST",
        "/v2/connections/testConnection",
        ConnectionsApi,
        ConnectionsApi.test_connection,
        "Run a connection once; the request sent (secrets redacted), the response, the outputs",
        "Decision models and connections (test)",
        access=Access.MANAGEMENT,
        body=TestConnectionBody,
        statuses=(400, 401, 404, 408, 413),
        examples=lambda f: [
            Example(
                f"Test connection {f.connection_id or 'example'}",
                "/v2/connections/testConnection",
                {"connection": f.connection_id or "example", "inputs": {name: "" for name in f.connection_inputs}},
                tests=(status(200), has("request", "outputs", "kind")) if f.connection_id else (status(404),),
            )
        ],
    ),
)
