"""A decision model variant's graph: validated at load (references, cycles, types), run topologically.

Nodes whose inputs are ready run concurrently: a graph with plugin or connection nodes runs each node as
a task that waits for its dependencies, so independent calls overlap. A graph of sync nodes only (tables,
expressions) runs inline in topological order with no task at all. A node that fails or would overrun
yields its default; a node with no default fails the run, and the caller falls back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .nodes import NO_DEFAULT, Node, NodeError

# A connection or plugin node stops this long before the model's deadline, so its default and the nodes
# after it still fit in the time left.
RESERVE_SECONDS = 0.002
# Nodes bound themselves (a port its call, a plugin its thread). The graph only guards against one that
# does not stop: this long after the deadline, a node still running is settled with its default. No other
# timer races the nodes' own (a shared deadline once lost a node's default to the experience fallback).
GUARD_SECONDS = 0.05
COMPATIBLE = {("integer", "number")}


class GraphError(ValueError):
    """A graph that cannot run: an unknown reference, a cycle, a type mismatch; the message says where."""


@dataclass(slots=True)
class NodeResult:
    id: str
    name: str
    kind: str
    value: Any = None
    error: str | None = None
    error_kind: str | None = None
    ms: float = 0.0
    used_default: bool = False
    ran: bool = False
    dependents: tuple[str, ...] = ()
    detail: dict[str, Any] | None = None  # e.g. a table's matched rules


@dataclass(slots=True)
class GraphRun:
    outputs: dict[str, Any]
    nodes: list[NodeResult]
    failure: str | None = None  # a node failed with no default: the model's outputs are not usable


@dataclass(frozen=True, slots=True)
class NodeGraph:
    nodes: tuple[Node, ...]  # topological order
    output_ids: tuple[str, ...]
    dependents: Mapping[str, tuple[str, ...]]
    outputs_from: str | None = None  # the model's outputs are this node's mapping (plugin shorthand)
    has_async: bool = False

    def _outputs(self, values: Mapping[str, Any]) -> dict[str, Any]:
        if self.outputs_from is not None:
            value = values.get(self.outputs_from)
            return dict(value) if isinstance(value, Mapping) else {}
        return {node_id: values.get(node_id) for node_id in self.output_ids}

    def _settle(self, node: Node, result: NodeResult, error: NodeError) -> Any:
        result.error, result.error_kind = str(error), error.kind
        if node.default is NO_DEFAULT:
            raise error
        result.used_default = True
        return node.default

    async def run(
        self,
        inputs: Mapping[str, Any],
        deadline: float | None,
        connections: Any = None,
        clock: Callable[[], float] = time.perf_counter,
        detailed: bool = True,
    ) -> GraphRun:
        """Run every node; `deadline` (a time on `clock`; None: unbounded) bounds the async nodes. Without
        `detailed`, a graph of sync nodes skips the per-node results and timings that only a trace reads
        (the request hot path)."""
        if not self.has_async:
            return self.run_sync(inputs, clock, detailed)
        context: dict[str, Any] = dict(inputs)
        results = self._results()
        run = GraphRun({}, list(results.values()))
        await self._run_concurrently(context, results, run, deadline, connections, clock)
        return run

    def _results(self) -> dict[str, NodeResult]:
        return {n.id: NodeResult(n.id, n.name, n.kind, dependents=self.dependents.get(n.id, ())) for n in self.nodes}

    def run_sync(
        self, inputs: Mapping[str, Any], clock: Callable[[], float] = time.perf_counter, detailed: bool = True
    ) -> GraphRun:
        """A graph of sync nodes (tables, expressions) inline, no coroutine at all; detailed for a trace."""
        context: dict[str, Any] = dict(inputs)
        if not detailed:
            return self._run_fast(context)
        results = self._results()
        run = GraphRun({}, list(results.values()))
        for node in self.nodes:
            result = results[node.id]
            started = clock()
            try:
                try:
                    value, result.detail = node.compute_explained(context)
                except NodeError as error:
                    value = self._settle(node, result, error)
            except NodeError as error:
                result.ms = (clock() - started) * 1000
                run.failure = f"node '{node.id}' failed: {error}"
                return run
            result.ms, result.ran, result.value = (clock() - started) * 1000, True, value
            context[node.id] = value
        run.outputs = self._outputs(context)
        return run

    def _run_fast(self, context: dict[str, Any]) -> GraphRun:
        for node in self.nodes:
            try:
                value = node.compute(context)
            except NodeError as error:
                if node.default is NO_DEFAULT:
                    return GraphRun({}, [], failure=f"node '{node.id}' failed: {error}")
                value = node.default
            context[node.id] = value
        return GraphRun(self._outputs(context), [])

    async def _run_concurrently(
        self,
        context: dict[str, Any],
        results: dict[str, NodeResult],
        run: GraphRun,
        deadline: float | None,
        connections: Any,
        clock: Callable[[], float],
    ) -> None:
        """Dataflow: sync nodes run inline as soon as their inputs are ready; async nodes too when only
        one is ready, and as concurrent tasks when several are (tasks cost ~10 us each, so a graph with
        one connection node, e.g. a cache hit, runs without any)."""
        # Long on purpose: one dataflow loop whose closures share its local state (done, running, context).
        done: set[str] = set()
        running: dict[asyncio.Task[Any], tuple[Node, float]] = {}

        def finish(node: Node, value: Any, started: float) -> None:
            result = results[node.id]
            result.ms, result.ran, result.value = (clock() - started) * 1000, True, value
            context[node.id] = value
            done.add(node.id)

        def guard() -> float | None:
            return None if deadline is None else max(0.0, deadline + GUARD_SECONDS - clock())

        def overran(node: Node) -> Any:
            error = NodeError("timeout", "still running after the deadline")
            return self._settle(node, results[node.id], error)

        async def call(node: Node) -> Any:
            left = 3600.0 if deadline is None else deadline - clock() - RESERVE_SECONDS
            try:
                if left <= 0:
                    raise NodeError("deadline", "no time left before the deadline")
                return await node.compute_async(context, left, connections)
            except NodeError as error:
                return self._settle(node, results[node.id], error)

        try:
            while len(done) < len(self.nodes):
                busy = done | {node.id for node, _ in running.values()}
                ready = [n for n in self.nodes if n.id not in busy and all(d in done for d in n.deps)]
                progressed = False
                for node in ready:
                    if not node.is_async:
                        started = clock()
                        try:
                            value, results[node.id].detail = node.compute_explained(context)
                        except NodeError as error:
                            value = self._settle(node, results[node.id], error)
                        finish(node, value, started)
                        progressed = True
                if progressed:
                    continue
                waiting = [n for n in ready if n.is_async]
                if len(waiting) == 1 and not running:
                    node, started = waiting[0], clock()
                    try:
                        async with asyncio.timeout(guard()):  # the outermost timer of this task: it always wins
                            value = await call(node)
                    except TimeoutError:
                        value = overran(node)
                    finish(node, value, started)
                    continue
                for node in waiting:
                    running[asyncio.ensure_future(call(node))] = (node, clock())
                finished, _ = await asyncio.wait(running, timeout=guard(), return_when=asyncio.FIRST_COMPLETED)
                if not finished:  # the guard: every node still running yields its default, or the run fails
                    for task, (node, started) in list(running.items()):
                        task.cancel()
                        del running[task]
                        finish(node, overran(node), started)
                    continue
                for task in finished:
                    node, started = running.pop(task)
                    finish(node, task.result(), started)
        except NodeError as error:
            failed = next(r for r in results.values() if r.error is not None and not r.used_default)
            run.failure = f"node '{failed.id}' failed: {error}"
        finally:
            for task in running:
                task.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)
        if run.failure is None:
            run.outputs = self._outputs(context)


def build_graph(nodes: Sequence[Node], outputs_from: str | None = None) -> NodeGraph:
    """Check references, cycles and types; order the nodes topologically."""
    by_id: dict[str, Node] = {}
    for node in nodes:
        if node.id in by_id:
            raise GraphError(f"node id '{node.id}' is used twice")
        by_id[node.id] = node
    for node in nodes:
        for dep in node.deps:
            if dep not in by_id:
                raise GraphError(f"node '{node.id}' reads '{dep}', which is not a node of this model")
    order: list[Node] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(node: Node, trail: list[str]) -> None:
        if state.get(node.id) == 2:
            return
        if state.get(node.id) == 1:
            cycle = [*trail[trail.index(node.id) :], node.id]
            raise GraphError(f"cycle: {' -> '.join(cycle)}")
        state[node.id] = 1
        for dep in node.deps:
            visit(by_id[dep], [*trail, node.id])
        state[node.id] = 2
        order.append(node)

    for node in nodes:
        visit(node, [])
    output_ids = tuple(n.id for n in order if n.kind == "output")
    if not output_ids and outputs_from is None:
        raise GraphError("a model needs at least one output node (what the experience's template sees)")
    dependents: dict[str, list[str]] = {}
    for node in order:
        for dep in node.deps:
            dependents.setdefault(dep, []).append(node.id)
    return NodeGraph(
        nodes=tuple(order),
        output_ids=output_ids,
        dependents={k: tuple(v) for k, v in dependents.items()},
        outputs_from=outputs_from,
        has_async=any(n.is_async for n in order),
    )


def check_edge_type(consumer: str, what: str, expected: str, producer: Node) -> None:
    """A value flowing from `producer` into something declared `expected` must be of that type."""
    given = producer.type
    if "any" in (given, expected) or given == expected or (given, expected) in COMPATIBLE:
        return
    raise GraphError(f"node '{consumer}': {what} is {expected}, but node '{producer.id}' gives {given}")
