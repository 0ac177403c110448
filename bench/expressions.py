"""Candidate safe expression languages for audience rules, measured on one rule.

Run: python -m bench.expressions
The rule: channel is WEB, loyalty tier is gold or platinum, and cart value over 100.
Each candidate is compiled once and evaluated many times against the same request context,
the way an audience is evaluated on the request path (context built per request included).
"""

from __future__ import annotations

import importlib
import statistics
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

CONTEXT: dict[str, Any] = {
    "request": {"channel": "WEB", "language": "EN", "currency": "EUR", "pointOfSale": "shop"},
    "params": {"tier": "gold", "cartValue": 180, "utm": {"source": "google"}},
}
N = 20_000


def _time(fn: Callable[[], Any]) -> tuple[float, float]:
    samples = []
    for _ in range(7):
        start = time.perf_counter_ns()
        for _ in range(N):
            fn()
        samples.append((time.perf_counter_ns() - start) / N / 1000)
    return statistics.median(samples), min(samples)


def candidates() -> dict[str, Callable[[], Any]]:
    out: dict[str, Callable[[], Any]] = {}

    import datalogic_py

    rule = datalogic_py.Engine().compile(
        {
            "and": [
                {"==": [{"var": "request.channel"}, "WEB"]},
                {"in": [{"var": "params.tier"}, ["gold", "platinum"]]},
                {">": [{"var": "params.cartValue"}, 100]},
            ]
        }
    )
    out[f"datalogic-py {version('datalogic-py')} (JSON Logic)"] = lambda: rule.evaluate(CONTEXT)

    import cel

    program = cel.compile('request.channel == "WEB" && params.tier in ["gold", "platinum"] && params.cartValue > 100')
    out[f"common-expression-language {version('common-expression-language')} (CEL)"] = lambda: program.execute(CONTEXT)

    celpy: Any = importlib.import_module("celpy")  # optional (bench extra); untyped either way

    env = celpy.Environment()
    ast = env.compile('request.channel == "WEB" && params.tier in ["gold", "platinum"] && params.cartValue > 100')
    prog = env.program(ast)
    out[f"cel-python {version('cel-python')} (CEL)"] = lambda: prog.evaluate(celpy.json_to_cel(CONTEXT))

    from jinja2.sandbox import ImmutableSandboxedEnvironment

    jenv = ImmutableSandboxedEnvironment()
    jexpr = jenv.compile_expression(
        'request.channel == "WEB" and params.tier in ["gold", "platinum"] and params.cartValue > 100'
    )
    out[f"jinja2 {version('jinja2')} sandboxed compile_expression"] = lambda: jexpr(**CONTEXT)
    return out


def main() -> None:
    print(f"python {sys.version.split()[0]}; {N} evaluations x 7 rounds; median (best) us per evaluation")
    results = {}
    for name, fn in candidates().items():
        assert bool(fn()) is True, name
        results[name] = _time(fn)
    base = min(m for m, _ in results.values())
    for name, (med, best) in results.items():
        print(f"{name:60s} {med:8.2f} us ({best:.2f})  x{med / base:.1f} of fastest")


if __name__ == "__main__":
    main()
