"""The product's one condition language: JSON Logic, compiled once by datalogic-py's Rust core.

Chosen by measurement (bench/expressions.py, docs/expression-language.md): 0.7 us per audience rule
against 16 us for CEL (common-expression-language), 9 us for sandboxed Jinja2 and 380 us for cel-python.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import datalogic_py

# Strict operator names: a typo in an operator is a load-time error, not a silent null.
_ENGINE = datalogic_py.Engine(strict_operator_names=True)


class ExpressionError(ValueError):
    """A rule that does not compile; the message says where inside the rule."""


class EvaluationError(ValueError):
    """A compiled rule that could not evaluate on this input (a client value of an unexpected type)."""


# The engine holds numbers as 64-bit integers or doubles: it refuses a Python int outside that range
# (`10**30` from a client's JSON). Such values are widened to floats and the rule evaluated again, on the
# error path only, so the hot path pays nothing.
_INT_RANGE = (-(2**63), 2**64 - 1)


def widen_numbers(value: Any) -> Any:
    """`value` with every integer outside 64 bits made a float (the nearest double; beyond it, the largest)."""
    if isinstance(value, int) and not isinstance(value, bool) and not _INT_RANGE[0] <= value <= _INT_RANGE[1]:
        try:
            return float(value)
        except OverflowError:  # beyond a double: the nearest the engine holds (it reads inf as null)
            return sys.float_info.max if value > 0 else -sys.float_info.max
    if isinstance(value, dict):
        return {k: widen_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [widen_numbers(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class Condition:
    """A compiled rule: `matches(context)` is JSON Logic truthiness of its result."""

    source: Any
    reads: tuple[tuple[str, ...], ...]  # the variable paths it reads; all of them when `complete`
    _rule: datalogic_py.Rule
    # The top-level keys the rule reads: only those are handed to the engine, which converts its whole
    # input on every call (measured: the demo model's expression node went from ~10 us to ~2 us).
    _roots: tuple[str, ...] = ()
    complete: bool = True  # False: a `var` built at run time may read paths `reads` does not list

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        """The rule's value; EvaluationError (never another exception) when it cannot evaluate."""
        data = {root: context.get(root) for root in self._roots}
        try:
            return self._rule.evaluate(data)
        except datalogic_py.ParseError:
            try:
                return self._rule.evaluate(widen_numbers(data))
            except datalogic_py.DataLogicError as exc:
                raise EvaluationError(str(exc)) from None
        except datalogic_py.DataLogicError as exc:
            raise EvaluationError(str(exc)) from None
        except RecursionError:
            raise EvaluationError("input nested too deeply") from None

    def matches(self, context: Mapping[str, Any]) -> bool:
        # JSON Logic truthiness: [] and "" and 0 are false, like Python; "0" is true in both.
        return self.test(context)[0]

    def test(self, context: Mapping[str, Any]) -> tuple[bool, str | None]:
        """Whether the rule holds, and why not when it could not evaluate (a defined false, never a raise)."""
        try:
            return bool(self.evaluate(context)), None
        except EvaluationError as exc:
            return False, f"could not evaluate: {exc}"


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
    complete = not facts["computed_reads"] and facts["reads_complete"]
    # A `var` built at run time may read anything it is allowed to.
    roots = tuple(sorted({path[0] for path in reads if path} if complete else allowed))
    return Condition(source=rule, reads=reads, _rule=compiled, _roots=roots, complete=complete)
