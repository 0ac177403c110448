"""`personalize postman export`: the Postman v2.1 collection of every endpoint, with example bodies taken
from the config, `{{baseUrl}}`, and test scripts that check the status and the key fields. The committed
postman/ collection is this export of the demo config (tests/test_postman_collection.py keeps it so)."""

from __future__ import annotations

import json
from typing import Any

from connections import OAuth2ClientCredentials
from connections.postman import collection as connection_collection

from ..config import DEMO_SOURCE
from ..http.routing import Access, Example, Facts, RouteSpec, status
from ..routes import served
from ..runtime import Runtime

SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
BASE_URL = "http://127.0.0.1:8000"  # where `personalize serve` listens by default
# The embedded demo's published defaults (service/demo/demo.yaml): not secrets, and only ever written for it.
DEMO_MANAGEMENT_TOKEN = "demo-management-token"
DEMO_SANDBOX_SECRET = "sandbox-secret"
DEMO_WEBHOOK_SECRET = "whsec_ZGVtby13ZWJob29rLXNlY3JldC0wMDAwMDAwMDAw"  # demo.yaml's default, published
DEMO_SEGMENT_WRITE_KEY = "demo"
BEARER = {"type": "bearer", "bearer": [{"key": "token", "value": "{{managementToken}}", "type": "string"}]}


def _tests(*lines: str) -> list[dict[str, Any]]:
    return [{"listen": "test", "script": {"type": "text/javascript", "exec": list(lines)}}]


def _request(spec: RouteSpec, example: Example) -> dict[str, Any]:
    raw_path, _, query = example.path.partition("?")
    url: dict[str, Any] = {
        "raw": "{{baseUrl}}" + example.path,
        "host": ["{{baseUrl}}"],
        "path": [p for p in raw_path.split("/") if p],
    }
    if query:
        url["query"] = [{"key": k, "value": v} for k, _, v in (q.partition("=") for q in query.split("&"))]
    request: dict[str, Any] = {
        "method": spec.method,
        "header": [{"key": k, "value": v} for k, v in example.headers.items()],
        "url": url,
    }
    if example.body is not None or example.raw_body is not None:
        request["header"].append({"key": "Content-Type", "value": "application/json"})
        request["body"] = {
            "mode": "raw",
            "raw": example.raw_body if example.raw_body is not None else json.dumps(example.body, indent=2),
            "options": {"raw": {"language": "json"}},
        }
    authorized = example.authorized if example.authorized is not None else spec.access is Access.MANAGEMENT
    if authorized:
        request["auth"] = BEARER
    return {"name": example.name, "request": request, "event": _tests(*(example.tests or (status(200),)))}


def facts(runtime: Runtime) -> Facts:
    """What the examples of the first project name (an `example` id where the config has none)."""
    project = next(iter(runtime.projects.values()))
    experiences = list(project.catalog.experiences.values())
    ab = next((e for e in experiences if e.live.kind.value == "ab"), experiences[0] if experiences else None)
    segmented = next((e for e in experiences if e.live.kind.value == "segmented"), ab)
    model = next(iter(project.models.values()), None)
    connection = next(iter(project.connections.values()), None)
    audience = next(iter(project.audiences.values()), None)
    return Facts(
        has_experiences=bool(experiences),
        ab_friendly_id=ab.friendly_id if ab else "example",
        ab_id=ab.id if ab else "example",
        segmented_friendly_id=segmented.friendly_id if segmented else "example",
        segmented_id=segmented.id if segmented else "example",
        model_id=model.id if model else None,
        connection_id=connection.id if connection else None,
        connection_inputs=tuple(connection.inputs) if connection else (),
        audience_id=audience.id if audience else None,
    )


def build_collection(runtime: Runtime) -> dict[str, Any]:
    """Every route the config serves, as Postman requests grouped by tag, plus a folder replaying each
    connection's own outbound request."""
    project = next(iter(runtime.projects.values()))
    known = facts(runtime)
    folders: dict[str, list[dict[str, Any]]] = {}
    for spec in served(runtime):
        folders.setdefault(spec.tag, []).extend(_request(spec, example) for example in spec.examples(known))
    items: list[dict[str, Any]] = [{"name": name, "item": requests} for name, requests in folders.items()]
    connections = connection_collection(list(project.connections.values()))
    items.append({"name": "Connections (replay the outbound requests)", "item": connections["item"][0]["item"]})
    variables = {
        "baseUrl": BASE_URL,
        "clientKey": project.client_key,
        "contextId": project.context_ids[0] if project.context_ids else "",
        "browserId": "postman-browser",
        "segmentWriteKey": "",
        "managementToken": "",
        "destination": next((c.id for c in project.connections.values() if c.kind == "destination"), "none"),
    }
    # Connections to the service's own address (the demo's sandbox) follow {{baseUrl}} (Postman resolves
    # variables inside variable values), so setting baseUrl alone points every request at one server.
    variables.update({v["key"]: _follow_base(v["value"]) for v in connections["variable"]})
    return {
        "info": {
            "name": "personalize",
            "schema": SCHEMA,
            "description": "Every endpoint of the service. Generated by `personalize postman export`.",
        },
        "item": items,
        "variable": [{"key": k, "value": v} for k, v in variables.items()],
    }


def _follow_base(value: str) -> str:
    if value == BASE_URL or value.startswith(BASE_URL + "/"):
        return "{{baseUrl}}" + value[len(BASE_URL) :]
    return value


def environment(runtime: Runtime) -> dict[str, Any]:
    """The environment: where the service runs and its credentials. Only the embedded demo's published,
    non-production credentials are filled in; for any other config the credential values are left empty
    (a config's own secrets are never written to a file)."""
    demo = runtime.source == DEMO_SOURCE
    values = [
        ("baseUrl", BASE_URL),
        ("managementToken", DEMO_MANAGEMENT_TOKEN if demo else ""),
        ("segmentWriteKey", DEMO_SEGMENT_WRITE_KEY if demo else ""),
    ]
    for connection in next(iter(runtime.projects.values())).connections.values():
        if isinstance(connection.auth, OAuth2ClientCredentials):
            values.append((f"{connection.id}_clientSecret", DEMO_SANDBOX_SECRET if demo else ""))
        if connection.signing:
            values.append((f"{connection.id}_signingSecret", DEMO_WEBHOOK_SECRET if demo else ""))
    return {
        "name": "personalize demo" if demo else "personalize",
        "values": [{"key": k, "value": v, "enabled": True} for k, v in values],
        "_postman_variable_scope": "environment",
    }
