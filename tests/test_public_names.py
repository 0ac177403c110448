"""Each package exports what the others use, and says so: `__all__` lists every public name, and every name
it lists exists (httpx's tests/test_exported_members.py is the model). A name added to a package's surface
without a decision shows up here."""

from __future__ import annotations

import importlib
import types

import pytest

PACKAGES = ["decision_models", "connections"]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_the_public_surface(name: str) -> None:
    package = importlib.import_module(name)
    exported = set(package.__all__)
    public = {
        attr
        for attr, value in vars(package).items()
        if not attr.startswith("_") and not isinstance(value, types.ModuleType) and attr != "annotations"
    }
    assert exported == public, (
        f"{name}: exported but absent {exported - public}, public but unexported {public - exported}"
    )
    assert package.__all__ == sorted(package.__all__, key=lambda n: (not n.isupper(), n))  # as ruff sorts it


def test_decision_models_never_imports_service_or_connections() -> None:
    """Pure evaluation: data in, decision and trace out; the outside world only through ports."""
    import pathlib

    source = pathlib.Path(importlib.import_module("decision_models").__file__ or "").parent
    for path in source.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "from service" not in text and "import service" not in text, path
        assert "from connections" not in text and "import connections" not in text, path
