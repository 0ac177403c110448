"""Connection faults honoured to the end: header values outside ASCII, Retry-After, retries after the caller
left, which timeout fired, and a node's default winning over the experience fallback at the deadline."""

from __future__ import annotations

import asyncio
import textwrap
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest

from service.app import create_app
from service.config import ConfigError, load_runtime
from service.http.metrics import Metrics
from tests.conftest import app_client
from tests.servers.connections import make
from tests.servers.upstream import RunningUpstream


async def test_a_header_value_outside_ascii_is_a_bad_input_outcome(fresh_upstream: RunningUpstream) -> None:
    c = make(fresh_upstream, e={"path": "/echo/x", "headers": {"X-Name": "${name}"}})
    outcome = await c.call("e", {"name": "Zoë"}, 1.0)
    assert (outcome.ok, outcome.kind) == (False, "bad_input")
    assert "only ASCII characters, not 'ë'" in outcome.detail
    assert (await c.call("e", {"name": "Zoe"}, 1.0)).ok


def test_a_literal_header_value_outside_ascii_is_a_config_error(write_config: object, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "projects: [{id: p, clientKey: k}]\n"
        "connections: [{id: e, baseUrl: 'http://127.0.0.1:1', headers: {X-City: 'Zürich'}}]\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_runtime(path, env={})
    assert "connections[0].headers.X-City: holds characters outside ASCII" in str(info.value)


def test_retry_after_in_seconds_and_as_a_date() -> None:
    from connections.calls import retry_after

    assert retry_after({"Retry-After": "7"}) == 7.0
    now = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
    date = format_datetime(datetime(2026, 11, 30, 12, 0, 30, tzinfo=UTC), usegmt=True)
    assert retry_after({"retry-after": date}, now=now.timestamp) == 30.0
    assert retry_after({"retry-after": "soon"}) is None
    assert retry_after({}) is None


async def test_retry_after_is_a_floor_on_the_pause(fresh_upstream: RunningUpstream) -> None:
    spec = {"path": "/busy", "retries": {"attempts": 3, "backoffMs": 10}, "timeouts": {"totalMs": 800}}
    c = make(fresh_upstream, b=spec)
    outcome = await c.call("b", {}, 5.0)
    assert outcome.kind == "http_429"
    assert fresh_upstream.state.hits["busy"] == 1  # Retry-After: 1 s does not fit in 0.8 s: no retry at all


async def test_retries_stop_when_every_caller_has_gone(fresh_upstream: RunningUpstream) -> None:
    fresh_upstream.state.flaky_failures = 10
    spec = {"path": "/flaky", "retries": {"attempts": 4, "backoffMs": 200}, "timeouts": {"totalMs": 5000}}
    c = make(fresh_upstream, f=spec)
    outcome = await c.call("f", {}, 0.05)  # the caller gives up long before the shared call's own limit
    assert outcome.kind == "timeout"
    shared = list(c.state["f"].coalescer.inflight.values())
    await asyncio.gather(*shared)  # let the shared call finish: it must not retry for nobody
    assert fresh_upstream.state.hits["flaky"] == 1


async def test_the_timeout_detail_names_the_limit_that_fired(fresh_upstream: RunningUpstream) -> None:
    spec = {"path": "/delay", "query": {"s": "3"}, "timeouts": {"readMs": 100, "totalMs": 2000}}
    c = make(fresh_upstream, d=spec)
    outcome = await c.call("d", {}, 5.0)
    assert (outcome.kind, outcome.detail) == ("timeout", "no data for 100 ms (the read timeout)")
    outcome = await c.call("d", {}, 0.05)
    assert outcome.detail == "no answer within the caller's 50 ms"


CONFIG = """
management: {tokens: [t]}
projects: [{id: p, clientKey: k}]
connections:
  - id: hang
    baseUrl: "${env:UPSTREAM}"
    path: /count
    query: {key: hang, delay: "5"}
    timeouts: {totalMs: 2000}
    breaker: {failures: 1000}
decisionModels:
  - id: m
    variants:
      - id: v
        status: production
        weight: 10000
        nodes:
          - {id: h, kind: connection, connection: hang, type: object, default: {from: node-default}}
          - {id: out, kind: output, value: h.from}
experiences:
  - friendlyId: x
    status: active
    type: segmented
    deadlineMs: 40
    fallback: {from: experience-fallback}
    variants:
      - {id: v, decisionModels: [m], response: {from: "${decisions.m.out}"}}
"""


async def test_a_node_default_wins_over_the_experience_fallback(
    tmp_path: Path, fresh_upstream: RunningUpstream
) -> None:
    """The upstream never answers in time; the connection allows more than the experience deadline. Under
    concurrency, every answer is the node's default, and the overruns count as timeouts for the breaker."""
    path = tmp_path / "c.yaml"
    path.write_text(textwrap.dedent(CONFIG), encoding="utf-8")
    app = create_app(load_runtime(path, env={"UPSTREAM": fresh_upstream.url}), Metrics())
    async with app_client(app) as client:
        body = {"clientKey": "k", "friendlyId": "x"}
        answers = await asyncio.gather(*(client.post("/v2/callFlows", json=body) for _ in range(40)))
        assert [r.json() for r in answers] == [{"from": "node-default"}] * 40
        assert {r.headers["x-personalize-outcome"] for r in answers} == {"variant"}
        r = await client.post("/v2/callFlows/explain", json=body, headers={"Authorization": "Bearer t"})
        node = r.json()["trace"]["steps"][-1]["models"][0]["nodes"][0]
        assert (node["id"], node["usedDefault"]) == ("h", True) and node["errorKind"] in ("timeout", "deadline")
        metrics = (await client.get("/metrics")).text
        timeouts = [line for line in metrics.splitlines() if 'connection="hang"' in line and 'kind="timeout"' in line]
        # The calls cut by the deadline are counted timeouts, and count toward the breaker.
        counted = float(timeouts[0].rsplit(" ", 1)[1]) if timeouts else 0
        assert counted >= 1
        assert app.state.runtime().connections.state["hang"].breaker.failures == counted
