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
from tests.servers.newman import newman
from tests.servers.process import serve_process, stop

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


@pytest.mark.slow
def test_newman_runs_green_against_the_demo(tmp_path: Path) -> None:
    """Only baseUrl is set: the connection items derive their addresses from it."""
    proc, base = serve_process("--no-access-log")
    try:
        report = tmp_path / "report.json"
        args = [
            newman(),
            "run",
            str(POSTMAN / "personalize.postman_collection.json"),
            "-e",
            str(POSTMAN / "demo.postman_environment.json"),
            "--env-var",
            f"baseUrl={base}",
            "--reporters",
            "cli,json",
            "--reporter-json-export",
            str(report),
            "--timeout-request",
            "10000",
        ]
        done = subprocess.run(args, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
        stats = json.loads(report.read_text(encoding="utf-8"))["run"]["stats"]
        doc = json.loads((POSTMAN / "personalize.postman_collection.json").read_text(encoding="utf-8"))
        assert stats["requests"]["total"] >= len(list(_requests(doc["item"])))  # + token pre-request calls
        assert stats["requests"]["failed"] == 0
        assert stats["assertions"]["failed"] == 0 and stats["assertions"]["total"] >= stats["requests"]["total"]
    finally:
        stop(proc)


@pytest.mark.parametrize("name", ["personalize.postman_collection.json", "demo.postman_environment.json"])
def test_no_secret_is_committed(name: str) -> None:
    text = (POSTMAN / name).read_text(encoding="utf-8")
    if name.startswith("personalize"):
        assert "demo-management-token" not in text and "sandbox-secret" not in text


def test_export_of_a_config_without_experiences_and_with_its_own_secrets(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        """
management: {tokens: ["${env:MY_TOKEN:-prod-management-token}"]}
projects: [{id: p, clientKey: k}]
connections:
  - id: api
    kind: data
    baseUrl: https://api.example.test
    path: /x
    auth: {type: oauth2_client_credentials, tokenUrl: https://auth.example.test/token, clientId: c,
           clientSecret: "${env:MY_SECRET:-prod-client-secret}"}
""",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert main(["postman", "export", "--config", str(config), "-o", str(out)]) == 0
    written = {p.name: p.read_text(encoding="utf-8") for p in out.iterdir()}
    assert set(written) == {"personalize.postman_collection.json", "demo.postman_environment.json"}
    for text in written.values():
        for secret in ("prod-management-token", "prod-client-secret", "demo-management-token", "sandbox-secret"):
            assert secret not in text
    env = {v["key"]: v["value"] for v in json.loads(written["demo.postman_environment.json"])["values"]}
    assert env == {
        "baseUrl": "http://127.0.0.1:8000",
        "managementToken": "",
        "segmentWriteKey": "",
        "api_clientSecret": "",
    }
    doc = json.loads(written["personalize.postman_collection.json"])
    names = [item["name"] for folder in doc["item"] for item in folder["item"]]
    assert "Direct API: example" in names and "api" in names
