"""The routes of Sitecore's dialect, declared once (service/http/routing.py): callFlows in every path form
the SDKs use, getAudience, explain, browser identity, and the decision-model test endpoint."""

from __future__ import annotations

from typing import Any

from ..http.errors import Dialect
from ..http.routing import Access, Example, Facts, RouteSpec, has, status
from .body import CallFlowBody
from .browser import BrowserApi
from .callflows import InteractiveApi
from .model_testing import TestModelBody
from .model_testing_api import ModelsApi

CALL_QUERY = (
    ("sitecoreContextId", "Edge context id (Cloud SDK)"),
    ("siteId", "Site name (ignored)"),
    ("preview", "draft: run the draft version"),
)
CALL_HEADERS = (
    ("x-sitecore-contextid", "Edge context id (Content SDK)"),
    ("x-personalize-preview", "draft: run the draft version (management token)"),
)
DIAGNOSTICS = (
    "pm.test('outcome header', () => pm.expect(pm.response.headers.get('X-Personalize-Outcome')).to.be.a('string'));",
    "pm.test('decision id and timings', () => { pm.expect(pm.response.headers.get('X-Decision-Id'))"
    ".to.have.length(24); pm.expect(pm.response.headers.get('Server-Timing')).to.include('parse'); });",
)


def cloud_sdk_body(facts: Facts) -> dict[str, Any]:
    """What the Cloud and Content SDKs post: empty clientKey and pointOfSale, upper-case language."""
    return {
        "channel": "WEB",
        "clientKey": "",
        "currencyCode": "EUR",
        "friendlyId": facts.ab_friendly_id,
        "guestRef": "",
        "language": "EN",
        "params": {"utm": {"source": "postman"}},
        "pointOfSale": "",
        "browserId": "{{browserId}}",
    }


def direct_body(facts: Facts) -> dict[str, Any]:
    return {
        "clientKey": "{{clientKey}}",
        "channel": "WEB",
        "friendlyId": facts.segmented_friendly_id,
        "browserId": "{{browserId}}",
        "params": {},
    }


def _call(method_path: str, summary: str, examples: Any) -> RouteSpec:
    method, path = method_path.split(" ")
    return RouteSpec(
        method,
        path,
        InteractiveApi,
        InteractiveApi.call_flows,
        summary,
        "Interactive Experience",
        body=CallFlowBody,
        query=CALL_QUERY,
        headers=CALL_HEADERS,
        statuses=(400, 401, 408, 413),
        examples=examples,
        hot="{" not in path,  # the SDKs' three exact paths; a flow ref in the path goes through routing
    )


def _browser(path: str, handler: Any, summary: str, query: tuple[tuple[str, str], ...], examples: Any) -> RouteSpec:
    statuses = (400, 401) if "{browser_id}" in path else (401,)
    return RouteSpec(
        "GET", path, BrowserApi, handler, summary, "Browser identity", Dialect.STREAM, query=query,
        statuses=statuses, examples=examples,
    )  # fmt: skip


