"""The one entry point of evaluation: `decide(catalog, request)` -> Decision.

Data in, decision and trace out. The only awaits are the variant's decision models, bounded by the
request's deadline; the clock is injected so tests are deterministic.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

from .bucketing import bucket, choose
from .decision_model import ModelRun, RunContext
from .experiences import Catalog, Experience, ExperienceVersion, Kind, Status, Variant
from .ports import ConnectionPort
from .request import DecisionRequest, request_context

EMPTY_BODY = b"{}"


class Outcome(StrEnum):
    VARIANT = "variant"  # a variant's response
    CONTROL = "control"  # A/B control group: the fallback response
    FALLBACK = "fallback"  # a decision step failed or overran the deadline: the fallback response
    NO_VARIANT = "no_variant"  # segmented, no variant's audience matched: the fallback response
    NOT_FOUND = "not_found"  # no experience with this friendlyId: {}
    NOT_LIVE = "not_live"  # draft or paused (and not previewed): {}
    TARGETING_MISS = "targeting_miss"  # channel or point of sale not targeted: {}
    AUDIENCE_MISS = "audience_miss"  # the experience's audience filter failed: {}


@dataclass(slots=True)
class Decision:
    outcome: Outcome
    body: bytes = EMPTY_BODY
    experience: Experience | None = None
    version: ExperienceVersion | None = None
    variant: Variant | None = None
    bucket: int | None = None
    deadline_ms: float | None = None
    # Every step when explaining; otherwise only why the answer fell back (building the others cost ~1.5 us
    # of a ~20 us decision, for a trace nobody reads).
    steps: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # milliseconds by phase
    model_runs: list[ModelRun] = field(default_factory=list)

    def trace(self) -> dict[str, Any]:
        """The explainable record of this decision (no secrets: config ids and request values only)."""
        return {
            "outcome": self.outcome.value,
            "experience": self.experience.friendly_id if self.experience else None,
            "version": self.version.label if self.version else None,
            "variant": self.variant.id if self.variant else None,
            "bucket": self.bucket,
            "deadlineMs": self.deadline_ms,
            "steps": self.steps,
            "timingsMs": {k: round(v, 3) for k, v in self.timings.items()},
        }


Clock = Callable[[], float]


def _version_for(experience: Experience, preview: bool) -> tuple[ExperienceVersion | None, str]:
    if preview:
        if experience.draft is not None:
            return experience.draft, "preview: draft version"
        return experience.live, f"preview: {experience.status.value} version"
    if experience.status is Status.ACTIVE:
        return experience.live, "active"
    return None, f"status {experience.status.value}"


def _select(
    catalog: Catalog, request: DecisionRequest, context: Mapping[str, Any], decision: Decision, trace: bool
) -> tuple[Experience, ExperienceVersion] | None:
    """The first candidate experience that is live, targeted and in its audience; with `trace`, every
    verdict goes to the decision's steps."""
    candidates = catalog.candidates(request.friendly_id)
    if not candidates:
        if trace:
            decision.steps.append({"step": "lookup", "friendlyId": request.friendly_id, "verdict": "not found"})
        decision.outcome = Outcome.NOT_FOUND
        return None
    step: dict[str, Any] = {}  # the current candidate's record (discarded without `trace`)
    for experience in candidates:
        if trace:
            step = {"step": "experience", "friendlyId": experience.friendly_id}
            decision.steps.append(step)
        version, why = _version_for(experience, request.preview)
        step["status"] = why
        if version is None:
            decision.outcome = Outcome.NOT_LIVE
            continue
        step["version"] = version.label
        if version.channels and request.channel not in version.channels:
            if trace:
                step["targeting"] = f"channel {request.channel} not in {sorted(version.channels)}"
            decision.outcome = Outcome.TARGETING_MISS
            continue
        if version.points_of_sale and request.point_of_sale not in version.points_of_sale:
            if trace:
                step["targeting"] = f"pointOfSale {request.point_of_sale!r} not in {sorted(version.points_of_sale)}"
            decision.outcome = Outcome.TARGETING_MISS
            continue
        step["targeting"] = "pass"
        if version.audience is not None:
            matched, error = version.audience.condition.test(context)
            if trace:
                step["audience"] = {"id": version.audience.id, "matched": matched}
                if error is not None:
                    step["audience"]["error"] = error
            if not matched:
                decision.outcome = Outcome.AUDIENCE_MISS
                continue
        return experience, version
    return None


