"""Response templates: typed insertion, never text splicing; compile-time errors."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from decision_models import TEMPLATE_ROOTS, TemplateError, compile_template

HOSTILE = [
    '"}, "admin": true, "x": {"',
    '\\"}',
    "</script><script>alert(1)</script>",
    "${params.secret}",
    "\u0000\u2028\ud7ff",
    '{"nested": "json"}',
]


def render(source: Any, context: dict[str, Any]) -> Any:
    return compile_template(source, roots=TEMPLATE_ROOTS).render(context)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_params_stay_strings(hostile: str) -> None:
    template = {"whole": "${params.name}", "embedded": "Hello ${params.name}!", "fixed": True}
    out = orjson.loads(orjson.dumps(render(template, {"params": {"name": hostile, "secret": "s3cret"}})))
    assert out == {"whole": hostile, "embedded": f"Hello {hostile}!", "fixed": True}
    assert "admin" not in out
    assert "s3cret" not in orjson.dumps(out).decode()  # a placeholder in a value is never re-expanded


def test_whole_placeholder_keeps_json_type() -> None:
    context = {"params": {"n": 3, "f": 1.5, "b": False, "o": {"k": [1, 2]}, "l": [{"a": 1}]}}
    out = render(
        {"n": "${params.n}", "f": "${params.f}", "b": "${params.b}", "o": "${params.o}", "l": "${params.l[0].a}"},
        context,
    )
    assert out == {"n": 3, "f": 1.5, "b": False, "o": {"k": [1, 2]}, "l": 1}


def test_embedded_placeholders_render_as_text() -> None:
    out = render("n=${params.n} o=${params.o} missing=[${params.nope}]", {"params": {"n": 3, "o": {"a": 1}}})
    assert out == 'n=3 o={"a":1} missing=[]'


def test_defaults_apply_to_absent_and_null() -> None:
    template = {"a": '${params.a!"x"}', "b": "${params.b!0}", "c": "${params.c![1]}", "d": "${params.d}"}
    assert render(template, {"params": {"b": None}}) == {"a": "x", "b": 0, "c": [1], "d": None}
    assert render(template, {"params": {"a": "set", "b": 5, "c": 2, "d": 1}}) == {"a": "set", "b": 5, "c": 2, "d": 1}


def test_escape_and_out_of_range_index() -> None:
    assert render({"t": "$${not.a.placeholder}", "i": "${params.l[5]!null}"}, {"params": {"l": [1]}}) == {
        "t": "${not.a.placeholder}",
        "i": None,
    }


def test_constant_template_renders_itself() -> None:
    assert render({"a": [1, {"b": "c"}]}, {}) == {"a": [1, {"b": "c"}]}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"a": "${secrets.key}"}, "at a: '${secrets.key}' reads 'secrets'"),
        ({"a": ["${params.x!nope}"]}, "at a[0]: '${params.x!nope}': the default after '!' must be a JSON literal"),
        ({"a": "${params..x}"}, "is not a path"),
        ({"${params.k}": 1}, "placeholders are not allowed in keys"),
    ],
)
def test_compile_errors_name_the_place(source: Any, message: str) -> None:
    with pytest.raises(TemplateError) as info:
        compile_template(source, roots=TEMPLATE_ROOTS)
    assert message in str(info.value)


def test_reads_are_collected() -> None:
    template = compile_template({"a": "${params.loyalty.tier}", "b": "x ${request.channel}"}, roots=TEMPLATE_ROOTS)
    assert template.reads == (("params", "loyalty", "tier"), ("request", "channel"))


def test_defaults_may_hold_braces_and_quotes() -> None:
    template = {
        "o": "${params.o!{}}",
        "s": '${params.s!"a}b"}',
        "l": '${params.l![1, {"a": 2}]}',
        "t": "x${params.o!{}}y",
    }
    assert render(template, {"params": {}}) == {"o": {}, "s": "a}b", "l": [1, {"a": 2}], "t": "x{}y"}


def test_unclosed_placeholder_is_an_error() -> None:
    with pytest.raises(TemplateError, match="has no closing"):
        compile_template({"a": "hello ${params.name"}, roots=TEMPLATE_ROOTS)
