"""Connections from config through decision models to the response, the test endpoint and the CLI,
against the real local upstream."""

from __future__ import annotations

import json
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from service.app import create_app
from service.cli import main
from service.config import ConfigError, load_runtime
from service.http.metrics import Metrics
from tests.conftest import app_client
from tests.servers.upstream import CLIENT_ID, CLIENT_SECRET, RunningUpstream

CONFIG = """
management: {tokens: [t0ken]}
projects: [{id: p, clientKey: k}]
connections:
  - id: recs
    baseUrl: "${env:UPSTREAM}"
    path: /secure/${user}
    auth: {type: oauth2_client_credentials, tokenUrl: "${env:UPSTREAM}/token", clientId: CLIENT_ID_HERE,
           clientSecret: "${env:RECS_SECRET}"}
    outputs: {items: {path: "$.items", type: list, default: []}}
  - id: slow
    baseUrl: "${env:UPSTREAM}"
    path: /delay
    query: {s: "1"}
    timeouts: {totalMs: 500}
decisionModels:
  - id: m
    variants:
      - id: v
        status: production
        weight: 10000
        nodes:
          - {id: user, kind: input, source: params.user, type: string, default: anonymous}
          - {id: r, kind: connection, connection: recs, inputs: {user: user}, type: object, default: {items: []}}
          - {id: s, kind: connection, connection: slow, default: {late: false}}
          - {id: out, kind: output, fields: {items: r.items, slow: s}}
experiences:
  - friendlyId: recs
    status: active
    type: segmented
    deadlineMs: 5000  # room for a token fetch and a call on a loaded machine; `slow` ends at its own 500 ms
    fallback: {items: fallback}
    variants:
      - {id: v, decisionModels: [m], response: {items: "${decisions.m.out.items}", slow: "${decisions.m.out.slow}"}}
""".replace("CLIENT_ID_HERE", CLIENT_ID)


@pytest.fixture
def config(tmp_path: Path, fresh_upstream: RunningUpstream) -> tuple[Path, dict[str, str]]:
    path = tmp_path / "c.yaml"
    path.write_text(textwrap.dedent(CONFIG), encoding="utf-8")
    return path, {"UPSTREAM": fresh_upstream.url, "RECS_SECRET": CLIENT_SECRET}


@pytest.fixture
async def client(config: tuple[Path, dict[str, str]]) -> AsyncIterator[httpx.AsyncClient]:
    path, env = config
    async with app_client(create_app(load_runtime(path, env=env), Metrics())) as c:
        yield c


async def test_connection_outputs_reach_the_response_and_slow_nodes_default(client: httpx.AsyncClient) -> None:
    r = await client.post("/v2/callFlows", json={"clientKey": "k", "friendlyId": "recs", "params": {"user": "ana"}})
    assert r.json() == {"items": [{"sku": "A-1"}, {"sku": "B-2"}], "slow": {"late": False}}
    assert r.headers["x-personalize-outcome"] == "variant"
    explain = await client.post(
        "/v2/callFlows/explain",
        json={"clientKey": "k", "friendlyId": "recs"},
        headers={"Authorization": "Bearer t0ken"},
    )
    nodes = {n["id"]: n for n in explain.json()["trace"]["steps"][-1]["models"][0]["nodes"]}
    assert nodes["s"]["usedDefault"] is True
    assert "did not answer" in nodes["s"]["error"] or "ms" in nodes["s"]["error"]
    assert nodes["r"]["error"] is None
    metrics = (await client.get("/metrics")).text
    assert 'personalize_connection_calls_total{connection="recs",kind="ok"}' in metrics
    assert 'personalize_connection_token_fetches_total{connection="recs"} 1.0' in metrics


async def test_test_connection_endpoint(client: httpx.AsyncClient) -> None:
    r = await client.post("/v2/connections/testConnection", json={"connection": "recs", "inputs": {"user": "ana"}})
    assert r.status_code == 401
    r = await client.post(
        "/v2/connections/testConnection",
        json={"connection": {"id": "recs"}, "inputs": {"user": "b"}},
        headers={"Authorization": "Bearer t0ken"},
    )
    result = r.json()
    assert (result["ok"], result["kind"], result["response"]["status"]) == (True, "ok", 200)
    assert result["request"]["url"].endswith("/secure/b")
    assert result["request"]["headers"]["authorization"] == "Bearer [redacted]"
    assert result["outputs"] == {"items": [{"sku": "A-1"}, {"sku": "B-2"}]}
    assert CLIENT_SECRET not in r.text
    r = await client.post(
        "/v2/connections/testConnection", json={"connection": "nope"}, headers={"Authorization": "Bearer t0ken"}
    )
    assert (r.status_code, r.json()["field"]) == (404, "connection")
    r = await client.post(
        "/v2/connections/testConnection", json={"inputs": {}}, headers={"Authorization": "Bearer t0ken"}
    )
    assert (r.status_code, r.json()["field"]) == (400, "connection")


def test_cli_test_connection(
    config: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, env = config
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(["test-connection", "recs", "--input", "user=zoe", "--config", str(path)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["request"]["url"].endswith("/secure/zoe")
    assert result["outputs"]["items"][0] == {"sku": "A-1"}
    assert main(["test-connection", "slow", "--config", str(path)]) == 1
    assert json.loads(capsys.readouterr().out)["kind"] == "timeout"


def test_connection_config_errors(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        textwrap.dedent("""
        projects: [{id: p}]
        connections:
          - {id: a, baseUrl: "ftp://x"}
          - {id: b, baseUrl: "http://x", path: "no-slash", outputs: {o: {path: "$[[["}}}
          - {id: c, baseUrl: "http://x", headers: {"Bad Header": v}}
        decisionModels:
          - id: m
            variants:
              - {id: v, status: production, weight: 10000, nodes: [{id: n, kind: connection, connection: ghost},
                                                                     {id: o, kind: output, value: n}]}
        """),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_runtime(path, env={})
    text = str(info.value)
    assert "connections[0].baseUrl: String should match pattern" in text
    path.write_text(path.read_text().replace('"ftp://x"', '"http://x"'), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_runtime(path, env={})
    text = str(info.value)
    assert "connections[1].path: starts with /" in text
    assert "connections[1].outputs.o.path: output 'o': '$[[[' is not a JSONPath" in text
    assert "connections[2].headers.Bad Header: is not a valid header name" in text
    assert "decisionModels[0].variants[0].nodes[0]: unknown connection 'ghost'" in text
