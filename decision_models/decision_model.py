"""Decision models: named graphs with variants (draft / test / production), run by experiences.

Production variants split traffic by weight, sticky per visitor with the experience bucketing, salted
with "model:" + the model id. Test variants run in shadow on `testShare` basis points of traffic
(salted "shadow:" + model id): computed, traced and counted, never returned. Draft variants run only
when asked for by name (the test endpoint and CLI).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .bucketing import bucket, choose, cumulative
from .graph import GraphRun, NodeGraph, NodeResult
from .nodes import run_logged, stop_logging
from .ports import ConnectionPort


@dataclass(frozen=True, slots=True)
class ModelVariant:
    id: str
    name: str
    status: str  # draft | test | production
    graph: NodeGraph
    weight: int = 0  # basis points among production variants
    revision: int = 1
    fallback: Mapping[str, Any] | None = None  # outputs to use when the graph fails


@dataclass(slots=True)
class ModelRun:
    """One run of one model variant: its outputs, every node's result, its logs and its fate."""

    model_id: str
    model_name: str
    variant: ModelVariant
    outputs: dict[str, Any]
    nodes: list[NodeResult]
    ms: float
    bucket: int | None = None
    error: str | None = None  # the graph failed; `outputs` is the variant's fallback when it has one
    used_fallback: bool = False
    logs: list[str] = field(default_factory=list)
    shadow: list[ModelRun] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.error is not None and not self.used_fallback

    def trace(self) -> dict[str, Any]:
        return {
            "model": self.model_id,
            "variant": self.variant.id,
            "status": self.variant.status,
            "revision": self.variant.revision,
            "bucket": self.bucket,
            "ms": round(self.ms, 3),
            "error": self.error,
            "usedFallback": self.used_fallback,
            "nodes": [
                {
                    "id": n.id,
                    "kind": n.kind,
                    "ms": round(n.ms, 3),
                    "error": n.error,
                    "errorKind": n.error_kind,
                    "usedDefault": n.used_default,
                    "output": n.value,
                    **(n.detail or {}),
                }
                for n in self.nodes
            ],
            "shadow": [s.trace() for s in self.shadow],
        }


@dataclass(slots=True)  # not frozen: one is made per decision, and a frozen one cost 1.1 us to build
class RunContext:
    """What a model run needs beyond its inputs. `seconds` is the time the run may take from now; it is
    fixed once as an absolute `deadline` on `clock`, which every model and node of the run shares."""

    visitor_key: str | None
    seconds: float | None
    connections: ConnectionPort | None = None
    random_key: Callable[[], str] = field(default=lambda: "anonymous")
    detailed: bool = True  # per-node results and timings, for traces; the request hot path turns it off
    clock: Callable[[], float] = time.perf_counter
    deadline: float | None = field(init=False)

    def __post_init__(self) -> None:
        self.deadline = None if self.seconds is None else self.clock() + self.seconds


@dataclass(frozen=True, slots=True)
class DecisionModel:
    id: str
    name: str
    variants: tuple[ModelVariant, ...]
    test_share: int = 0  # basis points of traffic that also runs the test variants in shadow
    production: tuple[ModelVariant, ...] = field(init=False)
    tests: tuple[ModelVariant, ...] = field(init=False)
    bounds: tuple[int, ...] = field(init=False)  # cumulative production weights
    has_async: bool = field(init=False)  # any variant calls a plugin or a connection

    def __post_init__(self) -> None:
        production = tuple(v for v in self.variants if v.status == "production")
        object.__setattr__(self, "production", production)
        object.__setattr__(self, "tests", tuple(v for v in self.variants if v.status == "test"))
        object.__setattr__(self, "bounds", cumulative([v.weight for v in production]))
        object.__setattr__(self, "has_async", any(v.graph.has_async for v in self.variants))

    def variant(self, variant_id: str) -> ModelVariant | None:
        return next((v for v in self.variants if v.id == variant_id), None)

    async def run_variant(
        self, variant: ModelVariant, inputs: Mapping[str, Any], context: RunContext, bucket_value: int | None = None
    ) -> ModelRun:
        if not variant.graph.has_async:
            return self.run_variant_sync(variant, inputs, context, bucket_value)
        started = time.perf_counter()
        logs: list[str] = []
        token = run_logged(logs)  # only plugins can log
        try:
            graph_run: GraphRun = await variant.graph.run(
                inputs, context.deadline, context.connections, clock=context.clock, detailed=context.detailed
            )
        finally:
            stop_logging(token)
        return self._finish(variant, graph_run, started, bucket_value, logs)

    def run_variant_sync(
        self, variant: ModelVariant, inputs: Mapping[str, Any], context: RunContext, bucket_value: int | None = None
    ) -> ModelRun:
        """A variant of sync nodes only, with no coroutine: the decide hot path's way."""
        started = time.perf_counter()
        graph_run = variant.graph.run_sync(inputs, context.clock, context.detailed)
        return self._finish(variant, graph_run, started, bucket_value, [])

    def _finish(
        self, variant: ModelVariant, graph_run: GraphRun, started: float, bucket_value: int | None, logs: list[str]
    ) -> ModelRun:
        run = ModelRun(
            self.id,
            self.name,
            variant,
            graph_run.outputs,
            graph_run.nodes,
            (time.perf_counter() - started) * 1000,
            bucket_value,
            graph_run.failure,
            logs=logs,
        )
        if run.error is not None and variant.fallback is not None:
            run.outputs, run.used_fallback = dict(variant.fallback), True
        return run

    def _chosen(self, context: RunContext) -> tuple[ModelVariant, int | None, bool]:
        """The visitor's production variant, its bucket, and whether the visitor is in the test share."""
        key = context.visitor_key or context.random_key()
        production = self.production
        chosen = production[0]
        bucket_value = None
        if len(production) > 1 or context.detailed:
            bucket_value = bucket(f"model:{self.id}", key)
            chosen = production[max(choose(bucket_value, self.bounds), 0)]
        shadowed = bool(self.tests and self.test_share and bucket(f"shadow:{self.id}", key) < self.test_share)
        return chosen, bucket_value, shadowed

    def run_sync(self, inputs: Mapping[str, Any], context: RunContext) -> ModelRun:
        """`run` for a model without plugin or connection nodes (`has_async` false): no coroutine at all."""
        chosen, bucket_value, shadowed = self._chosen(context)
        main = self.run_variant_sync(chosen, inputs, context, bucket_value)
        if shadowed:
            main.shadow = [self.run_variant_sync(v, inputs, context) for v in self.tests]
        return main

    async def run(self, inputs: Mapping[str, Any], context: RunContext) -> ModelRun:
        """Run the visitor's production variant, and the test variants in shadow when the visitor is in
        the test share."""
        if not self.has_async:
            return self.run_sync(inputs, context)
        chosen, bucket_value, shadowed = self._chosen(context)
        if not shadowed:
            return await self.run_variant(chosen, inputs, context, bucket_value)
        runs = await asyncio.gather(
            self.run_variant(chosen, inputs, context, bucket_value),
            *(self.run_variant(v, inputs, context) for v in self.tests),
        )
        main = runs[0]
        main.shadow = list(runs[1:])
        return main
