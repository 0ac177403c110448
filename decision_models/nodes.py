"""The node kinds of a decision model: input, table, expression, connection, plugin, output.

Each node reads a context mapping (the request roots plus the values of the nodes it depends on) and
gives one value. Sync nodes compute inline; plugin and connection nodes are awaited, bounded in time.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .expressions import Condition, EvaluationError, compile_condition
from .paths import getter, split_path
from .ports import ConnectionPort
from .tables import COERCED_TYPES, DecisionTable, coerce, type_matches

CONTEXT_ROOTS = frozenset({"request", "params", "headers", "guest", "experience", "variant"})
Get = Callable[[Mapping[str, Any]], Any]
NO_DEFAULT: Any = object()

# Lines a plugin writes with `decision_models.log(...)`, collected per model run for `debug.logs`.
_LOGS: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("decision_model_logs", default=None)


def log(message: str) -> None:
    """Write a line to the running model's debug log (what Sitecore programmables did with print)."""
    lines = _LOGS.get()
    if lines is not None:
        lines.append(str(message))


class NodeError(Exception):
    """A node that could not give a value; `kind` is a short machine word (timeout, type, hit_policy...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class Source:
    """Where a value comes from: a dotted path, or a JSON Logic expression; `reads` are its paths."""

    get: Get
    reads: tuple[tuple[str, ...], ...]
    text: str


def compile_source(spec: Any, roots: frozenset[str]) -> Source:
    """A string is a dotted path; a mapping is JSON Logic; both may read context roots and node ids."""
    if isinstance(spec, str):
        path = split_path(spec)
        if path[0] not in roots:
            raise ValueError(f"'{spec}' reads '{path[0]}', which is neither a node nor one of {sorted(CONTEXT_ROOTS)}")
        return Source(getter(path), (path,), spec)
    if isinstance(spec, Mapping):
        condition: Condition = compile_condition(spec, roots=roots)
        return Source(_evaluating(condition), condition.reads, str(spec))
    raise ValueError(f"a value source is a dotted path or a JSON Logic mapping, not {type(spec).__name__}")


def _evaluating(condition: Condition) -> Get:
    """A rule's value as a node input: an input it cannot evaluate is the node's failure (its default)."""

    def get(context: Mapping[str, Any]) -> Any:
        try:
            return condition.evaluate(context)
        except EvaluationError as exc:
            raise NodeError("expression", str(exc)) from None

    return get


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    name: str
    kind: str
    type: str  # the type of the value it gives: string, number, integer, boolean, date, object, list, any
    deps: tuple[str, ...]
    default: Any = NO_DEFAULT
    is_async: bool = False

    def compute(self, context: Mapping[str, Any]) -> Any:
        raise NotImplementedError

    def compute_explained(self, context: Mapping[str, Any]) -> tuple[Any, dict[str, Any] | None]:
        """The value and, for nodes that have one, a detail for the trace (a table's matched rules)."""
        return self.compute(context), None

    async def compute_async(
        self, context: Mapping[str, Any], seconds: float, connections: ConnectionPort | None
    ) -> Any:
        return self.compute(context)

    def check(self, value: Any) -> Any:
        if not type_matches(value, self.type):
            raise NodeError("type", f"gave {type(value).__name__} {value!r:.80}, declared {self.type}")
        return value


@dataclass(frozen=True, slots=True)
class InputNode(Node):
    """A value read from the request; a string where a number, boolean or date is declared is read as one
    when it spells one (Engage and HTML forms send every param as a string)."""

    source: Source = field(kw_only=True)

    def compute(self, context: Mapping[str, Any]) -> Any:
        value = self.source.get(context)
        if value is None and self.default is not NO_DEFAULT:
            return self.default
        if type(value) is str and self.type in COERCED_TYPES:
            value = coerce(value, self.type)
        return self.check(value)

    def compute_explained(self, context: Mapping[str, Any]) -> tuple[Any, dict[str, Any] | None]:
        raw = self.source.get(context)
        value = self.compute(context)
        if type(raw) is str and value is not raw:
            return value, {"coerced": f"the string {raw!r} was read as a {self.type}"}
        return value, None


@dataclass(frozen=True, slots=True)
class ExpressionNode(Node):
    source: Source = field(kw_only=True)

    def compute(self, context: Mapping[str, Any]) -> Any:
        return self.check(self.source.get(context))  # evaluation errors are NodeErrors already


@dataclass(frozen=True, slots=True)
class TableNode(Node):
    table: DecisionTable = field(kw_only=True)

    def compute(self, context: Mapping[str, Any]) -> Any:
        result = self.table.evaluate(context)
        if result.error is not None:
            raise NodeError("hit_policy", result.error)
        return result.value

    def compute_explained(self, context: Mapping[str, Any]) -> tuple[Any, dict[str, Any] | None]:
        result = self.table.evaluate(context)
        if result.error is not None:
            raise NodeError("hit_policy", result.error)
        detail: dict[str, Any] = {"matchedRules": list(result.matched)}
        coerced = self.table.coercions(context)
        if coerced:
            detail["coercedInputs"] = coerced
        return result.value, detail


@dataclass(frozen=True, slots=True)
class OutputNode(Node):
    fields: tuple[tuple[str, Source], ...] = field(kw_only=True)
    single: Source | None = field(default=None, kw_only=True)

    def compute(self, context: Mapping[str, Any]) -> Any:
        if self.single is not None:
            return self.single.get(context)
        return {name: source.get(context) for name, source in self.fields}


def _inputs(fields: tuple[tuple[str, Source], ...], context: Mapping[str, Any]) -> dict[str, Any]:
    return {name: source.get(context) for name, source in fields}


@dataclass(frozen=True, slots=True)
class PluginNode(Node):
    reference: str = field(kw_only=True)
    function: Callable[[Mapping[str, Any]], Any] = field(kw_only=True)
    fields: tuple[tuple[str, Source], ...] = field(kw_only=True)
    pass_context: bool = field(default=False, kw_only=True)  # no `inputs` declared: the whole context

    async def compute_async(
        self, context: Mapping[str, Any], seconds: float, connections: ConnectionPort | None
    ) -> Any:
        arguments = dict(context) if self.pass_context else _inputs(self.fields, context)
        try:
            async with asyncio.timeout(seconds):
                if inspect.iscoroutinefunction(self.function):
                    value = await self.function(arguments)
                else:
                    # In a thread, so the deadline still holds; the thread itself cannot be stopped.
                    value = await asyncio.to_thread(self.function, arguments)  # copies contextvars (log)
        except TimeoutError:
            raise NodeError("timeout", f"{self.reference} did not return within {seconds * 1000:.0f} ms") from None
        except NodeError:
            raise
        except Exception as exc:
            raise NodeError("plugin", f"{self.reference} raised {type(exc).__name__}: {exc}") from None
        return self.check(value)


@dataclass(frozen=True, slots=True)
class ConnectionNode(Node):
    connection: str = field(kw_only=True)
    fields: tuple[tuple[str, Source], ...] = field(kw_only=True)

    async def compute_async(
        self, context: Mapping[str, Any], seconds: float, connections: ConnectionPort | None
    ) -> Any:
        if connections is None:
            raise NodeError("no_connections", "no connection layer is configured")
        # The port bounds its own call by `seconds` and reports an overrun as a timeout outcome, counted in
        # its metrics and breaker; a second timer here would race it (the graph guards a port that hangs).
        outcome = await connections.call(self.connection, _inputs(self.fields, context), seconds)
        if not outcome.ok:
            raise NodeError(outcome.kind, outcome.detail or outcome.kind)
        return self.check(dict(outcome.outputs))


def run_logged(lines: list[str]) -> contextvars.Token[list[str] | None]:
    """Collect `log()` lines into `lines` for the current task (reset with the returned token)."""
    return _LOGS.set(lines)


def stop_logging(token: contextvars.Token[list[str] | None]) -> None:
    _LOGS.reset(token)