def _pick_variant(
    experience: Experience,
    version: ExperienceVersion,
    request: DecisionRequest,
    context: Mapping[str, Any],
    decision: Decision,
    random_key: Callable[[], str],
    trace: bool,
) -> Variant | None:
    if version.kind is Kind.SEGMENTED:
        tried: list[dict[str, Any]] = []
        chosen = None
        for variant in version.variants:
            if variant.audience is None:
                if trace:
                    tried.append({"variant": variant.id, "audience": None, "matched": True})
                chosen = variant
                break
            matched, error = variant.audience.condition.test(context)
            if trace:
                tried.append({"variant": variant.id, "audience": variant.audience.id, "matched": matched})
                if error is not None:
                    tried[-1]["error"] = error
            if matched:
                chosen = variant
                break
        if trace:
            decision.steps.append({"step": "segment", "tried": tried})
        return chosen
    key, source = request.visitor_key, request.visitor_source
    if key is None:
        # No identity at all: a random bucket, so anonymous traffic still splits by weight (not sticky).
        key, source = random_key(), "random (no browserId, identifiers, email or guestRef)"
    decision.bucket = bucket(experience.id, key)
    index = choose(decision.bucket, version.bounds)
    if trace:
        decision.steps.append(
            {
                "step": "bucketing",
                "salt": experience.id,
                "visitorKeyFrom": source,
                "bucket": decision.bucket,
                "variant": version.variants[index].id,
            }
        )
    return version.variants[index]


async def _decide_models(
    decision: Decision, variant: Variant, template_context: dict[str, Any], context: RunContext
) -> str | None:
    """Run the variant's models into `template_context["decisions"]`; the reason to fall back, if any."""
    # Even with no time left the models run: sync nodes cost microseconds, and an async node with a
    # default yields it at once (graph.run), which is the answer the config asked for, not the fallback.
    # No timer here: every graph bounds its own nodes by the shared deadline and yields their defaults; a
    # timer at the same deadline would race them and answer the fallback instead (graph.GUARD_SECONDS).
    try:
        runs = list(await asyncio.gather(*(model.run(template_context, context) for model in variant.models)))
    except Exception as exc:  # a model's failure is an outcome, never a 500
        return f"{type(exc).__name__}: {exc}"
    return _settle_models(decision, runs, template_context)


def _decide_models_now(
    decision: Decision, variant: Variant, template_context: dict[str, Any], context: RunContext
) -> str | None:
    """`_decide_models` for tables and expressions only: nothing can wait, so no task, timer or coroutine
    (the hot path: each coroutine layer cost ~0.5 us)."""
    try:
        runs = [model.run_sync(template_context, context) for model in variant.models]
    except Exception as exc:  # a model's failure is an outcome, never a 500
        return f"{type(exc).__name__}: {exc}"
    return _settle_models(decision, runs, template_context)


def _settle_models(decision: Decision, runs: list[ModelRun], template_context: dict[str, Any]) -> str | None:
    decision.model_runs = runs
    for run in runs:
        if run.failed:  # the fallback renders with no model's outputs
            return f"decision model '{run.model_id}' ({run.variant.id}): {run.error}"
    template_context["decisions"] = {run.model_id: run.outputs for run in runs}
    return None


def _render_fallback(version: ExperienceVersion, template_context: Mapping[str, Any]) -> bytes:
    try:
        return orjson.dumps(version.fallback.render(template_context))
    except (TypeError, ValueError):  # a fallback is request-fed only; still never fail the request
        return EMPTY_BODY


