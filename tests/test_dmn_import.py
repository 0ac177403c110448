"""`personalize import-dmn`: DMN 1.1 files in the reference's shape become models that load and run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from decision_models import GraphModel, RunContext
from service.cli import main
from service.config import load_runtime
from service.config.dmn_import import DmnError, import_dmn

DMN = Path(__file__).parent / "dmn"


def load_imported(tmp_path: Path, text: str) -> GraphModel:
    (tmp_path / "model.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "project.yaml").write_text("projects: [{id: p}]\n", encoding="utf-8")
    runtime = load_runtime(tmp_path, env={})
    [model] = runtime.projects["p"].models.values()
    return model


async def run_draft(model: GraphModel, params: dict[str, Any]) -> Any:
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
