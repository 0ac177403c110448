"""The condition language: JSON Logic compiled once, with roots checked at load."""

from __future__ import annotations

from typing import Any

import pytest

from decision_models import CONDITION_ROOTS, ExpressionError, compile_condition

CONTEXT: dict[str, Any] = {
    "request": {"channel": "WEB", "currency": "EUR", "language": "EN"},
    "params": {"loyalty": {"tier": "gold"}, "cart": 120, "tags": ["new"]},
    "headers": {"user-agent": "curl"},
    "guest": {},
}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"==": [{"var": "request.channel"}, "WEB"]}, True),
        ({"in": [{"var": "params.loyalty.tier"}, ["gold", "platinum"]]}, True),
        ({">": [{"var": "params.cart"}, 100]}, True),
        ({"and": [{">": [{"var": "params.cart"}, 100]}, {"==": [{"var": "request.currency"}, "USD"]}]}, False),
        ({"!": {"var": "params.missing"}}, True),
        ({"in": ["new", {"var": "params.tags"}]}, True),
        ({"==": [{"var": "headers.user-agent"}, "curl"]}, True),
        (True, True),
        ({"var": "params.missing"}, False),
    ],
)
def test_rules_evaluate(rule: Any, expected: bool) -> None:
    assert compile_condition(rule, roots=CONDITION_ROOTS).matches(CONTEXT) is expected


def test_unknown_operator_is_a_load_error() -> None:
    with pytest.raises(ExpressionError, match="unknown operator `equals`"):
        compile_condition({"equals": [1, 1]}, roots=CONDITION_ROOTS)


def test_wrong_argument_count_is_a_load_error() -> None:
    with pytest.raises(ExpressionError, match="at least 2 arguments"):
        compile_condition({"==": [1]}, roots=CONDITION_ROOTS)


def test_unknown_root_is_a_load_error() -> None:
    with pytest.raises(ExpressionError, match=r"reads 'secrets\.key'"):
        compile_condition({"==": [{"var": "secrets.key"}, 1]}, roots=CONDITION_ROOTS)


def test_reads_are_reported() -> None:
    condition = compile_condition({"==": [{"var": "params.loyalty.tier"}, "gold"]}, roots=CONDITION_ROOTS)
    assert condition.reads == (("params", "loyalty", "tier"),)
