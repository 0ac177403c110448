"""The product's one condition language: JSON Logic, compiled once by datalogic-py's Rust core.

Chosen by measurement (bench/expressions.py, docs/expression-language.md): 0.7 us per audience rule
against 16 us for CEL (common-expression-language), 9 us for sandboxed Jinja2 and 380 us for cel-python.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import datalogic_py

# Strict operator names: a typo in an operator is a load-time error, not a silent null.
_ENGINE = datalogic_py.Engine(strict_operator_names=True)


class ExpressionError(ValueError):
    """A rule that does not compile; the message says where inside the rule."""


@dataclass(frozen=True, slots=True)
class Condition:
    """A compiled rule: `matches(context)` is JSON Logic truthiness of its result."""

    source: Any
    reads: tuple[tuple[str, ...], ...]
    _rule: datalogic_py.Rule
    # The top-level keys the rule reads: only those are handed to the engine, which converts its whole
    # input on every call (measured: the demo model's expression node went from ~10 us to ~2 us).
    _roots: tuple[str, ...] = ()

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        return self._rule.evaluate({root: context.get(root) for root in self._roots})

    def matches(self, context: Mapping[str, Any]) -> bool:
        # JSON Logic truthiness: [] and "" and 0 are false, like Python; "0" is true in both.
        return bool(self.evaluate(context))


def compile_condition(rule: Any, *, roots: Iterable[str]) -> Condition:
    """Compile a JSON Logic rule; every variable it reads must start with one of `roots`."""
    diagnostics = _ENGINE.check(rule)
    errors = [d for d in diagnostics if d["severity"] == "error"]
    if errors:
        first = errors[0]
        where = f" at {first['pointer']}" if first["pointer"] else ""
        raise ExpressionError(f"invalid rule{where}: {first['message']}")
    try:
        compiled = _ENGINE.compile(rule)
    except datalogic_py.DataLogicError as exc:  # the checker and the compiler disagree: report both
        raise ExpressionError(f"invalid rule: {exc}") from None
    facts = compiled.facts()
    allowed = set(roots)
    reads = tuple(tuple(path) for path in facts["reads"])
    for path in reads:
        if path and path[0] not in allowed:
            raise ExpressionError(
                f"rule reads '{'.'.join(path)}'; variables start with one of: {', '.join(sorted(allowed))}"
            )
    if facts["computed_reads"] or not facts["reads_complete"]:
        roots = tuple(sorted(allowed))  # a `var` built at run time may read anything it is allowed to
    else:
        roots = tuple(sorted({path[0] for path in reads if path}))
    return Condition(source=rule, reads=reads, _rule=compiled, _roots=roots)
