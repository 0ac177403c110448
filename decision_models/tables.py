"""DMN decision tables: typed input columns, S-FEEL cells, hit policies, compiled once to closures.

Hit policies (docs/wire-formats.md, "Decision tables"): U unique (default), A any, P priority, F first,
R rule order, O output order, C collect, C+ sum, C< min, C> max, C# count. Priority (P, O) ranks a
match by its outputs' allowed-values lists: earlier in the list is higher. With no match a single-hit
table gives null, R/O/C give [], C# gives 0, and C+ / C< / C> give null (FEEL's sum/min/max of []).
A U or A violation is an error result naming the rules that hit, not an exception.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .feel import FeelError, UnaryTest, Value, compile_output, compile_unary_test, kind_of
from .tablegen import Matcher, generate_matcher

HIT_POLICIES = ("U", "A", "P", "F", "R", "O", "C", "C+", "C<", "C>", "C#")
SINGLE_HIT = frozenset({"U", "A", "P", "F"})
SCALAR_TYPES = frozenset({"string", "number", "boolean", "date"})
COERCED_TYPES = frozenset({"number", "integer", "boolean", "date"})


class TableError(ValueError):
    """A table that cannot be compiled; `problems` lists every one, each naming its rule and column."""

    def __init__(self, problems: str | list[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else problems
        super().__init__("; ".join(self.problems))


_NUMERIC = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


def coerce(value: Any, declared: str) -> Any:
    """A string read by a number, boolean or date column, as that type when it spells one (Engage and HTML
    forms send every param as a string); anything else unchanged."""
    if type(value) is not str:
        return value
    if declared in ("number", "integer") and _NUMERIC.match(value):
        text = value.strip()
        if text.lstrip("+-").isdigit():
            return int(text)
        return float(text) if declared == "number" else value
    if declared == "boolean" and value.strip() in ("true", "false"):
        return value.strip() == "true"
    if declared == "date":
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return value
    return value


def _coercing(get: Value, declared: str) -> Value:
    def coerced(context: Mapping[str, Any]) -> Any:
        value = get(context)
        return coerce(value, declared) if type(value) is str else value

    return coerced


@dataclass(frozen=True, slots=True)
class Column:
    label: str
    get: Value  # the value as the rules see it: strings coerced to the column's type
    type: str  # one of SCALAR_TYPES or "any"
    raw: Value | None = None  # the value as read, for a column that coerces


@dataclass(frozen=True, slots=True)
class OutputColumn:
    name: str
    type: str
    priority: tuple[Any, ...] = ()  # allowed values, highest priority first


@dataclass(frozen=True, slots=True)
class Rule:
    number: int  # 1-based, as people count rows
    checks: tuple[tuple[int, UnaryTest], ...]  # (column index, test), wildcards left out
    outputs: tuple[Value, ...]
    # The rule's output when every output cell is a literal (most tables): built once, not per hit.
    constant: Any = field(default=None, compare=False)
    is_constant: bool = False


@dataclass(slots=True)  # not frozen: one is made per evaluation, and a frozen one costs 3x to build
class TableResult:
    value: Any
    matched: tuple[int, ...]
    error: str | None = None


# The Python classes that are certainly of each declared type: most values, settled by one lookup.
_EXACT: dict[str, frozenset[type]] = {
    "string": frozenset({str}),
    "number": frozenset({int, float}),
    "integer": frozenset({int}),
    "boolean": frozenset({bool}),
    "object": frozenset({dict}),
    "list": frozenset({list}),
}


def type_matches(value: Any, declared: str) -> bool:
    if value.__class__ in _EXACT.get(declared, ()):
        return True
    if declared == "any" or value is None:
        return True
    if declared == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if declared == "object":
        return isinstance(value, Mapping)
    if declared == "list":
        return isinstance(value, list)
    return kind_of(value) == declared


@dataclass(frozen=True, slots=True)
class DecisionTable:
    hit_policy: str
    columns: tuple[Column, ...]
    outputs: tuple[OutputColumn, ...]
    rules: tuple[Rule, ...]
    match: Matcher  # generated: the rules that hit, in rule order (only the first for F)

    def _output(self, rule: Rule, context: Mapping[str, Any]) -> Any:
        if len(self.outputs) == 1:
            return rule.outputs[0](context)
        if rule.is_constant:  # a copy: a plugin node reading it may change what it is given
            return dict(rule.constant)
        return {o.name: get(context) for o, get in zip(self.outputs, rule.outputs, strict=True)}

    def _priority(self, rule: Rule, context: Mapping[str, Any]) -> tuple[int, ...]:
        key = []
        for column, get in zip(self.outputs, rule.outputs, strict=True):
            if column.priority:
                value = get(context)
                key.append(column.priority.index(value) if value in column.priority else len(column.priority))
        return tuple(key)

    def coercions(self, context: Mapping[str, Any]) -> list[str]:
        """For the trace: which inputs arrived as strings and were read as their column's type."""
        notes = []
        for column in self.columns:
            if column.raw is None:
                continue
            raw = column.raw(context)
            if type(raw) is str and column.get(context) is not raw:
                notes.append(f"input '{column.label}': the string {raw!r} was read as a {column.type}")
        return notes

    def evaluate(self, context: Mapping[str, Any]) -> TableResult:
        hits: list[Rule] = self.match(context)
        matched = (hits[0].number,) if len(hits) == 1 else tuple([r.number for r in hits])
        policy = self.hit_policy
        if policy in SINGLE_HIT:
            if not hits:
                return TableResult(None, matched)
            if policy == "F":
                return TableResult(self._output(hits[0], context), matched)
            if policy == "P":
                best = min(hits, key=lambda r: self._priority(r, context))
                return TableResult(self._output(best, context), matched)
            outputs = [self._output(r, context) for r in hits]
            if policy == "U" and len(hits) > 1:
                rules = ", ".join(map(str, matched))
                return TableResult(None, matched, f"UNIQUE hit policy violated: rules {rules} all matched")
            if policy == "A" and any(o != outputs[0] for o in outputs[1:]):
                rules = ", ".join(map(str, matched))
                return TableResult(None, matched, f"ANY hit policy violated: rules {rules} give different outputs")
            return TableResult(outputs[0], matched)
        if policy == "O":
            hits = sorted(hits, key=lambda r: self._priority(r, context))
            return TableResult([self._output(r, context) for r in hits], tuple(r.number for r in hits))
        if policy in ("R", "C"):
            return TableResult([self._output(r, context) for r in hits], matched)
        if policy == "C#":
            return TableResult(len(hits), matched)
        numbers = [v for v in (self._output(r, context) for r in hits) if v is not None]
        if not numbers:
            return TableResult(None, matched)
        if policy == "C+":
            return TableResult(sum(numbers), matched)
        return TableResult(min(numbers) if policy == "C<" else max(numbers), matched)


