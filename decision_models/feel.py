"""S-FEEL unary tests (the cells of a DMN decision table), compiled once into predicates.

A cell is tested against its column's input value (docs/wire-formats.md, "Decision tables"):

  -  or empty             any value
  "gold", 10, true, null  equality (no `=` written); `date("2024-01-31")` is a date literal
  < 10, <= 10, > 10, >= 10, != "x", = "x"
  [1..10]  (1..10]  [1..10)  ]1..10[   closed / open intervals (either open-bracket syntax)
  "a", "b", < 0           a comma list: any test matches
  not("a", "b")           none of the inner tests matches
  offer.minimum           a qualified name: compared with that value of the evaluation context

Values of different types never match each other (FEEL gives null, so the rule does not hit), and a
boolean is never a number.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass
from typing import Any

from .paths import getter

Context = Mapping[str, Any]
Value = Callable[[Context], Any]
Test = Callable[[Any, Context], bool]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$")
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")
_DATE = re.compile(r'date\(\s*"(\d{4}-\d{2}-\d{2})"\s*\)$')
_OPERATORS = ("<=", ">=", "!=", "<", ">", "=")


class FeelError(ValueError):
    """A cell that is not an S-FEEL unary test; the message quotes it."""


@dataclass(frozen=True, slots=True)
class Literal:
    value: Any


@dataclass(frozen=True, slots=True)
class Name:
    path: tuple[str, ...]


Endpoint = Literal | Name


def kind_of(value: Any) -> str | None:
    """The FEEL type of a Python value: number, string, boolean, date, or None for anything else."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dt.date):
        return "date"
    return None


def parse_literal(text: str) -> Endpoint:
    """A literal (number, string, boolean, null, date) or a qualified name."""
    text = text.strip()
    if text in ("true", "false"):
        return Literal(text == "true")
    if text == "null":
        return Literal(None)
    if _NUMBER.match(text):
        number = float(text)
        return Literal(int(number) if number.is_integer() and not re.search(r"[.eE]", text) else number)
    if text.startswith('"'):
        try:
            value = json.loads(text)
        except ValueError:
            raise FeelError(f"bad string literal {text}") from None
        if not isinstance(value, str):
            raise FeelError(f"bad string literal {text}")
        return Literal(value)
    date = _DATE.match(text)
    if date:
        try:
            return Literal(dt.date.fromisoformat(date.group(1)))
        except ValueError:
            raise FeelError(f"bad date {text}") from None
    if _NAME.match(text):
        return Name(tuple(text.split(".")))
    raise FeelError(f"'{text}' is not a literal or a name")


def resolve(endpoint: Endpoint) -> Value:
    if isinstance(endpoint, Literal):
        constant = endpoint.value
        return lambda context: constant
    return getter(endpoint.path)


def _compare(op: str, left: Any, right: Any) -> bool:
    kind = kind_of(left)
    if kind is None or kind != kind_of(right):
        return op == "!=" and left is not right and left != right and (left is None) != (right is None)
    if op == "=":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if kind == "boolean":
        return False  # booleans have no order
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    return bool(left >= right)


def _equals(left: Any, right: Any) -> bool:
    if left is None or right is None:
        return left is None and right is None
    return kind_of(left) == kind_of(right) and kind_of(left) is not None and bool(left == right)


def split_top_level(text: str) -> list[str]:
    """Split on commas outside quotes, brackets and parentheses."""
    parts, depth, quoted, start, i = [], 0, False, 0, 0
    while i < len(text):
        char = text[i]
        if quoted:
            if char == "\\":
                i += 1
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth = max(depth - 1, 0)
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    if quoted:
        raise FeelError(f"unterminated string in {text}")
    parts.append(text[start:])
    return [p.strip() for p in parts]


@dataclass(frozen=True, slots=True)
class Positive:
    """One test of a comma list: `value <op> endpoint` ("=" for equality), or an interval `low..high`."""

    test: Test
    ops: tuple[str, ...]  # ("=",) / ("<",) ... or (low_op, high_op) for an interval
    endpoints: tuple[Endpoint, ...]


@dataclass(frozen=True, slots=True)
class UnaryTest:
    """A compiled cell: `test(input_value, context)`; `literals` lets the table check column types and
    `names` are the context paths it reads; `parts` and `negate` let a table generate code for it."""

    source: str
    test: Test
    literals: tuple[Any, ...]
    names: tuple[tuple[str, ...], ...] = ()
    is_any: bool = False
    parts: tuple[Positive, ...] = ()
    negate: bool = False


def _names(endpoints: list[Endpoint]) -> list[tuple[str, ...]]:
    return [e.path for e in endpoints if isinstance(e, Name)]


