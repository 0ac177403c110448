"""Decision-model graphs: load-time validation, execution order, concurrency, deadlines, defaults."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Mapping
from typing import Any

import pytest
import yaml

from decision_models import ConnectionOutcome, DecisionModel, RunContext
from service.config import schema
from service.config.models_build import build_model


class FakeConnections:
    """A ConnectionPort with scripted behaviour per connection name; records calls."""

    def __init__(self, names: set[str], parallel: int = 0) -> None:
        self.names = names
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.started = 0
        self.all_started = asyncio.Event()
        self.parallel = parallel

    def knows(self, name: str) -> bool:
        return name in self.names

    async def call(self, name: str, inputs: Mapping[str, Any], seconds: float) -> ConnectionOutcome:
        self.calls.append((name, dict(inputs)))
        if name == "slow":
            await asyncio.sleep(seconds + 1)
        if name == "broken":
            return ConnectionOutcome(False, kind="http_5xx", detail="upstream answered 503")
        if self.parallel:
            # Only returns once every parallel call has started: a sequential runner would never get here.
            self.started += 1
            if self.started == self.parallel:
                self.all_started.set()
            await asyncio.wait_for(self.all_started.wait(), timeout=2)
        return ConnectionOutcome(True, {"echo": dict(inputs), "name": name})


def model(text: str, connections: set[str] = frozenset()) -> DecisionModel:  # type: ignore[assignment]
    spec = schema.DecisionModel.model_validate(yaml.safe_load(textwrap.dedent(text)))
    issues: list[str] = []
    built = build_model(spec, lambda sub, message: issues.append(f"{sub}: {message}"), connections)
    assert built is not None, issues
    return built


def errors(text: str, connections: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    spec = schema.DecisionModel.model_validate(yaml.safe_load(textwrap.dedent(text)))
    issues: list[str] = []
    assert build_model(spec, lambda sub, message: issues.append(f"{sub}: {message}"), connections) is None
    return issues


INPUTS = {"request": {"channel": "WEB"}, "params": {"tier": "gold", "cart": 120}, "guest": {}}

OFFER = """
id: offer
variants:
  - id: v1
    status: production
    weight: 10000
    nodes:
      - {id: message, kind: expression, type: string, expression: {"cat": ["Use ", {"var": "offer.code"}]}}
      - {id: tier, kind: input, source: params.tier, type: string, default: none}
      - {id: cart, kind: input, source: params.cart, type: number, default: 0}
      - id: offer
        kind: table
        hitPolicy: F
        inputs: [{source: tier, type: string}, {source: cart, type: number}]
        outputs: [{name: code, type: string}, {name: discount, type: number}]
        rules:
          - {when: ['"gold"', ">= 100"], then: [GOLD20, 20]}
          - {when: ["-", "-"], then: {code: WELCOME5, discount: 5}}
      - {id: result, kind: output, fields: {offer: offer, message: message}}
