"""The Sitecore Interactive Experience API: callFlows in all its path variants, getAudience, explain."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope

from decision_models import Decision, ModelRun, Outcome, decide

from ..delivery import admin
from ..http.errors import ApiError
from ..http.metrics import Metrics
from ..http.request import Incoming, read_body, require_management, resolve_project
from ..http.responses import JsonBytes
from ..profiles import GuestCache, Identity, privacy
from ..runtime import Project, Runtime
from .body import Body, parse_body, to_decision_request

_FRIENDLY_ID = re.compile(r"^[a-z0-9_]*\*?$")
_PREVIEW_VALUES = frozenset({"draft", "true", "1"})


_TIMING_FORMATS: dict[tuple[str, ...], bytes] = {}  # by phases present: a handful, fixed by the engine's code


def server_timing(parse_ms: float, timings: dict[str, float]) -> bytes:
    """`parse;dur=0.051, audience;dur=0.007, ...` in one formatting operation over a template made once per
    set of phases (0.8 us, where formatting each phase and joining took 1.6)."""
    phases = tuple(timings)
    template = _TIMING_FORMATS.get(phases)
    if template is None:
        template = _TIMING_FORMATS[phases] = ", ".join(f"{p};dur=%.3f" for p in ("parse", *phases)).encode()
    return template % (parse_ms, *timings.values())


def _identity(source: str | None, key: str | None) -> Identity | None:
    """The profile identity a request's visitor key is (guestRef is not one: refs are derived, not stored)."""
    if key is None:
        return None
    if source == "browserId":
        return ("browser", key)
    if source == "email":
        return ("email", key)
    if source == "identifiers":
        provider, _, ident = key.partition(":")
        return (provider, ident)
    return None


@dataclass(slots=True)
class Evaluated:
    project: Project
    body: Body
    decision: Decision
    parse_ms: float
    correlation_id: bytes | None
    visitor: tuple[str | None, str | None] = (None, None)  # the visitor key's source and value (explain)


class InteractiveApi:
    """Endpoints of the callFlows family. `runtime()` returns the config currently loaded."""

    def __init__(self, runtime: Callable[[], Runtime], metrics: Metrics, guests: GuestCache | None = None) -> None:
        self.runtime = runtime
        self.metrics = metrics
        self.guests = guests  # the stored profiles, read when the project's config reads `guest`

    async def _evaluate(
        self, scope: Scope, receive: Receive, friendly_id: str | None, explain: bool = False
    ) -> Evaluated:
        runtime = self.runtime()
        state = scope["state"]
        started: float = state.get("started") or time.perf_counter()
        incoming = Incoming(scope)
        raw = await read_body(receive, incoming, runtime.max_body_bytes)
        body = parse_body(raw)
        project = resolve_project(runtime, body.clientKey, incoming.context_id())
        state["project"] = project
        log = state["log"]
        log["project"] = project.id
        fid = friendly_id if friendly_id is not None else body.friendlyId
        if not fid:
            raise ApiError(400, "friendlyId is required", "friendlyId")
        if not _FRIENDLY_ID.match(fid):
            raise ApiError(400, "friendlyId must match ^[a-z0-9_]*$, with an optional trailing *", "friendlyId")
        log["friendlyId"] = fid
        preview = (incoming.header(b"x-personalize-preview") or incoming.query("preview") or "").lower()
        preview_on = preview in _PREVIEW_VALUES
        if preview_on and not explain:  # explain's route checks the token before the handler runs
            require_management(incoming, runtime)
        decision_request = to_decision_request(
            body,
            project.catalog,
            friendly_id=fid,
            headers=incoming.header_map() if project.catalog.reads_headers else None,
            preview=preview_on,
        )
        if self.guests is not None and project.catalog.reads_guest_for(fid):
            identity = _identity(decision_request.visitor_source, decision_request.visitor_key)
            if identity is not None:
                decision_request.guest = await self.guests.view(project.id, identity)
        parse_ms = (time.perf_counter() - started) * 1000
        decision = await decide(
            project.catalog,
            decision_request,
            default_deadline_ms=runtime.default_deadline_ms,
            started=started,
            connections=runtime.connections,
            explain=explain,
        )
        log["outcome"] = decision.outcome.value
        variant_id = decision.variant.id if decision.variant is not None else ""
        if variant_id:
            log["variant"] = variant_id
        experience_id = decision.experience.friendly_id if decision.experience is not None else ""
        self.metrics.count_decision(experience_id, variant_id, decision.outcome.value)
        for run in decision.model_runs:
            self._count_run(run)
            for shadow in run.shadow:
                self._count_run(shadow)
        visitor = (decision_request.visitor_source, decision_request.visitor_key)
        return Evaluated(project, body, decision, parse_ms, incoming.headers.get(b"x-sc-correlation-id"), visitor)

    def _count_run(self, run: ModelRun) -> None:
        outcome = "error" if run.failed else "fallback" if run.used_fallback else "ok"
        self.metrics.count_model_run(run.model_id, run.variant.id, run.variant.status, outcome)

    @staticmethod
    def _headers(evaluated: Evaluated) -> list[tuple[bytes, bytes]]:
        decision = evaluated.decision
        headers = [
            (b"x-personalize-outcome", decision.outcome.value.encode()),
            (b"server-timing", server_timing(evaluated.parse_ms, decision.timings)),
        ]
        if decision.experience is not None:
            headers.append((b"x-personalize-experience", decision.experience.friendly_id.encode()))
        if decision.variant is not None:
            headers.append((b"x-personalize-variant", decision.variant.id.encode()))
        if evaluated.correlation_id:
            headers.append((b"x-sc-correlation-id", evaluated.correlation_id))
        return headers

    async def call_flows(self, scope: Scope, receive: Receive) -> Response:
        """POST /v2/callFlows, /v1/personalize, /personalize/v2/callFlows, /v2/callFlows/{flowRef}."""
        evaluated = await self._evaluate(scope, receive, scope["path_params"].get("flow_ref"))
        return JsonBytes(evaluated.decision.body, 200, self._headers(evaluated))

    async def get_audience(self, scope: Scope, receive: Receive) -> Response:
        """POST /v2/callFlows/getAudience/{friendlyId}: the legacy `{variantId, browserId}` answer."""
        evaluated = await self._evaluate(scope, receive, scope["path_params"]["friendly_id"])
        decision = evaluated.decision
        served = decision.outcome is Outcome.VARIANT and decision.variant is not None
        variant_id = decision.variant.id if served and decision.variant is not None else ""
        body = {"variantId": variant_id, "browserId": evaluated.body.browserId or ""}
        return JsonBytes(orjson.dumps(body), 200, self._headers(evaluated))

    async def explain(self, scope: Scope, receive: Receive) -> Response:
        """POST /v2/callFlows/explain (management token): `{response, trace}` for the same body."""
        evaluated = await self._evaluate(scope, receive, None, explain=True)
        decision = evaluated.decision
        trace: dict[str, Any] = {"project": evaluated.project.id, **decision.trace()}
        trace["timingsMs"] = {"parse": round(evaluated.parse_ms, 3), **trace["timingsMs"]}
        identity = _identity(*evaluated.visitor)
        if self.guests is not None and identity is not None:  # what fired for this visitor lately
            store = self.guests.store
            ref = await privacy.find_ref(store, evaluated.project.id, identity=identity)
            trace["executions"] = await asyncio.to_thread(admin.executions, store, ref) if ref else []
        body = orjson.dumps({"response": orjson.loads(decision.body), "trace": trace})
        return JsonBytes(body, 200, self._headers(evaluated))
