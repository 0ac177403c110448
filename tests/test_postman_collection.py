"""postman/: the committed collection is the export of the demo config, covers every route, and runs green
under newman against the running demo service."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.app import create_app, route_methods
from service.cli import main
from service.config import load_runtime
from tests.servers.process import serve_process, stop
from tests.test_postman_export import newman

POSTMAN = Path(__file__).parents[1] / "postman"


def test_committed_collection_is_the_export_of_the_demo(tmp_path: Path) -> None:
    assert main(["postman", "export", "-o", str(tmp_path)]) == 0
    for name in ("personalize.postman_collection.json", "demo.postman_environment.json"):
        fresh = json.loads((tmp_path / name).read_text(encoding="utf-8"))
        committed = json.loads((POSTMAN / name).read_text(encoding="utf-8"))
        assert committed == fresh, f"postman/{name} is stale: run `personalize postman export`"


def _requests(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        if "item" in item:
            yield from _requests(item["item"])
        else:
            yield item["request"]


def test_every_route_has_a_request() -> None:
    doc = json.loads((POSTMAN / "personalize.postman_collection.json").read_text(encoding="utf-8"))
    sent = {
        (r["method"].lower(), "/" + "/".join(r["url"]["path"]))
        for r in _requests(doc["item"])
        if isinstance(r["url"], dict) and r["url"]["host"] == ["{{baseUrl}}"]
    }
    app = create_app(load_runtime(env={}))
    for method, path in route_methods(list(app.routes)):  # type: ignore[arg-type]
        pattern = re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "$")
        assert any(m == method and pattern.match(p) for m, p in sent), f"no request for {method.upper()} {path}"


def test_newman_runs_green_against_the_demo(tmp_path: Path) -> None:
    proc, base = serve_process("--no-access-log")
    try:
        # The demo runs on a free port here: point the collection's variables at it.
        doc = json.loads((POSTMAN / "personalize.postman_collection.json").read_text(encoding="utf-8"))
        overrides = {
            "baseUrl": base,
            "sandbox_recs_baseUrl": f"{base}/sandbox",
            "sandbox_recs_tokenUrl": f"{base}/sandbox/oauth/token",
        }
        for variable in doc["variable"]:
            variable["value"] = overrides.get(variable["key"], variable["value"])
        collection = tmp_path / "collection.json"
        collection.write_text(json.dumps(doc), encoding="utf-8")
        args = [
            newman(),
            "run",
            str(collection),
            "-e",
            str(POSTMAN / "demo.postman_environment.json"),
            "--reporters",
            "cli",
            "--env-var",
            f"baseUrl={base}",
            "--env-var",
            f"sandbox_recs_baseUrl={base}/sandbox",
            "--env-var",
            f"sandbox_recs_tokenUrl={base}/sandbox/oauth/token",
            "--timeout-request",
            "10000",
        ]
        done = subprocess.run(args, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
        assert "failed" in done.stdout
    finally:
        stop(proc)


@pytest.mark.parametrize("name", ["personalize.postman_collection.json", "demo.postman_environment.json"])
def test_no_secret_is_committed(name: str) -> None:
    text = (POSTMAN / name).read_text(encoding="utf-8")
    if name.startswith("personalize"):
        assert "demo-management-token" not in text and "sandbox-secret" not in text
