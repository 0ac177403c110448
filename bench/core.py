"""Micro-benchmark of the in-process decision core: audience + bucketing + template, no HTTP.

Run: python -m bench.core
Measures `decide()` on the demo config (it never suspends without decision models, so it is driven
without an event loop), and the wire parse + normalization that precedes it. Prints p50/p99 per call
and, as a baseline measured in the same run, the cost of `orjson.dumps` of the same response.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Coroutine
from importlib.metadata import version
from typing import Any

import orjson

from decision_models import Decision, DecisionRequest, decide
from service.config import load_runtime
from service.sitecore.body import parse_body, to_decision_request

BODY = (
    b'{"channel":"WEB","clientKey":"","currencyCode":"EUR","friendlyId":"home_banner","guestRef":"G",'
    b'"language":"EN","params":{"utm":{"source":"google","campaign":"x"},"firstName":"Ana",'
    b'"loyalty":{"tier":"silver"}},"pointOfSale":"","browserId":"a38b230c-11eb-4cf9-8d5d-274e9f344925"}'
)


def run_sync(coroutine: Coroutine[Any, Any, Decision]) -> Decision:
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    raise RuntimeError("decide() suspended: this benchmark is for models without I/O")


def measure(fn: Callable[[], Any], n: int = 2000, rounds: int = 15) -> tuple[float, float]:
    """p50 and p99 of per-call time over rounds of n calls, in microseconds."""
    for _ in range(n):
        fn()
    samples = []
    for _ in range(rounds * 10):
        start = time.perf_counter_ns()
        for _ in range(n // 10):
            fn()
        samples.append((time.perf_counter_ns() - start) / (n // 10) / 1000)
    q = statistics.quantiles(samples, n=100)
    return statistics.median(samples), q[98]


def main() -> None:
    runtime = load_runtime()
    project = runtime.projects["demo"]
    catalog = project.catalog
    print(
        f"python {sys.version.split()[0]}; pydantic {version('pydantic')}, orjson {version('orjson')}, "
        f"datalogic-py {version('datalogic-py')}, mmh3 {version('mmh3')}"
    )

    def request(fid: str) -> DecisionRequest:
        return to_decision_request(parse_body(BODY), catalog, friendly_id=fid)

    def deciding(req: DecisionRequest) -> Callable[[], Decision]:
        return lambda: run_sync(decide(catalog, req, default_deadline_ms=250))

    cases: dict[str, Callable[[], Any]] = {}
    for fid in ("home_banner", "loyalty_offer", "promo_*"):
        cases[f"decide {fid:14s} (audience + bucketing + render + dumps)"] = deciding(request(fid))
    cases["parse_body + to_decision_request"] = lambda: request("home_banner")
    body = orjson.loads(run_sync(decide(catalog, request("home_banner"), default_deadline_ms=250)).body)
    cases["baseline: orjson.dumps of the same response"] = lambda: orjson.dumps(body)
    for name, fn in cases.items():
        p50, p99 = measure(fn)
        print(f"{name:62s} p50 {p50:6.2f} us  p99 {p99:6.2f} us")
    print("target: decide home_banner <= 25 us p50")


if __name__ == "__main__":
    main()