"""


async def test_runs_in_dependency_order_whatever_the_listing_order() -> None:
    run = await model(OFFER).run(INPUTS, RunContext("v", 1.0))
    assert run.outputs == {"result": {"offer": {"code": "GOLD20", "discount": 20}, "message": "Use GOLD20"}}
    order = [n.id for n in run.nodes]
    assert order.index("offer") > order.index("tier")
    assert order.index("message") > order.index("offer")
    assert {n.id: n.dependents for n in run.nodes}["offer"] == ("message", "result")


async def test_input_defaults_fill_missing_values() -> None:
    run = await model(OFFER).run({"params": {}}, RunContext("v", 1.0))
    assert run.outputs["result"]["offer"] == {"code": "WELCOME5", "discount": 5}


@pytest.mark.parametrize(
    ("nodes", "message"),
    [
        ("- {id: a, kind: output, value: ghost}", "'ghost' reads 'ghost', which is neither a node nor"),
        (
            "- {id: a, kind: expression, expression: {var: b}}\n- {id: b, kind: expression, expression: {var: a}}\n"
            "- {id: o, kind: output, value: a}",
            "cycle: a -> b -> a",
        ),
        ("- {id: a, kind: input, source: params.x}", "a model needs at least one output node"),
        (
            "- {id: t, kind: input, source: params.t, type: string}\n"
            "- {id: d, kind: table, inputs: [{source: t, type: number}], outputs: [{name: x}], rules: []}\n"
            "- {id: o, kind: output, value: d}",
            "node 'd': input 't' is number, but node 't' gives string",
        ),
        (
            "- {id: params, kind: input, source: params.x}\n- {id: o, kind: output, value: params}",
            "'params' is a context root",
        ),
        (
            "- {id: c, kind: connection, connection: nowhere}\n- {id: o, kind: output, value: c}",
            "unknown connection 'nowhere'",
        ),
        (
            "- {id: a, kind: expression, expression: {nope: [1]}}\n- {id: o, kind: output, value: a}",
            "unknown operator `nope`",
        ),
        ("- {id: a, kind: input, source: a.b}\n- {id: o, kind: output, value: a}", "reads 'a', which is neither"),
    ],
)
def test_load_time_validation(nodes: str, message: str) -> None:
    text = "id: m\nvariants:\n  - id: v\n    status: production\n    weight: 10000\n    nodes:\n"
    text += textwrap.indent(nodes, "      ")
    found = errors(text)
    assert any(message in e for e in found), found


async def test_independent_connection_nodes_overlap() -> None:
    text = """
    id: recs
    variants:
      - id: v
        status: production
        weight: 10000
        nodes:
          - {id: a, kind: connection, connection: one, inputs: {tier: params.tier}}
          - {id: b, kind: connection, connection: two, inputs: {cart: params.cart}}
          - {id: c, kind: connection, connection: three}
          - {id: o, kind: output, fields: {a: a.name, b: b.echo.cart, c: c.name}}
    """
    port = FakeConnections({"one", "two", "three"}, parallel=3)
    run = await model(text, {"one", "two", "three"}).run(INPUTS, RunContext("v", 5.0, port))
    assert run.error is None
    assert run.outputs == {"o": {"a": "one", "b": 120, "c": "three"}}
    assert sorted(name for name, _ in port.calls) == ["one", "three", "two"]


CONNECTED = """
id: m
variants:
  - id: v
    status: production
    weight: 10000
    nodes:
      - {id: slow_node, kind: connection, connection: slow, default: {items: []}}
      - {id: broken_node, kind: connection, connection: broken, default: {items: [fallback]}}
      - {id: o, kind: output, fields: {slow: slow_node.items, broken: broken_node.items}}
"""


async def test_failing_and_overrunning_nodes_yield_their_defaults() -> None:
    port = FakeConnections({"slow", "broken"})
    run = await model(CONNECTED, {"slow", "broken"}).run(INPUTS, RunContext("v", 0.05, port))
    assert run.error is None
    assert run.outputs == {"o": {"slow": [], "broken": ["fallback"]}}
    results = {n.id: n for n in run.nodes}
    assert results["slow_node"].used_default and results["slow_node"].error_kind == "timeout"
    assert results["broken_node"].error == "upstream answered 503"
    assert results["broken_node"].error_kind == "http_5xx"


async def test_a_failing_node_without_default_fails_the_run_unless_the_variant_has_a_fallback() -> None:
    text = CONNECTED.replace(", default: {items: [fallback]}", "")
    port = FakeConnections({"slow", "broken"})
    run = await model(text, {"slow", "broken"}).run(INPUTS, RunContext("v", 0.05, port))
    assert run.failed
    assert run.error == "node 'broken_node' failed: upstream answered 503"
    with_fallback = text.replace(
        "    weight: 10000\n", "    weight: 10000\n    fallback: {o: {slow: [], broken: []}}\n"
    )
    run = await model(with_fallback, {"slow", "broken"}).run(INPUTS, RunContext("v", 0.05, port))
    assert not run.failed
    assert run.used_fallback
    assert run.outputs == {"o": {"slow": [], "broken": []}}


async def test_table_violation_is_a_node_error() -> None:
    text = OFFER.replace("hitPolicy: F", "hitPolicy: U")
    run = await model(text).run(INPUTS, RunContext("v", 1.0))
    assert run.error == "node 'offer' failed: UNIQUE hit policy violated: rules 1, 2 all matched"


async def test_plugin_nodes_get_their_inputs_and_can_log() -> None:
    text = """
    id: m
    variants:
      - id: v
        status: production
        weight: 10000
        nodes:
          - {id: tier, kind: input, source: params.tier}
          - {id: p, kind: plugin, python: "tests.plugins:logs_and_scores", inputs: {tier: tier}, type: object}
          - {id: o, kind: output, value: p.score}
    """
    run = await model(text).run(INPUTS, RunContext("v", 1.0))
    assert run.outputs == {"o": 90}
    assert run.logs == ["scoring tier gold"]
