"""newman, the Postman CLI the tests replay collections with (./scripts/test installs it with npm ci)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

NEWMAN = Path(__file__).parents[2] / "node_modules" / ".bin" / "newman"


def newman() -> str:
    if NEWMAN.exists():
        return str(NEWMAN)
    found = shutil.which("newman")
    if found:
        return found
    pytest.fail("newman is not installed: ./scripts/test installs it with `npm ci` (needs Node.js and npm)")
