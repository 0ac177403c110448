"""Run one decision model variant on a given context: the shared core of /v2/testDecisionModel and
`personalize test-model`, answering in Sitecore's shape (docs/wire-formats.md, "Testing a decision model")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from decision_models import DecisionModel, DecisionRequest, ModelRun, RunContext, request_context

from ..http.errors import ApiError
from ..runtime import Project, Runtime


class TestContext(BaseModel):
    model_config = ConfigDict(extra="allow", hide_input_in_errors=True)
    channel: str = "WEB"
    language: str | None = None
    currency: str | None = None
    pointOfSale: str = ""
    friendlyId: str = ""
    variants: list[str] = Field(default_factory=list)
    browserId: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    guest: dict[str, Any] = Field(default_factory=dict)


class TestModelBody(BaseModel):
    """POST /v2/testDecisionModel body; `clientKey` picks the project when several define models."""

    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True)
    context: TestContext = Field(default_factory=TestContext)
    decisionModelRef: str
    decisionModelVariantRef: str | None = None
    clientKey: str | None = None


def find_model(runtime: Runtime, body: TestModelBody, project: Project | None) -> tuple[Project, DecisionModel]:
    """The model by ref in the given project, else in whichever single project defines it."""
    candidates = [project] if project is not None else list(runtime.projects.values())
    found = [(p, p.models[body.decisionModelRef]) for p in candidates if body.decisionModelRef in p.models]
    if not found:
        raise ApiError(404, f"no decision model '{body.decisionModelRef}'", "decisionModelRef")
    if len(found) > 1:
        names = ", ".join(p.id for p, _ in found)
        raise ApiError(
            400, f"decision model '{body.decisionModelRef}' exists in projects {names}: send clientKey", "clientKey"
        )
    return found[0]


def model_inputs(context: TestContext) -> dict[str, Any]:
    """The roots a model reads, built by the same function callFlows uses (decision_models.request_context)."""
    request = DecisionRequest(
        friendly_id=context.friendlyId,
        channel=context.channel.upper(),
        language=context.language.upper() if context.language else None,
        currency=context.currency.upper() if context.currency else None,
        point_of_sale=context.pointOfSale,
        params=context.params,
        guest=context.guest,
        page_variants=tuple(context.variants),
    )
    return {**request_context(request), "experience": {}, "variant": {}}


async def run_test(model: DecisionModel, body: TestModelBody, seconds: float | None, connections: Any) -> ModelRun:
    key = body.context.browserId or str(body.context.guest.get("ref") or "") or None
    context = RunContext(key, seconds, connections)
    inputs = model_inputs(body.context)
    if body.decisionModelVariantRef is None:
        return await model.run(inputs, context)
    variant = model.variant(body.decisionModelVariantRef)
    if variant is None:
        known = ", ".join(v.id for v in model.variants)
        raise ApiError(
            404,
            f"model '{model.id}' has no variant '{body.decisionModelVariantRef}' (has {known})",
            "decisionModelVariantRef",
        )
    return await model.run_variant(variant, inputs, context)


def _node_outputs(value: Any) -> list[Mapping[str, Any]]:
    return [value] if isinstance(value, Mapping) else [{"value": value}]


def result_body(run: ModelRun) -> dict[str, Any]:
    """Sitecore's response, plus `outputs` (what templates see) and each node's error message."""
    return {
        "decisionModelName": run.model_name,
        "decisionModelRef": run.model_id,
        "decisionModelVariantName": run.variant.name,
        "decisionModelVariantRef": run.variant.id,
        "decisionModelVariantRevision": str(run.variant.revision),
        "decisionModelVariantStatus": run.variant.status,
        "error": run.failed,
        "errorMessage": run.error,
        "usedFallback": run.used_fallback,
        "outputs": run.outputs,
        "debug": {"bucket": "" if run.bucket is None else str(run.bucket), "logs": "\n".join(run.logs)},
        "decisionModelResultNodes": [
            {
                "id": node.id,
                "name": node.name,
                "type": node.kind,
                "error": node.error is not None,
                "errorMessage": node.error,
                "usedDefault": node.used_default,
                "executionTime": round(node.ms, 3),
                "dependentNodes": list(node.dependents),
                "outputs": _node_outputs(node.value) if node.ran else [],
                **(node.detail or {}),
            }
            for node in run.nodes
        ],
    }