EDGE_QUERY = (("sitecoreContextId", "Edge context id"), ("client_key", "Client key (direct API)"))
# The SDKs' hot paths first: routing tries them in order.
SITECORE_ROUTES: tuple[RouteSpec, ...] = (
    _call(
        "POST /v1/personalize",
        "Run the live experience named by friendlyId (Cloud SDK 0.2-0.6, Content SDK 2.x)",
        lambda f: [
            Example(
                f"Cloud SDK: {f.ab_friendly_id}",
                "/v1/personalize?sitecoreContextId={{contextId}}&siteId=postman",
                cloud_sdk_body(f),
                tests=(status(200), *DIAGNOSTICS),
            ),
            Example(
                "Content SDK (context id header)",
                "/v1/personalize?siteId=postman",
                cloud_sdk_body(f),
                headers={"x-sitecore-contextid": "{{contextId}}"},
            ),
        ],
    ),
    _call(
        "POST /v2/callFlows",
        "Run the live experience named by friendlyId; the body is the rendered template",
        lambda f: [
            Example(f"Direct API: {f.segmented_friendly_id}", "/v2/callFlows", direct_body(f)),
            Example(
                "Preview the draft",
                "/v2/callFlows",
                {**direct_body(f), "friendlyId": f.ab_friendly_id},
                headers={"X-Personalize-Preview": "draft"},
                authorized=True,
            ),
            Example(
                "Malformed body: 400 naming the field",
                "/v2/callFlows",
                raw_body='{"clientKey": "{{clientKey}}", "friendlyId": 5}',
                tests=(status(400), has("status", "developerMessage", "moreInfo", "moreInfoUrl", "field")),
            ),
        ],
    ),
    _call(
        "POST /personalize/v2/callFlows",
        "Run the live experience (Cloud SDK 0.1.x path)",
        lambda f: [
            Example(
                "Cloud SDK 0.1.x path", "/personalize/v2/callFlows?sitecoreContextId={{contextId}}", cloud_sdk_body(f)
            )
        ],
    ),
    RouteSpec(
        "POST",
        "/v2/callFlows/explain",
        InteractiveApi,
        InteractiveApi.explain,
        "The same decision with its trace: {response, trace}",
        "Interactive Experience",
        access=Access.MANAGEMENT,
        body=CallFlowBody,
        query=CALL_QUERY,
        headers=CALL_HEADERS,
        statuses=(400, 401, 408, 413),
        examples=lambda f: [
            Example(
                "Explain a decision",
                "/v2/callFlows/explain",
                direct_body(f),
                tests=(status(200), has("response", "trace")),
            )
        ],
    ),
    RouteSpec(
        "POST",
        "/v2/callFlows/getAudience/{friendly_id}",
        InteractiveApi,
        InteractiveApi.get_audience,
        "getAudience: {variantId, browserId}",
        "Interactive Experience",
        body=CallFlowBody,
        statuses=(400, 401, 408, 413),
        examples=lambda f: [
            Example(
                "getAudience",
                f"/v2/callFlows/getAudience/{f.segmented_friendly_id}",
                {
                    "clientKey": "{{clientKey}}",
                    "pointOfSale": "",
                    "browserId": "{{browserId}}",
                    "timeout": 400,
                    "context": {"utm": {"utm_source": "postman"}},
                },
                tests=(status(200), has("variantId", "browserId")),
            )
        ],
    ),
    _call(
        "POST /v2/callFlows/{flow_ref}",
        "Legacy Boxever: the flow ref is the friendlyId",
        lambda f: [
            Example(
                "Legacy Boxever flow ref",
                f"/v2/callFlows/{f.segmented_friendly_id}",
                {"clientKey": "{{clientKey}}", "channel": "WEB", "browserId": "{{browserId}}", "pointOfSale": ""},
            )
        ],
    ),
    _browser(
        "/v1/events/v1.2/browser/create.json",
        BrowserApi.create,
        "A new browser id and its guest ref",
        EDGE_QUERY,
        lambda f: [
            Example(
                "Create a browser id",
                "/v1/events/v1.2/browser/create.json?sitecoreContextId={{contextId}}&client_key=",
                tests=(
                    status(200),
                    has("ref", "customer_ref"),
                    "pm.collectionVariables.set('browserId', pm.response.json().ref);",
                ),
            )
        ],
    ),
    _browser(
        "/events/v1.2/browser/create.json",
        BrowserApi.create,
        "A new browser id and its guest ref (Cloud SDK 0.1.x path)",
        EDGE_QUERY,
        lambda f: [
            Example(
                "Create a browser id (Cloud SDK 0.1.x path)",
                "/events/v1.2/browser/create.json?sitecoreContextId={{contextId}}&client_key=",
                tests=(status(200), has("ref", "customer_ref")),
            )
        ],
    ),
    _browser(
        "/v1.2/browser/create.json",
        BrowserApi.create,
        "A new browser id and its guest ref (direct API)",
        (("client_key", "Client key"), ("message", "Ignored")),
        lambda f: [
            Example(
                "Create a browser id (direct API)",
                "/v1.2/browser/create.json?client_key={{clientKey}}",
                tests=(status(200), has("ref", "customer_ref")),
            )
        ],
    ),
    _browser(
        "/v1/events/v1.2/browser/{browser_id}/show.json",
        BrowserApi.show,
        "The guest ref of a browser id",
        (("sitecoreContextId", "Edge context id"), ("client_key", "Client key")),
        lambda f: [
            Example(
                "Show a browser's guest",
                "/v1/events/v1.2/browser/{{browserId}}/show.json?sitecoreContextId={{contextId}}",
                tests=(status(200), has("customer")),
            )
        ],
    ),
    _browser(
        "/v1.2/browser/{browser_id}/show.json",
        BrowserApi.show,
        "The guest ref of a browser id (Engage getGuestId)",
        (("client_key", "Client key"), ("api_token", "Ignored (Engage sends it)")),
        lambda f: [
            Example(
                "Show a browser's guest (Engage getGuestId)",
                "/v1.2/browser/{{browserId}}/show.json?client_key={{clientKey}}&api_token=postman",
                tests=(status(200), has("customer")),
            )
        ],
    ),
    RouteSpec(
        "POST",
        "/v2/testDecisionModel",
        ModelsApi,
        ModelsApi.test_decision_model,
        "Run a decision model variant on a context; every node's result",
        "Decision models and connections (test)",
        access=Access.MANAGEMENT,
        body=TestModelBody,
        statuses=(400, 401, 404, 408, 413),
        examples=lambda f: [
            Example(
                f"Test decision model {f.model_id or 'nope'}",
                "/v2/testDecisionModel",
                {"context": {"channel": "WEB", "params": {}}, "decisionModelRef": f.model_id or "nope"},
                tests=(status(200), has("decisionModelResultNodes", "outputs")) if f.model_id else (status(404),),
            )
        ],
    ),
)
