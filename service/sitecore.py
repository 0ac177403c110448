"""The Sitecore Interactive Experience API: callFlows in all its path variants, getAudience, explain."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from decision_models import Decision, decide

from .errors import ApiError, sitecore_error
from .inputs import context_id, read_body, require_management, resolve_project
from .observability import Metrics
from .runtime import Project, Runtime
from .wire import BodyError, CallFlowBody, parse_body, to_decision_request

_FRIENDLY_ID = re.compile(r"^[a-z0-9_]*\*?$")
_PREVIEW_VALUES = frozenset({"draft", "true", "1"})


def server_timing(timings: dict[str, float]) -> str:
    return ", ".join(f"{name};dur={ms:.3f}" for name, ms in timings.items())


@dataclass
class Evaluated:
    project: Project
    body: CallFlowBody
    decision: Decision
    parse_ms: float


class InteractiveApi:
    """Endpoints of the callFlows family. `runtime()` returns the config currently loaded."""

    def __init__(self, runtime: Callable[[], Runtime], metrics: Metrics) -> None:
        self.runtime = runtime
        self.metrics = metrics

    async def _evaluate(self, request: Request, friendly_id: str | None, management: bool = False) -> Evaluated:
        runtime = self.runtime()
        state = request.scope["state"]
        started: float = state.get("started", time.perf_counter())
        raw = await read_body(request, runtime.max_body_bytes)
        try:
            body = parse_body(raw)
        except BodyError as exc:
            raise ApiError(exc.status, str(exc), exc.field) from None
        project = resolve_project(runtime, body.clientKey, context_id(request))
        state["project"] = project
        log = state["log"]
        log["project"] = project.id
        fid = friendly_id if friendly_id is not None else body.friendlyId
        if not fid:
            raise ApiError(400, "friendlyId is required", "friendlyId")
        if not _FRIENDLY_ID.match(fid):
            raise ApiError(400, "friendlyId must match ^[a-z0-9_]*$, with an optional trailing *", "friendlyId")
        log["friendlyId"] = fid
        preview = (
            request.headers.get("x-personalize-preview", "").lower() in _PREVIEW_VALUES
            or request.query_params.get("preview", "").lower() in _PREVIEW_VALUES
        )
        if preview or management:
            require_management(request, runtime)
        decision_request = to_decision_request(
            body, project.catalog, friendly_id=fid, headers=request.headers, preview=preview
        )
        parse_ms = (time.perf_counter() - started) * 1000
        decision = await decide(
            project.catalog, decision_request, default_deadline_ms=runtime.default_deadline_ms, started=started
        )
        log["outcome"] = decision.outcome.value
        if decision.variant is not None:
            log["variant"] = decision.variant.id
        self.metrics.decisions.labels(
            decision.experience.friendly_id if decision.experience else "",
            decision.variant.id if decision.variant else "",
            decision.outcome.value,
        ).inc()
        return Evaluated(project, body, decision, parse_ms)

    @staticmethod
    def _headers(request: Request, evaluated: Evaluated) -> dict[str, str]:
        decision = evaluated.decision
        headers = {
            "x-personalize-outcome": decision.outcome.value,
            "server-timing": server_timing({"parse": evaluated.parse_ms, **decision.timings}),
        }
        if decision.experience is not None:
            headers["x-personalize-experience"] = decision.experience.friendly_id
        if decision.variant is not None:
            headers["x-personalize-variant"] = decision.variant.id
        correlation = request.headers.get("x-sc-correlation-id")
        if correlation:
            headers["x-sc-correlation-id"] = correlation
        return headers

    async def call_flows(self, request: Request) -> Response:
        """POST /v2/callFlows, /v1/personalize, /personalize/v2/callFlows, /v2/callFlows/{flowRef}."""
        try:
            evaluated = await self._evaluate(request, request.path_params.get("flow_ref"))
        except ApiError as exc:
            return sitecore_error(exc)
        return Response(evaluated.decision.body, 200, self._headers(request, evaluated), "application/json")

    async def get_audience(self, request: Request) -> Response:
        """POST /v2/callFlows/getAudience/{friendlyId}: the legacy JSS `{variantId, browserId}` answer."""
        try:
            evaluated = await self._evaluate(request, request.path_params["friendly_id"])
        except ApiError as exc:
            return sitecore_error(exc)
        decision = evaluated.decision
        variant_id = decision.variant.id if decision.variant is not None and not decision.variant.control else ""
        if decision.outcome.value == "fallback":
            variant_id = ""
        body = {"variantId": variant_id, "browserId": evaluated.body.browserId or ""}
        return Response(orjson.dumps(body), 200, self._headers(request, evaluated), "application/json")

    async def explain(self, request: Request) -> Response:
        """POST /v2/callFlows/explain (management token): `{response, trace}` for the same body."""
        try:
            evaluated = await self._evaluate(request, None, management=True)
        except ApiError as exc:
            return sitecore_error(exc)
        decision = evaluated.decision
        trace: dict[str, Any] = {"project": evaluated.project.id, **decision.trace()}
        trace["timingsMs"] = {"parse": round(evaluated.parse_ms, 3), **trace["timingsMs"]}
        body = orjson.dumps({"response": orjson.loads(decision.body), "trace": trace})
        return Response(body, 200, self._headers(request, evaluated), "application/json")
