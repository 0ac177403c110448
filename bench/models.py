"""Decision-model benchmarks: table evaluation per hit policy, the demo model, overlapping connection nodes.

Run: python -m bench.models
Targets (the decision-model issue): 10-rule x 3-input table <= 10 us p50 for any hit policy; the demo
model (table + expression) <= 50 us p50; three 50 ms connection nodes finish in <= 60 ms wall.
Baseline in the same run: one dict lookup-and-compare per rule in plain Python (the cost floor of a table).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Mapping
from functools import partial
from importlib.metadata import version
from typing import Any

from bench.core import measure, run_sync
from decision_models import ConnectionOutcome, OutputColumn, RunContext, compile_table
from service.config import load_runtime, schema
from service.config.models_build import build_model

POLICY_OUTPUTS = {"C+": "number", "C<": "number", "C>": "number", "C#": "number"}


def ten_by_three(policy: str) -> Any:
    """10 rules over (tier: string, cart: number, channel: string); only the last rule is a catch-all."""
    tiers = ['"gold"', '"silver"', '"bronze"', '"gold", "silver"', "-"]
    carts = [">= 100", "[50..100)", "< 50", "> 500", "-"]
    rules = []
    for i in range(9):
        rules.append(([tiers[i % 5], carts[(i * 2) % 5], '"WEB", "MOBILE_WEB"' if i % 2 else "-"], [i + 1]))
    rules.append((["-", "-", "-"], [100]))
    columns = [
        ("tier", lambda c: c["tier"], "string"),
        ("cart", lambda c: c["cart"], "number"),
        ("channel", lambda c: c["channel"], "string"),
    ]
    outputs = [OutputColumn("out", POLICY_OUTPUTS.get(policy, "number"), (*range(1, 11), 100))]
    return compile_table(policy, columns, outputs, rules, known=frozenset())


class FiftyMsConnections:
    def knows(self, name: str) -> bool:
        return True

    async def call(self, name: str, inputs: Mapping[str, Any], seconds: float) -> ConnectionOutcome:
        await asyncio.sleep(0.05)
        return ConnectionOutcome(True, {"name": name})


def three_connections() -> Any:
    spec = schema.DecisionModel.model_validate(
        {
            "id": "three",
            "variants": [
                {
                    "id": "v",
                    "status": "production",
                    "weight": 10000,
                    "nodes": [
                        {"id": "a", "kind": "connection", "connection": "a"},
                        {"id": "b", "kind": "connection", "connection": "b"},
                        {"id": "c", "kind": "connection", "connection": "c"},
                        {"id": "o", "kind": "output", "fields": {"a": "a.name", "b": "b.name", "c": "c.name"}},
                    ],
                }
            ],
        }
    )
    model = build_model(spec, lambda sub, message: print(sub, message), {"a", "b", "c"})
    assert model is not None
    return model


def main() -> None:
    print(f"python {sys.version.split()[0]}; datalogic-py {version('datalogic-py')}; cmd: {' '.join(sys.argv)}")
    context = {"tier": "silver", "cart": 75, "channel": "WEB"}
    rules = [("tier", "silver"), ("cart", 75), ("channel", "WEB")] * 10
    base, _ = measure(lambda: [context[k] == v for k, v in rules])
    print(f"baseline: 30 plain dict compares                          p50 {base:6.2f} us")
    for policy in ("U", "A", "P", "F", "R", "O", "C", "C+", "C<", "C>", "C#"):
        table = ten_by_three(policy)
        p50, p99 = measure(partial(table.evaluate, context))
        print(
            f"10-rule x 3-input table, hit policy {policy:3s}                p50 {p50:6.2f} us  p99 {p99:6.2f} us"
            f"  x{p50 / base:.1f} baseline  (target <= 10 us)"
        )

    runtime = load_runtime()
    model = runtime.projects["demo"].models["banner_offer"]
    inputs = {"request": {"channel": "WEB"}, "params": {"loyalty": {"tier": "gold"}, "cartValue": 120}, "guest": {}}
    hot = RunContext("visitor-1", 0.25, detailed=False)  # as callFlows runs it; explain runs it detailed
    p50, p99 = measure(lambda: run_sync(model.run(inputs, hot)))  # type: ignore[arg-type]
    print(
        f"demo model banner_offer (2 inputs, table, expression, output) p50 {p50:6.2f} us  p99 {p99:6.2f} us"
        "  (target <= 50 us)"
    )

    model3 = three_connections()
    port = FiftyMsConnections()

    async def once() -> float:
        start = time.perf_counter()
        run = await model3.run({}, RunContext("v", 1.0, port))
        assert run.error is None, run.error
        return (time.perf_counter() - start) * 1000

    walls = [asyncio.run(once()) for _ in range(10)]
    print(
        f"three 50 ms connection nodes, fake port: wall median {statistics.median(walls):.1f} ms, "
        f"max {max(walls):.1f} ms (target <= 60 ms; sequential would be 150 ms)"
    )


if __name__ == "__main__":
    main()