def assign(
    catalog: Catalog, request: DecisionRequest, random_key: Callable[[], str] = lambda: secrets.token_hex(8)
) -> Variant | None:
    """The variant `decide` would serve the request, without running its models or rendering its response
    (so never waiting on a connection); None when it would serve none, or the control. For answers that
    name the variant only: Contentstack's manifest."""
    decision = Decision(outcome=Outcome.NOT_FOUND)
    context = request_context(request)
    selected = _select(catalog, request, context, decision, False)
    if selected is None:
        return None
    variant = _pick_variant(*selected, request, context, decision, random_key, False)
    return None if variant is None or variant.control else variant


async def decide(
    catalog: Catalog,
    request: DecisionRequest,
    *,
    default_deadline_ms: int,
    started: float | None = None,
    clock: Clock = time.perf_counter,
    random_key: Callable[[], str] = lambda: secrets.token_hex(8),
    connections: ConnectionPort | None = None,
    explain: bool = False,
) -> Decision:
    """Find the live experience for the request, pick its variant, run its models, render its response.
    With `explain`, every step is recorded for the trace, and decision models record every node's result
    and time; without, the steps only say why the answer fell back, if it did."""
    # Long on purpose: the decision hot path, kept inline (each helper call costs on a ~20 us budget, bench/core.py).
    t0 = clock()
    started = t0 if started is None else started
    decision = Decision(outcome=Outcome.NOT_FOUND)
    context = request_context(request)
    selected = _select(catalog, request, context, decision, explain)
    t1 = clock()
    decision.timings["audience"] = (t1 - t0) * 1000
    if selected is None:
        return decision
    experience, version = selected
    decision.experience, decision.version = experience, version

    variant = _pick_variant(experience, version, request, context, decision, random_key, explain)
    t2 = clock()
    decision.timings["bucketing"] = (t2 - t1) * 1000
    template_context: dict[str, Any] = {**context, "experience": experience.summary, "decisions": {}}
    if variant is None:
        decision.outcome = Outcome.NO_VARIANT
        decision.body = _render_fallback(version, template_context)
        decision.timings["render"] = (clock() - t2) * 1000
        return decision
    decision.variant = variant
    template_context["variant"] = variant.summary
    if variant.control:
        decision.outcome = Outcome.CONTROL
        decision.body = _render_fallback(version, template_context)
        decision.timings["render"] = (clock() - t2) * 1000
        return decision

    deadlines = [d for d in (default_deadline_ms, version.deadline_ms, request.timeout_ms) if d]
    deadline_ms = min(deadlines) if deadlines else None
    decision.deadline_ms = deadline_ms
    if variant.models:
        seconds = (deadline_ms / 1000 - (t2 - started)) if deadline_ms else None
        run_context = RunContext(request.visitor_key, seconds, connections, random_key, detailed=explain, clock=clock)
        if variant.models_async:
            failure = await _decide_models(decision, variant, template_context, run_context)
        else:
            failure = _decide_models_now(decision, variant, template_context, run_context)
        t3 = clock()
        decision.timings["decision"] = (t3 - t2) * 1000
        if explain:
            decision.steps.append(
                {
                    "step": "decisionModels",
                    "ms": round((t3 - t2) * 1000, 3),
                    "error": failure,
                    "models": [run.trace() for run in decision.model_runs],
                }
            )
        if failure is not None:
            decision.outcome = Outcome.FALLBACK
            decision.steps.append({"step": "fallback", "reason": failure})
            decision.body = _render_fallback(version, template_context)
            decision.timings["render"] = (clock() - t3) * 1000
            return decision
        t2 = t3
    try:
        decision.body = orjson.dumps(variant.response.render(template_context))
        decision.outcome = Outcome.VARIANT
    except (TypeError, ValueError) as exc:  # e.g. a model returned a value JSON cannot hold
        decision.outcome = Outcome.FALLBACK
        decision.steps.append({"step": "fallback", "reason": f"render failed: {exc}"})
        decision.body = _render_fallback(version, template_context)
    decision.timings["render"] = (clock() - t2) * 1000
    return decision
