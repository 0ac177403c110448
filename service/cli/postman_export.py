"""`personalize postman export`: the Postman v2.1 collection of every endpoint, with example bodies taken
from the config, `{{baseUrl}}`, and test scripts that check the status and the key fields. The committed
postman/ collection is this export of the demo config (tests/test_postman_collection.py keeps it so)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from connections.postman import collection as connection_collection

from ..config import DEMO_SOURCE
from ..runtime import Runtime

SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
BASE_URL = "http://127.0.0.1:8000"  # where `personalize serve` listens by default
# The embedded demo's published defaults (service/demo/demo.yaml): not secrets, and only ever written for it.
DEMO_MANAGEMENT_TOKEN = "demo-management-token"
DEMO_SANDBOX_SECRET = "sandbox-secret"
BEARER = {"type": "bearer", "bearer": [{"key": "token", "value": "{{managementToken}}", "type": "string"}]}


def _tests(*lines: str) -> list[dict[str, Any]]:
    return [{"listen": "test", "script": {"type": "text/javascript", "exec": list(lines)}}]


def _status(code: int) -> str:
    return f"pm.test('status {code}', () => pm.response.to.have.status({code}));"


def _has(*fields: str) -> str:
    checks = " ".join(f"pm.expect(body).to.have.property('{f}');" for f in fields)
    return f"pm.test('fields: {', '.join(fields)}', () => {{ const body = pm.response.json(); {checks} }});"


def _request(
    name: str,
    method: str,
    path: str,
    body: Any = None,
    auth: bool = False,
    tests: list[str] | None = None,
    headers: dict[str, str] | None = None,
    raw_body: str | None = None,
) -> dict[str, Any]:
    raw_path, _, query = path.partition("?")
    url: dict[str, Any] = {
        "raw": "{{baseUrl}}" + path,
        "host": ["{{baseUrl}}"],
        "path": [p for p in raw_path.split("/") if p],
    }
    if query:
        url["query"] = [{"key": k, "value": v} for k, _, v in (q.partition("=") for q in query.split("&"))]
    request: dict[str, Any] = {
        "method": method,
        "header": [{"key": k, "value": v} for k, v in (headers or {}).items()],
        "url": url,
    }
    if body is not None or raw_body is not None:
        request["header"].append({"key": "Content-Type", "value": "application/json"})
        request["body"] = {
            "mode": "raw",
            "raw": raw_body if raw_body is not None else json.dumps(body, indent=2),
            "options": {"raw": {"language": "json"}},
        }
    if auth:
        request["auth"] = BEARER
    return {"name": name, "request": request, "event": _tests(*(tests or [_status(200)]))}


@dataclass(frozen=True)
class _Named:
    id: str
    friendly_id: str


def build_collection(runtime: Runtime) -> dict[str, Any]:
    project = next(iter(runtime.projects.values()))
    experiences = list(project.catalog.experiences.values())
    # A config with no experiences still gets every request: they name an example id (answered 200 {}).
    example = _Named("example", "example")
    ab = next((e for e in experiences if e.live.kind.value == "ab"), experiences[0] if experiences else example)
    segmented = next((e for e in experiences if e.live.kind.value == "segmented"), ab)
    model = next(iter(project.models.values()), None)
    connection = next(iter(project.connections.values()), None)
    audience = next(iter(project.audiences.values()), None)
    ctx = project.context_ids[0] if project.context_ids else ""
    cloud_sdk = {
        "channel": "WEB",
        "clientKey": "",
        "currencyCode": "EUR",
        "friendlyId": ab.friendly_id,
        "guestRef": "",
        "language": "EN",
        "params": {"utm": {"source": "postman"}},
        "pointOfSale": "",
        "browserId": "{{browserId}}",
    }
    direct = {
        "clientKey": "{{clientKey}}",
        "channel": "WEB",
        "friendlyId": segmented.friendly_id,
        "browserId": "{{browserId}}",
        "params": {},
    }
    interactive = [
        _request(
            f"Cloud SDK: {ab.friendly_id}",
            "POST",
            "/v1/personalize?sitecoreContextId={{contextId}}&siteId=postman",
            cloud_sdk,
            tests=[
                _status(200),
                "pm.test('outcome header', () => "
                "pm.expect(pm.response.headers.get('X-Personalize-Outcome')).to.be.a('string'));",
                "pm.test('decision id and timings', () => { pm.expect(pm.response.headers.get('X-Decision-Id'))"
                ".to.have.length(24); pm.expect(pm.response.headers.get('Server-Timing')).to.include('parse'); "
                "});",
            ],
        ),
        _request(
            "Content SDK (context id header)",
            "POST",
            "/v1/personalize?siteId=postman",
            cloud_sdk,
            headers={"x-sitecore-contextid": "{{contextId}}"},
        ),
        _request(
            "Cloud SDK 0.1.x path", "POST", "/personalize/v2/callFlows?sitecoreContextId={{contextId}}", cloud_sdk
        ),
        _request(f"Direct API: {segmented.friendly_id}", "POST", "/v2/callFlows", direct),
        _request(
            "Legacy Boxever flow ref",
            "POST",
            f"/v2/callFlows/{segmented.friendly_id}",
            {"clientKey": "{{clientKey}}", "channel": "WEB", "browserId": "{{browserId}}", "pointOfSale": ""},
        ),
        _request(
            "Legacy JSS getAudience",
            "POST",
            f"/v2/callFlows/getAudience/{segmented.friendly_id}",
            {
                "clientKey": "{{clientKey}}",
                "pointOfSale": "",
                "browserId": "{{browserId}}",
                "timeout": 400,
                "context": {"utm": {"utm_source": "postman"}},
            },
            tests=[_status(200), _has("variantId", "browserId")] if experiences else [_status(200)],
        ),
        _request(
            "Explain a decision",
            "POST",
            "/v2/callFlows/explain",
            direct,
            auth=True,
            tests=[_status(200), _has("response", "trace")],
        ),
        _request(
            "Preview the draft",
            "POST",
            "/v2/callFlows",
            {**direct, "friendlyId": ab.friendly_id},
            auth=True,
            headers={"X-Personalize-Preview": "draft"},
        ),
        _request(
            "Malformed body: 400 naming the field",
            "POST",
            "/v2/callFlows",
            raw_body='{"clientKey": "{{clientKey}}", "friendlyId": 5}',
            tests=[_status(400), _has("status", "developerMessage", "moreInfo", "moreInfoUrl", "field")],
        ),
    ]
    browser = [
        _request(
            "Create a browser id",
            "GET",
            "/v1/events/v1.2/browser/create.json?sitecoreContextId={{contextId}}&client_key=",
            tests=[
                _status(200),
                _has("ref", "customer_ref"),
                "pm.collectionVariables.set('browserId', pm.response.json().ref);",
            ],
        ),
        _request(
            "Create a browser id (direct API)",
            "GET",
            "/v1.2/browser/create.json?client_key={{clientKey}}",
            tests=[_status(200), _has("ref", "customer_ref")],
        ),
        _request(
            "Show a browser's guest",
            "GET",
            "/v1/events/v1.2/browser/{{browserId}}/show.json?sitecoreContextId={{contextId}}",
            tests=[_status(200), _has("customer")],
        ),
        _request(
            "Create a browser id (Cloud SDK 0.1.x path)",
            "GET",
            "/events/v1.2/browser/create.json?sitecoreContextId={{contextId}}&client_key=",
            tests=[_status(200), _has("ref", "customer_ref")],
        ),
        _request(
            "Show a browser's guest (Engage getGuestId)",
            "GET",
            "/v1.2/browser/{{browserId}}/show.json?client_key={{clientKey}}&api_token=postman",
            tests=[_status(200), _has("customer")],
        ),
    ]
    tools = []
    if model is not None:
        tools.append(
            _request(
                f"Test decision model {model.id}",
                "POST",
                "/v2/testDecisionModel",
                {"context": {"channel": "WEB", "params": {}}, "decisionModelRef": model.id},
                auth=True,
                tests=[_status(200), _has("decisionModelResultNodes", "outputs")],
            )
        )
    if connection is not None:
        tools.append(
            _request(
                f"Test connection {connection.id}",
                "POST",
                "/v2/connections/testConnection",
                {"connection": connection.id, "inputs": {name: "" for name in connection.inputs}},
                auth=True,
                tests=[_status(200), _has("request", "outputs", "kind")],
            )
        )
    found = [_status(200)] if experiences else [_status(404)]
    management = [
        _request("Get All Audiences", "GET", "/management/audiences", auth=True),
        _request("Get All Experiences", "GET", "/management/experiences", auth=True),
        _request(
            "Get a Single Experience",
            "GET",
            f"/management/experiences/{segmented.id}",
            auth=True,
            tests=[_status(200), _has("uid", "__type", "shortUid", "latestVersion")] if experiences else found,
        ),
        _request("Get All Versions", "GET", f"/management/experiences/{ab.id}/versions", auth=True, tests=found),
        _request(
            "Get Audience(s) of a Variant",
            "GET",
            f"/management/experiences/{segmented.id}/variants/0/audiences",
            auth=True,
            tests=found,
        ),
        _request("Connections", "GET", "/management/connections", auth=True),
        _request("Decision models", "GET", "/management/decision-models", auth=True),
        _request("Projects", "GET", "/management/projects", auth=True),
        _request(
            "Reload the config", "POST", "/management/reload", auth=True, tests=[_status(200), _has("status", "errors")]
        ),
        _request("Without a token: 401", "GET", "/management/experiences", tests=[_status(401)]),
    ]
    if audience is not None:
        management.insert(
            1,
            _request(
                "Get a Single Audience",
                "GET",
                f"/management/audiences/{audience.id}",
                auth=True,
                tests=[_status(200), _has("uid", "definition")],
            ),
        )
    if model is not None:
        management.insert(
            -3, _request("One decision model", "GET", f"/management/decision-models/{model.id}", auth=True)
        )
    operations = [
        _request("Health", "GET", "/healthz"),
        _request("Ready", "GET", "/readyz"),
        _request(
            "Metrics",
            "GET",
            "/metrics",
            tests=[
                _status(200),
                "pm.test('prometheus text', () => pm.expect(pm.response.text()).to.include('personalize_'));",
            ],
        ),
        _request("OpenAPI", "GET", "/openapi.json", tests=[_status(200), _has("openapi", "paths")]),
    ]
    folders = [
        ("Interactive Experience", interactive),
        ("Browser identity", browser),
        ("Decision models and connections (test)", tools),
        ("Management", management),
        ("Operations", operations),
    ]
    if runtime.sandbox_secret is not None:
        folders.append(
            (
                "Demo sandbox",
                [
                    _request(
                        "Sandbox token",
                        "POST",
                        "/sandbox/oauth/token",
                        tests=[_status(400)],
                        headers={"Content-Type": "application/x-www-form-urlencoded"},
                    ),
                    _request(
                        "Sandbox recommendations without a token: 401",
                        "GET",
                        "/sandbox/recommendations?tier=gold",
                        tests=[_status(401)],
                    ),
                ],
            )
        )
    connections = connection_collection(list(project.connections.values()))
    items: list[dict[str, Any]] = [{"name": name, "item": reqs} for name, reqs in folders]
    items.append({"name": "Connections (replay the outbound requests)", "item": connections["item"][0]["item"]})
    variables = {
        "baseUrl": BASE_URL,
        "clientKey": project.client_key,
        "contextId": ctx,
        "browserId": "postman-browser",
        "managementToken": "",
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
    values = [("baseUrl", BASE_URL), ("managementToken", DEMO_MANAGEMENT_TOKEN if demo else "")]
    for connection in next(iter(runtime.projects.values())).connections.values():
        if connection.token is not None:
            values.append((f"{connection.id}_clientSecret", DEMO_SANDBOX_SECRET if demo else ""))
    return {
        "name": "personalize demo" if demo else "personalize",
        "values": [{"key": k, "value": v, "enabled": True} for k, v in values],
        "_postman_variable_scope": "environment",
    }
