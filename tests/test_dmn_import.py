"""`personalize import-dmn`: DMN 1.1 files in the reference's shape become models that load and run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from decision_models import DecisionModel, RunContext
from service.cli import main
from service.cli.dmn_import import DmnError, import_dmn
from service.config import ConfigError, load_runtime

DMN = Path(__file__).parent / "dmn"


def load_imported(tmp_path: Path, text: str) -> DecisionModel:
    (tmp_path / "model.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "project.yaml").write_text("projects: [{id: p}]\n", encoding="utf-8")
    runtime = load_runtime(tmp_path, env={})
    [model] = runtime.projects["p"].models.values()
    return model


async def run_draft(model: DecisionModel, params: dict[str, Any]) -> Any:
    variant = model.variant("imported")
    assert variant is not None
    assert variant.status == "draft"
    run = await model.run_variant(variant, {"params": params, "guest": {"ref": "g"}}, RunContext("v", 1.0))
    assert run.error is None
    return run.outputs["result"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"tier": "gold", "cart": 150}, {"offer": {"code": "GOLD20", "discount": 20}, "member": True}),
        ({"tier": "silver", "cart": 150}, {"offer": {"code": "SILVER10", "discount": 10}, "member": True}),
        ({"tier": "bronze", "cart": 60}, {"offer": {"code": "WELCOME5", "discount": 5}, "member": False}),
    ],
)
async def test_tables_import_with_their_hit_policies(tmp_path: Path, params: dict[str, Any], expected: Any) -> None:
    text, warnings = import_dmn((DMN / "offers.xml").read_bytes())
    model = load_imported(tmp_path, text)
    assert model.id == "offers"
    nodes = {n.id: n for n in model.variants[0].graph.nodes}
    assert nodes["points"].table.hit_policy == "C+"  # type: ignore[attr-defined]
    assert nodes["offer"].table.hit_policy == "P"  # type: ignore[attr-defined]
    assert nodes["member"].table.hit_policy == "U"  # type: ignore[attr-defined]
    assert await run_draft(model, params) == expected
    assert warnings == [
        "input data 'tier' reads params.tier; point it at your data",
        "input data 'cart' reads params.cart; point it at your data",
    ]


async def test_javascript_becomes_a_plugin_stub_with_its_script(tmp_path: Path) -> None:
    text, warnings = import_dmn((DMN / "page_views.xml").read_bytes())
    assert warnings == [
        "decision 'GetPageViews': a javascript expression cannot be converted; write the Python function "
        "plugins.pageviews:getPageViews (its script is kept as a comment above the node)"
    ]
    assert '#     return {mostViewedPage: "home", page1name: "home"};' in text
    assert "python: plugins.pageviews:getPageViews" in text
    # Until the function exists the config says so; once written, the model runs.
    (tmp_path / "model.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "project.yaml").write_text("projects: [{id: p}]\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"cannot load plugins\.pageviews:getPageViews"):
        load_runtime(tmp_path, env={})
    model = load_imported(tmp_path, text.replace("plugins.pageviews:getPageViews", "tests.plugins:page_views"))
    assert await run_draft(model, {}) == {"Results": "Click here"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<nope", "not XML"),
        (b"<html/>", "not a DMN <definitions>"),
        (
            b'<definitions xmlns="http://www.omg.org/spec/DMN/20151101/dmn.xsd"><decision id="d" name="D">'
            b'<decisionTable hitPolicy="RANDOM"/></decision></definitions>',
            "unknown hit policy 'RANDOM'",
        ),
    ],
)
def test_unreadable_files(data: bytes, message: str) -> None:
    with pytest.raises(DmnError, match=message):
        import_dmn(data)


def test_cli_writes_the_file_and_prints_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "imported.yaml"
    assert main(["import-dmn", str(DMN / "page_views.xml"), "--id", "views", "-o", str(out)]) == 0
    assert "python: plugins.views:getPageViews" in out.read_text(encoding="utf-8")
    assert "warning: decision 'GetPageViews'" in capsys.readouterr().err
    assert main(["import-dmn", str(tmp_path / "missing.xml")]) == 1


SITECORE = (DMN / "sitecore_export.xml").read_bytes()


def sitecore_model(tmp_path: Path, data: bytes = SITECORE) -> tuple[DecisionModel, list[str]]:
    text, warnings = import_dmn(data, model_id="sitecore_export")
    text = text.replace("plugins.sitecore_export:Is_member_Orders", "tests.plugins:orders_count")
    text = text.replace("plugins.sitecore_export:score", "tests.plugins:doubled_age")
    return load_imported(tmp_path, text), warnings


@pytest.mark.parametrize(
    ("params", "label"),
    [
        ({"Customer_Age": 30, "Loyalty_Tier": "gold", "segment": "x"}, "VIP"),  # `> 17 && <= 65`, `||`
        ({"Customer_Age": "30", "Loyalty_Tier": "platinum", "segment": "x"}, "VIP"),  # "30" read as a number
        ({"Customer_Age": 70, "Loyalty_Tier": "gold", "segment": "summer sale"}, "Bargain hunter"),  # contains
        ({"Customer_Age": 70, "Loyalty_Tier": "gold", "segment": "x"}, "Visitor"),
    ],
)
async def test_a_sitecore_export_imports_loads_and_runs(tmp_path: Path, params: dict[str, Any], label: str) -> None:
    model, warnings = sitecore_model(tmp_path)
    result = await run_draft(model, params)
    assert result["Is_member"] == label
    assert result["greeting"] == "Hello"  # a FEEL literal decision is an expression node, not a script
    assert warnings == [
        "knowledge source 'Pricing policy 2024' is documentation in DMN; not imported",
        "input data 'Customer Age' reads params.Customer_Age; point it at your data",
        "input data 'Loyalty Tier' reads params.Loyalty_Tier; point it at your data",
        "decision 'Score': a FEEL expression cannot be converted; write the Python function "
        "plugins.sitecore_export:score (its script is kept as a comment above the node)",
        "decision 'Segment' has no decision table or literal expression; it reads params.segment until you give it one",
        "decision 'Is member?': input 'Orders' is a javascript expression 'guest.orders.length'; write the "
        "Python function plugins.sitecore_export:Is_member_Orders it now reads",
    ]


async def test_a_string_number_is_coerced_and_the_trace_says_so(tmp_path: Path) -> None:
    model, _ = sitecore_model(tmp_path)
    variant = model.variant("imported")
    assert variant is not None
    params = {"Customer_Age": "30", "Loyalty_Tier": "gold", "segment": "x"}
    run = await model.run_variant(variant, {"params": params}, RunContext("v", 1.0))
    table = next(n for n in run.nodes if n.id == "Is_member")
    assert table.detail == {
        "matchedRules": [1, 3],
        "coercedInputs": ["input 'Age': the string '30' was read as a number"],
    }


@pytest.mark.parametrize("encoding", ["utf-32", "utf-16", "shift_jis", "utf-7", "latin-1"])
def test_any_declared_encoding_imports(encoding: str) -> None:
    text = SITECORE.decode("utf-8").replace('"UTF-8"', f'"{encoding}"')
    if encoding == "shift_jis":
        text = text.replace('label="Age"', 'label="年齢"')
    imported, _ = import_dmn(text.encode(encoding), model_id="m")
    expected, _ = import_dmn(text.replace(f'"{encoding}"', '"UTF-8"').encode("utf-8"), model_id="m")
    assert imported == expected


def test_unknown_encodings_and_huge_files_are_refused_quickly() -> None:
    with pytest.raises(DmnError, match="declares the encoding 'klingon', which is unknown"):
        import_dmn(b'<?xml version="1.0" encoding="klingon"?><definitions/>')
    with pytest.raises(DmnError, match="larger than 10,485,760 bytes"):
        import_dmn(b"<definitions>" + b" " * (11 * 1024 * 1024) + b"</definitions>")


def test_two_sitecore_exports_get_their_file_names_as_ids(tmp_path: Path) -> None:
    ids = []
    for name in ("welcome_offer", "cart_rules"):
        (tmp_path / f"{name}.xml").write_bytes(SITECORE)
        out = tmp_path / f"{name}.yaml"
        assert main(["import-dmn", str(tmp_path / f"{name}.xml"), "-o", str(out)]) == 0
        ids.append(out.read_text(encoding="utf-8").split("- id: ", 1)[1].split("\n", 1)[0])
    assert ids == ["welcome_offer", "cart_rules"]


def test_validate_reports_every_bad_cell(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(
        """
projects: [{id: p}]
decisionModels:
  - id: m
    variants:
      - id: v
        status: production
        weight: 10000
        nodes:
          - {id: t, kind: input, source: params.t, type: string}
          - id: d
            kind: table
            inputs: [{source: t, type: string}]
            outputs: [{name: x, type: number}]
            rules:
              - {when: [">> 3"], then: [1]}
              - {when: ['"ok"'], then: [2]}
              - {when: ["5"], then: [3]}
              - {when: ['"fine"'], then: [four]}
          - {id: o, kind: output, value: d}
""",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_runtime(tmp_path, env={})
    problems = [issue.message for issue in info.value.issues]
    assert len(problems) == 3, problems
    assert problems[0].startswith("rule 1, input 't'")
    assert problems[1] == "rule 3, input 't': 5 is a number, the column is string"
    assert problems[2] == "rule 4, output 'x': 'four' is not a number"