def compile_table(
    hit_policy: str,
    columns: Sequence[tuple[str, Value, str]],
    outputs: Sequence[OutputColumn],
    rules: Sequence[tuple[Sequence[Any], Sequence[Any]]],
    known: frozenset[str],
    reads: Callable[[tuple[str, ...]], None] = lambda path: None,
) -> DecisionTable:
    """Compile rows of (input cells, output cells); every error names its rule and column."""
    # Long on purpose: one pass over every rule and cell that collects every problem before raising.
    if hit_policy not in HIT_POLICIES:
        raise TableError(f"hit policy {hit_policy!r} is not one of {', '.join(HIT_POLICIES)}")
    if hit_policy in ("C+", "C<", "C>", "C#") and len(outputs) != 1:
        raise TableError(f"hit policy {hit_policy} aggregates one output column, not {len(outputs)}")
    if hit_policy == "C+" and outputs[0].type not in ("number", "integer", "any"):
        raise TableError(f"hit policy C+ sums numbers; output '{outputs[0].name}' is {outputs[0].type}")
    if hit_policy in ("P", "O") and not any(o.priority for o in outputs):
        raise TableError(f"hit policy {hit_policy} needs an output with `priority` (allowed values, best first)")
    compiled_columns = tuple(
        Column(label, _coercing(get, column_type), column_type, get)
        if column_type in COERCED_TYPES
        else Column(label, get, column_type)
        for label, get, column_type in columns
    )
    compiled_rules = []
    problems: list[str] = []  # every bad cell of the table, not only the first
    for number, (cells, output_cells) in enumerate(rules, start=1):
        where = f"rule {number}"
        if len(cells) != len(compiled_columns):
            problems.append(f"{where}: {len(cells)} input cells for {len(compiled_columns)} input columns")
            continue
        if len(output_cells) != len(outputs):
            problems.append(f"{where}: {len(output_cells)} output cells for {len(outputs)} output columns")
            continue
        checks = []
        for index, (cell, column) in enumerate(zip(cells, compiled_columns, strict=True)):
            try:
                test = compile_unary_test(cell, known)
            except FeelError as exc:
                problems.append(f"{where}, input '{column.label}': {exc}")
                continue
            for literal in test.literals:
                if column.type in SCALAR_TYPES and literal is not None and kind_of(literal) != column.type:
                    problems.append(
                        f"{where}, input '{column.label}': {literal!r} is a {kind_of(literal)}, "
                        f"the column is {column.type}"
                    )
            for name in test.names:
                reads(name)
            if not test.is_any:
                checks.append((index, test))
        getters = []
        literal = True
        for cell, output in zip(output_cells, outputs, strict=True):
            try:
                get, path = compile_output(cell, known)
            except FeelError as exc:
                problems.append(f"{where}, output '{output.name}': {exc}")
                continue
            if path is None and not type_matches(cell, output.type):
                problems.append(f"{where}, output '{output.name}': {cell!r} is not a {output.type}")
            if path is not None:
                reads(path)
                literal = False
            getters.append(get)
        constant = {o.name: cell for o, cell in zip(outputs, output_cells, strict=True)} if literal else None
        compiled_rules.append(Rule(number, tuple(checks), tuple(getters), constant, literal))
    if problems:
        raise TableError(problems)
    matcher = generate_matcher(
        [c.get for c in compiled_columns],
        [c.type for c in compiled_columns],
        [(rule, rule.checks) for rule in compiled_rules],
        first_only=False,  # all hits, even for F: the trace shows every rule that matched
    )
    return DecisionTable(hit_policy, compiled_columns, tuple(outputs), tuple(compiled_rules), matcher)
