"""The `personalize` command: validate, call, schema, and serve as a real process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from service.cli import main, parse_params

Write = Callable[..., Path]


def test_validate_ok(capsys: pytest.CaptureFixture[str]) -> None:
    demo = Path(__file__).parents[1] / "service" / "demo" / "demo.yaml"
    assert main(["validate", str(demo)]) == 0
    assert capsys.readouterr().out == "ok: 1 project(s), 8 experience(s)\n"


def test_validate_prints_every_error(write_config: Write, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config("""
        projects: [{id: p}]
        experiences:
          - {friendlyId: a, type: ab, variants: [{id: x, weight: -1, response: {}}]}
          - {friendlyId: b, type: segmented, variants: [{id: x, response: {}}], extra: 1}
        """)
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"{path}: experiences[0].variants[0].weight: Input should be greater than or equal to 0",
        f"{path}: experiences[1].extra: Extra inputs are not permitted",
        "2 error(s)",
    ]


def test_call_prints_response_and_trace(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["call", "loyalty_offer", "--param", "loyalty.tier=gold", "--browser-id", "b1"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"offer": {"code": "GOLD20", "discountPercent": 20}, "tier": "gold"}
    trace = json.loads(captured.err)
    assert (trace["project"], trace["experience"], trace["variant"], trace["outcome"]) == (
        "demo",
        "loyalty_offer",
        "gold_offer",
        "variant",
    )


def test_call_ab_is_sticky_and_preview_runs_draft(capsys: pytest.CaptureFixture[str]) -> None:
    main(["call", "home_banner", "--browser-id", "same"])
    first = capsys.readouterr().out
    main(["call", "home_banner", "--browser-id", "same"])
    assert capsys.readouterr().out == first
    main(["call", "home_banner", "--browser-id", "same", "--preview"])
    assert json.loads(capsys.readouterr().out)["variant"] == "hero_black_friday"


def test_call_reports_config_errors(write_config: Write, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config("projects: [{id: p, colour: red}]\n")
    assert main(["call", "x", "--config", str(path)]) == 2
    assert "projects[0].colour: Extra inputs are not permitted" in capsys.readouterr().err


def test_parse_params() -> None:
    assert parse_params(["loyalty.tier=gold", "cart=120", "ok=true", "name=Ana Lee", 'o={"a":1}']) == {
        "loyalty": {"tier": "gold"},
        "cart": 120,
        "ok": True,
        "name": "Ana Lee",
        "o": {"a": 1},
    }
    with pytest.raises(SystemExit):
        parse_params(["novalue"])


def test_schema_describes_the_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {
        "settings",
        "management",
        "projects",
        "audiences",
        "connections",
        "decisionModels",
        "experiences",
        "triggers",
    }
    experience = schema["$defs"]["Experience"]["properties"]
    assert experience["friendlyId"]["pattern"] == "^[a-z0-9_]+$"
    assert "deadlineMs" in experience and "draft" in experience


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(*extra: str) -> tuple[str, subprocess.Popen[str]]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env.setdefault("PERSONALIZE_DATA_DIR", tempfile.mkdtemp(prefix="personalize-data-"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "service", "serve", "--port", str(port), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=0.5).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail(f"server did not start: {proc.communicate()[1]}")
    return base, proc


@pytest.fixture
def served() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    base, proc = _serve()
    yield base, proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)


@pytest.mark.slow
def test_serve_runs_the_embedded_demo(served: tuple[str, subprocess.Popen[str]]) -> None:
    base, proc = served
    r = httpx.post(
        f"{base}/v1/personalize?sitecoreContextId=demo",
        json={"clientKey": "", "friendlyId": "home_banner", "browserId": "B", "channel": "WEB"},
    )
    assert r.status_code == 200 and r.json()["banner"]["title"]
    assert httpx.get(f"{base}/readyz").json()["config"] == "(embedded demo)"
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=10)
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("route") == "/v1/personalize"]
    assert access and access[0]["decisionId"] == r.headers["x-decision-id"]
    assert access[0]["outcome"] == r.headers["x-personalize-outcome"]


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_refuses_a_bad_config(write_config: Write, workers: str) -> None:
    path = write_config("projects: [{id: p, colour: red}]\n")
    done = subprocess.run(
        [sys.executable, "-m", "service", "serve", "--config", str(path), "--port", "1", "--workers", workers],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2  # validated by the process itself or, with workers, by a child validate
    assert f"{path}: projects[0].colour: Extra inputs are not permitted" in done.stderr


@pytest.mark.slow
def test_serve_with_workers_merges_metrics() -> None:
    base, proc = _serve("--workers", "2", "--no-access-log")
    try:
        for _ in range(6):  # spread over both workers by the kernel; /metrics must count them all
            with httpx.Client() as fresh:
                fresh.post(f"{base}/v2/callFlows", json={"clientKey": "demo", "friendlyId": "loyalty_offer"})
        # Each worker flushes its counts into the shared files once a second (service/http/metrics.py), so the
        # merged view converges within a second or so: poll it, bounded.
        wanted = 'personalize_decisions_total{experience="loyalty_offer",outcome="variant",variant="join_offer"} 6.0'
        deadline = time.monotonic() + 15
        while wanted not in (text := httpx.get(f"{base}/metrics").text) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert wanted in text
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