def _interval(text: str) -> Positive:
    opening, closing = text[0], text[-1]
    body = text[1:-1]
    if ".." not in body:
        raise FeelError(f"interval {text} needs '..' between its ends")
    low_text, _, high_text = body.partition("..")
    low, high = parse_literal(low_text), parse_literal(high_text)
    low_get, high_get = resolve(low), resolve(high)
    low_op = ">=" if opening == "[" else ">"
    high_op = "<=" if closing == "]" else "<"

    def test(value: Any, context: Context) -> bool:
        return _compare(low_op, value, low_get(context)) and _compare(high_op, value, high_get(context))

    return Positive(test, (low_op, high_op), (low, high))


def _comparison(op: str, get: Value) -> Test:
    return lambda value, context: _compare(op, value, get(context))


def _contains(text: str) -> Positive:
    """`contains("x")`: the input (a string, or a list) contains x; Sitecore's "Match if contains"."""
    endpoint = parse_literal(text[len("contains(") : -1])
    if not isinstance(endpoint, Literal) or not isinstance(endpoint.value, str):
        raise FeelError(f"{text}: contains() takes one string literal")
    needle = endpoint.value

    def test(value: Any, context: Context) -> bool:
        return isinstance(value, str | list) and needle in value

    return Positive(test, ("contains",), (endpoint,))


def _positive(text: str) -> Positive:
    if not text:
        raise FeelError("empty test in a list")
    if text.startswith("contains(") and text.endswith(")"):
        return _contains(text)
    if text[0] in "[(]" and text[-1] in "])[":
        return _interval(text)
    for op in _OPERATORS:
        if text.startswith(op):
            endpoint = parse_literal(text[len(op) :])
            test = _comparison(op, resolve(endpoint)) if op != "=" else _equality(resolve(endpoint))
            return Positive(test, (op,), (endpoint,))
    endpoint = parse_literal(text)
    return Positive(_equality(resolve(endpoint)), ("=",), (endpoint,))


def _equality(get: Value) -> Test:
    return lambda value, context: _equals(value, get(context))


def compile_unary_test(source: Any, known: Container[str] = ()) -> UnaryTest:
    """Compile a cell. YAML may give numbers and booleans unquoted; they are literals too. A name must
    start with one of `known` (node ids and context roots), so a forgotten quote is a load error."""
    if source is None:
        return UnaryTest("-", lambda value, context: True, (), is_any=True)
    if isinstance(source, bool):
        source = "true" if source else "false"
    elif isinstance(source, int | float):
        source = json.dumps(source)
    if not isinstance(source, str):
        raise FeelError(f"a cell is text, a number or a boolean, not {type(source).__name__}")
    text = source.strip()
    if text in ("", "-"):
        return UnaryTest(text or "-", lambda value, context: True, (), is_any=True)
    negate = False
    if text.startswith("not(") and text.endswith(")"):
        negate, text = True, text[4:-1].strip()
    compiled = [_positive(part) for part in split_top_level(text)]
    tests = tuple(part.test for part in compiled)
    endpoints = [e for part in compiled for e in part.endpoints]
    literals = tuple(e.value for e in endpoints if isinstance(e, Literal))
    names = _names(endpoints)
    for path in names:
        if path[0] not in known:
            raise FeelError(
                f"'{'.'.join(path)}' in cell {source.strip()!r} is not a known name; "
                f"write a string with quotes, e.g. '\"{'.'.join(path)}\"'"
            )
    if len(tests) == 1:
        only = tests[0]
        test: Test = (lambda v, c: not only(v, c)) if negate else only
    elif negate:
        test = lambda v, c: not any(t(v, c) for t in tests)  # noqa: E731
    else:
        test = lambda v, c: any(t(v, c) for t in tests)  # noqa: E731
    return UnaryTest(source.strip(), test, literals, tuple(names), parts=tuple(compiled), negate=negate)


def compile_output(source: Any, known: Container[str] = ()) -> tuple[Value, tuple[str, ...] | None]:
    """An output cell: a JSON value as written (a plain string is a string), or `{"var": "node.path"}` to
    output a value of the context. Returns the getter and the path it reads, if any."""
    if isinstance(source, Mapping) and set(source) == {"var"}:
        path_text = source["var"]
        if not isinstance(path_text, str) or not _NAME.match(path_text):
            raise FeelError(f"{{var: {path_text!r}}} needs a dotted name")
        path = tuple(path_text.split("."))
        if path[0] not in known:
            raise FeelError(f"'{path_text}' is not a known name")
        return resolve(Name(path)), path
    constant = source
    return (lambda context: constant), None
