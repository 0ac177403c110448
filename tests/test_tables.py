"""Decision tables: every hit policy against the shared vectors, and load-time checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from decision_models import OutputColumn, TableError, compile_table

DOC: dict[str, Any] = json.loads((Path(__file__).parent / "vectors" / "hit_policies.json").read_text(encoding="utf-8"))


def column(index: int) -> Any:
    return lambda context: context["in"][index]


def build(name: str, policy: str) -> Any:
    spec = DOC["tables"][name]
    columns = [(c["label"], column(i), c["type"]) for i, c in enumerate(spec["inputs"])]
    outputs = [OutputColumn(o["name"], o["type"], tuple(o.get("priority", ()))) for o in spec["outputs"]]
    rules = [(r["when"], r["then"]) for r in spec["rules"]]
    return compile_table(policy, columns, outputs, rules, known=frozenset({"in"}))


@pytest.mark.parametrize("case", DOC["cases"], ids=lambda c: f"{c['table']}-{c['hitPolicy']}-{c['input']}")
def test_hit_policy_vectors(case: dict[str, Any]) -> None:
    result = build(case["table"], case["hitPolicy"]).evaluate({"in": case["input"]})
    assert result.value == case["expected"]
    assert list(result.matched) == case["matched"]
    assert (result.error is not None) is case["error"]


def test_unique_violation_names_the_rules() -> None:
    result = build("overlapping", "U").evaluate({"in": ["gold", 150]})
    assert result.error == "UNIQUE hit policy violated: rules 1, 2, 3 all matched"


def _table(policy: str = "F", cells: list[Any] | None = None, outputs: list[Any] | None = None, **kw: Any) -> Any:
    return compile_table(
        policy,
        [("tier", lambda c: c.get("tier"), "string"), ("cart", lambda c: c.get("cart"), "number")],
        kw.get("columns", [OutputColumn("code", "string")]),
        [(cells or ['"gold"', "> 1"], outputs or ["GOLD"])],
        known=frozenset({"tier", "cart"}),
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cells": ["10", "-"]}, "rule 1, input 'tier': 10 is a number, the column is string"),
        ({"cells": ['"gold"', '"many"']}, "rule 1, input 'cart': 'many' is a string, the column is number"),
        ({"cells": ['"gold"']}, "rule 1: 1 input cells for 2 input columns"),
        ({"outputs": ["a", "b"]}, "rule 1: 2 output cells for 1 output columns"),
        ({"outputs": [5]}, "rule 1, output 'code': 5 is not a string"),
        ({"policy": "X"}, "hit policy 'X' is not one of"),
        ({"policy": "P"}, "hit policy P needs an output with `priority`"),
        ({"policy": "C+"}, "hit policy C+ sums numbers; output 'code' is string"),
        (
            {"policy": "C#", "columns": [OutputColumn("a", "any"), OutputColumn("b", "any")], "outputs": [1, 2]},
            "hit policy C# aggregates one output column, not 2",
        ),
        ({"cells": ["nothere", "-"]}, "rule 1, input 'tier': 'nothere' in cell 'nothere' is not a known name"),
        ({"outputs": [{"var": "ghost.x"}]}, "rule 1, output 'code': 'ghost.x' is not a known name"),
    ],
)
def test_table_errors_name_rule_and_column(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(TableError) as info:
        _table(**kwargs)
    assert message in str(info.value)


def test_output_cells_can_reference_the_context() -> None:
    table = _table(outputs=[{"var": "tier"}])
    assert table.evaluate({"tier": "gold", "cart": 5}).value == "gold"
