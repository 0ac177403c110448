"""S-FEEL unary tests against the shared vectors (tests/vectors/unary_tests.json) and their errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from decision_models import FeelError, OutputColumn, compile_table, compile_unary_test

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "vectors" / "unary_tests.json").read_text(encoding="utf-8")
)["cases"]


@pytest.mark.parametrize("case", VECTORS, ids=lambda c: f"{c['cell']!r}~{c['input']!r}")
def test_unary_test_vectors(case: dict[str, Any]) -> None:
    # Through a one-column table, so column typing (ISO strings in a date column) applies as in use.
    context = dict(case.get("context", {}))
    context["value"] = case["input"]
    table = compile_table(
        "F",
        [("value", lambda c: c["value"], case["columnType"])],
        [OutputColumn("hit", "boolean")],
        [([case["cell"]], [True])],
        known=frozenset(context),
    )
    assert (table.evaluate(context).value is True) is case["matches"]


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("gold", "not a known name; write a string with quotes"),
        ('"unterminated', "unterminated string"),
        ("[1..", "is not a literal or a name"),
        ("[1, 10]", "needs '..'"),
        ("< ", "is not a literal or a name"),
        ('date("2024-13-01")', "bad date"),
        ("1, , 2", "empty test"),
    ],
)
def test_bad_cells_are_load_errors(cell: str, message: str) -> None:
    with pytest.raises(FeelError, match=message):
        compile_unary_test(cell)


def test_yaml_scalars_are_literals() -> None:
    assert compile_unary_test(10).test(10, {})
    assert compile_unary_test(True).test(True, {})
    assert compile_unary_test(None).is_any
