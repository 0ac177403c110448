"""Compile `decisionModels` config into DecisionModel objects: nodes, tables, references, types, plugins."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Container, Mapping
from typing import Any

from decision_models import (
    CONTEXT_ROOTS,
    NO_DEFAULT,
    ConnectionNode,
    DecisionModel,
    ExpressionError,
    ExpressionNode,
    GraphError,
    InputNode,
    ModelVariant,
    Node,
    OutputColumn,
    OutputNode,
    PluginNode,
    Source,
    TableError,
    TableNode,
    build_graph,
    check_edge_type,
    compile_source,
    compile_table,
)

from . import schema

Issue = Callable[[str, str], None]  # (sub-path inside the model, message)


def load_plugin(reference: str) -> Callable[[Mapping[str, Any]], Any]:
    module_name, _, attribute = reference.partition(":")
    module = importlib.import_module(module_name)
    function = getattr(module, attribute)
    if not callable(function):
        raise TypeError(f"{reference} is not callable")
    return function  # type: ignore[no-any-return]


class _VariantCompiler:
    """Compiles the nodes of one model variant; problems go to `issue` with their sub-path."""

    def __init__(self, issue: Issue, where: str, node_ids: set[str], connections: Container[str]) -> None:
        self.issue = issue
        self.where = where
        self.node_ids = node_ids
        self.roots = frozenset(CONTEXT_ROOTS | node_ids)
        self.connections = connections
        self.edges: list[tuple[str, str, str, str]] = []  # consumer, what, expected type, producer

    def deps(self, reads: Any) -> tuple[str, ...]:
        return tuple(sorted({path[0] for path in reads if path and path[0] in self.node_ids}))

    def sources(self, mapping: Mapping[str, schema.Source]) -> tuple[tuple[str, Source], ...]:
        return tuple((name, compile_source(spec, self.roots)) for name, spec in mapping.items())

    def node(self, spec: Any, sub: str) -> Node | None:
        common: dict[str, Any] = {
            "id": spec.id,
            "name": spec.name or spec.id,
            "kind": spec.kind,
            "type": spec.type,
            "default": spec.default if "default" in spec.model_fields_set else NO_DEFAULT,
        }
        try:
            if spec.id in CONTEXT_ROOTS:
                raise ValueError(f"'{spec.id}' is a context root; pick another node id")
            return self._node(spec, common)
        except TableError as exc:  # every bad cell, one issue each
            for problem in exc.problems:
                self.issue(f"{sub}", problem)
            return None
        except (ValueError, ExpressionError, GraphError) as exc:
            self.issue(f"{sub}", str(exc))
            return None

    def _node(self, spec: Any, common: dict[str, Any]) -> Node:
        if isinstance(spec, schema.InputNode):
            source = compile_source(spec.source, frozenset(CONTEXT_ROOTS))
            return InputNode(**common, deps=(), source=source)
        if isinstance(spec, schema.ExpressionNode):
            source = compile_source(spec.expression, self.roots)
            return ExpressionNode(**common, deps=self.deps(source.reads), source=source)
        if isinstance(spec, schema.TableNode):
            return self._table(spec, common)
        if isinstance(spec, schema.ConnectionNode):
            if spec.connection not in self.connections:
                raise ValueError(f"unknown connection '{spec.connection}' (connections of kind `data`)")
            fields = self.sources(spec.inputs)
            reads = [path for _, s in fields for path in s.reads]
            return ConnectionNode(
                **common, deps=self.deps(reads), is_async=True, connection=spec.connection, fields=fields
            )
        if isinstance(spec, schema.PluginNode):
            try:
                function = load_plugin(spec.python)
            except Exception as exc:  # operator code failing to import: a config error, with its cause
                raise ValueError(f"cannot load {spec.python}: {type(exc).__name__}: {exc}") from None
            # Without `inputs` the function gets the request roots (request, params, guest, ...) only.
            fields = self.sources(spec.inputs or {})
            reads = [path for _, s in fields for path in s.reads]
            return PluginNode(
                **common,
                deps=self.deps(reads),
                is_async=True,
                reference=spec.python,
                function=function,
                fields=fields,
                pass_context=spec.inputs is None,
            )
        assert isinstance(spec, schema.OutputNode)
        if spec.value is not None:
            single = compile_source(spec.value, self.roots)
            return OutputNode(**common, deps=self.deps(single.reads), fields=(), single=single)
        fields = self.sources(spec.fields or {})
        return OutputNode(**common, deps=self.deps([p for _, s in fields for p in s.reads]), fields=fields)

    def _table(self, spec: schema.TableNode, common: dict[str, Any]) -> Node:
        reads: list[tuple[str, ...]] = []
        columns = []
        for column in spec.inputs:
            source = compile_source(column.source, self.roots)
            reads.extend(source.reads)
            label = column.label or source.text
            columns.append((label, source.get, column.type))
            if isinstance(column.source, str) and "." not in column.source and column.source in self.node_ids:
                self.edges.append((spec.id, f"input '{label}'", column.type, column.source))
        outputs = [OutputColumn(o.name, o.type, tuple(o.priority)) for o in spec.outputs]
        rules = []
        for number, rule in enumerate(spec.rules, start=1):
            then = rule.then
            if isinstance(then, dict):
                unknown = set(then) - {o.name for o in outputs}
                if unknown:
                    raise ValueError(f"rule {number}: unknown output(s) {', '.join(sorted(unknown))}")
                then = [then.get(o.name) for o in outputs]
            rules.append((rule.when, then))
        table = compile_table(spec.hit_policy, columns, outputs, rules, self.roots, reads.append)
        if len(outputs) == 1 and spec.hit_policy in ("U", "A", "P", "F", "C<", "C>"):
            given = outputs[0].type
        elif spec.hit_policy in ("C#", "C+"):
            given = "number"
        elif spec.hit_policy in ("U", "A", "P", "F"):
            given = "object"
        else:
            given = "list"
        if common["type"] == "any":
            common["type"] = given
        return TableNode(**common, deps=self.deps(reads), table=table)


def build_model(item: schema.DecisionModel, issue: Issue, connections: Container[str]) -> DecisionModel | None:
    """A DecisionModel, or None after reporting every problem through `issue`."""
    if item.plugin is not None:
        try:
            function = load_plugin(item.plugin)
        except Exception as exc:  # operator code failing to import: a config error, with its cause
            issue(".plugin", f"cannot load {item.plugin}: {type(exc).__name__}: {exc}")
            return None
        node = PluginNode(
            id="plugin",
            name=item.plugin,
            kind="plugin",
            type="object",
            deps=(),
            is_async=True,
            reference=item.plugin,
            function=function,
            fields=(),
            pass_context=True,
        )
        graph = build_graph([node], outputs_from="plugin")
        variant = ModelVariant("default", "default", "production", graph, weight=10_000)
        return DecisionModel(item.id, item.name or item.id, (variant,))
    failed = False
    variants = []
    for i, spec in enumerate(item.variants):
        where = f".variants[{i}]"

        def report(sub: str, message: str, where: str = where) -> None:
            nonlocal failed
            failed = True
            issue(f"{where}{sub}", message)

        compiler = _VariantCompiler(report, where, {n.id for n in spec.nodes}, connections)
        nodes = [compiler.node(n, f".nodes[{j}]") for j, n in enumerate(spec.nodes)]
        if any(n is None for n in nodes):
            continue
        built = [n for n in nodes if n is not None]
        try:
            graph = build_graph(built)
            by_id = {n.id: n for n in built}
            for consumer, what, expected, producer in compiler.edges:
                check_edge_type(consumer, what, expected, by_id[producer])
        except GraphError as exc:
            report(".nodes", str(exc))
            continue
        variants.append(
            ModelVariant(spec.id, spec.name or spec.id, spec.status, graph, spec.weight, spec.revision, spec.fallback)
        )
    if failed:
        return None
    return DecisionModel(item.id, item.name or item.id, tuple(variants), item.test_share)
