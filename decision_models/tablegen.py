"""Generate one Python function per decision table that returns the rules that hit.

Measured on a 10-rule x 3-input table (bench/models.py): a closure per cell walked rule by rule costs
~19 us a table; one generated function with the literals inlined as constants costs a few microseconds.
The generated source holds only our own expressions: every literal is passed in a constants list
(`C[k]`), never spliced in as text, and cells that compare with context names call their compiled
closure (`T[k]`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .feel import Literal, Positive, UnaryTest, kind_of

Matcher = Callable[[Mapping[str, Any]], list[Any]]
_TYPE_CHECK = {"string": "type({v}) is str", "number": "type({v}) in NUM", "date": "type({v}) is DATE"}
_MIRROR = {">=": "<=", ">": "<"}  # `value >= low` is written `low <= value`


class _Emitter:
    def __init__(self) -> None:
        self.constants: list[Any] = []
        self.closures: list[Any] = []

    def constant(self, value: Any) -> str:
        self.constants.append(value)
        return f"C[{len(self.constants) - 1}]"

    def closure(self, test: Any, var: str) -> str:
        self.closures.append(test)
        return f"T[{len(self.closures) - 1}]({var}, ctx)"

    def positive(self, part: Positive, var: str) -> str:
        if part.ops == ("contains",):
            return self.closure(part.test, var)
        if not all(isinstance(e, Literal) for e in part.endpoints):
            return self.closure(part.test, var)
        values = [e.value for e in part.endpoints if isinstance(e, Literal)]
        kinds = {kind_of(v) if v is not None else "null" for v in values}
        if len(part.ops) == 2:  # interval
            kind = kinds.pop() if len(kinds) == 1 else None
            if kind not in _TYPE_CHECK:
                return "False"
            low, high = (self.constant(v) for v in values)
            check = _TYPE_CHECK[kind].format(v=var)
            return f"({check} and {low} {_MIRROR[part.ops[0]]} {var} {part.ops[1]} {high})"
        op, value = part.ops[0], values[0]
        kind = kind_of(value)
        if value is None:
            return {"=": f"({var} is None)", "!=": f"({var} is not None)"}.get(op, "False")
        if kind == "boolean":
            if op == "=":
                return f"({var} is {value!r})"
            return f"({var} is None or (type({var}) is bool and {var} is not {value!r}))" if op == "!=" else "False"
        if kind not in _TYPE_CHECK:
            return self.closure(part.test, var)
        check = _TYPE_CHECK[kind].format(v=var)
        ref = self.constant(value)
        if op == "=":
            return f"({check} and {var} == {ref})"
        if op == "!=":
            return f"({var} is None or ({check} and {var} != {ref}))"
        return f"({check} and {var} {op} {ref})"

    def test(self, test: UnaryTest, var: str) -> str:
        parts = test.parts
        equalities = [p.endpoints[0] for p in parts if p.ops == ("=",) and isinstance(p.endpoints[0], Literal)]
        kinds = {kind_of(e.value) for e in equalities if isinstance(e, Literal)}
        kind = next(iter(kinds)) if len(kinds) == 1 else None
        if len(parts) > 2 and len(equalities) == len(parts) and kind in ("string", "number"):
            # `"a", "b", "c"`: one set lookup instead of a chain of comparisons.
            members = self.constant(frozenset(e.value for e in equalities if isinstance(e, Literal)))
            expression = f"({_TYPE_CHECK[str(kind)].format(v=var)} and {var} in {members})"
        else:
            pieces = [self.positive(p, var) for p in parts]
            expression = pieces[0] if len(pieces) == 1 else "(" + " or ".join(pieces) + ")"
        return f"(not {expression})" if test.negate else expression


def _to_date(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    return value


def generate_matcher(
    getters: Sequence[Callable[[Mapping[str, Any]], Any]],
    column_types: Sequence[str],
    rules: Sequence[tuple[Any, Sequence[tuple[int, UnaryTest]]]],
    first_only: bool,
) -> Matcher:
    """`rules` are (rule object, checks); the function returns the rule objects that hit, in order
    (only the first when `first_only`)."""
    emitter = _Emitter()
    lines = ["def match(ctx):"]
    for index, column_type in enumerate(column_types):
        value = f"G[{index}](ctx)"
        lines.append(f"    v{index} = TO_DATE({value})" if column_type == "date" else f"    v{index} = {value}")
    if not first_only:
        lines.append("    hits = []")
    for number, (_, checks) in enumerate(rules):
        condition = " and ".join(emitter.test(test, f"v{i}") for i, test in checks) or "True"
        action = f"return [R[{number}]]" if first_only else f"hits.append(R[{number}])"
        lines.append(f"    if {condition}:")
        lines.append(f"        {action}")
    lines.append("    return []" if first_only else "    return hits")
    namespace: dict[str, Any] = {
        "G": tuple(getters),
        "C": tuple(emitter.constants),
        "T": tuple(emitter.closures),
        "R": tuple(rule for rule, _ in rules),
        "NUM": (int, float),
        "DATE": dt.date,
        "TO_DATE": _to_date,
    }
    exec(compile("\n".join(lines), "<decision table>", "exec"), namespace)
    return namespace["match"]  # type: ignore[no-any-return]
