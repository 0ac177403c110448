"""decide(): selection, targeting, audiences, segmented and A/B variants, preview, deadlines, failures."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from decision_models import Catalog, DecisionRequest, Outcome, assign, bucket, choose, decide
from service.config import load_runtime
from tests import plugins

CONFIG = """
projects: [{id: p, clientKey: k}]
audiences:
  - {id: gold, rule: {"==": [{"var": "params.tier"}, "gold"]}}
  - {id: euro, rule: {"==": [{"var": "request.currency"}, "EUR"]}}
decisionModels:
  - {id: score, plugin: "tests.plugins:score"}
  - {id: slow, plugin: "tests.plugins:sleeps_past_deadline"}
  - {id: slow_sync, plugin: "tests.plugins:sync_sleeps_past_deadline"}
  - {id: broken, plugin: "tests.plugins:fails"}
  - {id: weird, plugin: "tests.plugins:returns_unserializable"}
  - {id: listy, plugin: "tests.plugins:returns_list"}
experiences:
  - friendlyId: seg
    status: active
    type: segmented
    targeting: {channels: [WEB], pointsOfSale: [shop_ie]}
    fallback: {f: true}
    variants:
      - {id: gold_v, audience: gold, response: {v: gold}}
      - {id: euro_v, audience: euro, response: {v: euro}}
  - friendlyId: ab
    status: active
    type: ab
    fallback: {v: fallback}
    variants:
      - {id: a, weight: 5000, response: {v: a}}
      - {id: b, weight: 4000, response: {v: b}}
      - {id: ctl, weight: 1000, control: true}
    draft:
      type: ab
      variants: [{id: d, weight: 10000, response: {v: draft}}]
  - friendlyId: gated
    status: active
    type: segmented
    audience: gold
    variants: [{id: g, response: {v: gated}}]
  - friendlyId: paused_one
    status: paused
    type: segmented
    variants: [{id: p, response: {v: paused}}]
  - friendlyId: pre_b
    status: active
    type: segmented
    audience: euro
    variants: [{id: b, response: {v: pre_b}}]
  - friendlyId: pre_a
    status: active
    type: segmented
    audience: gold
    variants: [{id: a, response: {v: pre_a}}]
  - friendlyId: modeled
    status: active
    type: segmented
    deadlineMs: 100
    fallback: {v: fallback, tier: "${params.tier}"}
    variants:
      - id: m
        decisionModels: [score]
        response: {score: "${decisions.score.score}", tier: "${decisions.score.tier}", exp: "${experience.friendlyId}"}
"""

MODEL_EXPERIENCE = """
  - friendlyId: {fid}
    status: active
    type: segmented
    deadlineMs: {deadline}
    fallback: {{v: fallback}}
    variants: [{{id: m, decisionModels: [{model}], response: {{out: "${{decisions.{model}}}"}}}}]
"""


def catalog_for(tmp_path: Path, extra: str = "") -> Catalog:
    path = tmp_path / "c.yaml"
    path.write_text(textwrap.dedent(CONFIG) + extra, encoding="utf-8")
    return load_runtime(path, env={}).projects["p"].catalog


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    extra = "".join(
        MODEL_EXPERIENCE.format(fid=f"uses_{m}", model=m, deadline=50)
        for m in ("slow", "slow_sync", "broken", "weird", "listy")
    )
    return catalog_for(tmp_path, extra)


async def run(catalog: Catalog, explain: bool = False, **fields: Any) -> tuple[Outcome, Any, Any]:
    decision = await decide(catalog, DecisionRequest(**fields), default_deadline_ms=250, explain=explain)
    return decision.outcome, orjson.loads(decision.body), decision


async def test_unknown_friendly_id_is_not_found(catalog: Catalog) -> None:
    outcome, body, _ = await run(catalog, friendly_id="nope")
    assert (outcome, body) == (Outcome.NOT_FOUND, {})


async def test_segmented_first_matching_variant_in_order(catalog: Catalog) -> None:
    req: dict[str, Any] = {"friendly_id": "seg", "point_of_sale": "shop_ie"}
    assert (await run(catalog, **req, params={"tier": "gold"}, currency="EUR"))[1] == {"v": "gold"}
    assert (await run(catalog, **req, currency="EUR"))[1] == {"v": "euro"}
    outcome, body, _ = await run(catalog, **req, currency="USD")
    assert (outcome, body) == (Outcome.NO_VARIANT, {"f": True})


@pytest.mark.parametrize(("channel", "pos"), [("MOBILE_APP", "shop_ie"), ("WEB", ""), ("WEB", "shop_fr")])
async def test_targeting_miss_returns_empty(catalog: Catalog, channel: str, pos: str) -> None:
    outcome, body, decision = await run(catalog, friendly_id="seg", channel=channel, point_of_sale=pos)
    assert (outcome, body) == (Outcome.TARGETING_MISS, {})
    assert decision.steps == []  # the trace is built when asked for
    explained = (await run(catalog, explain=True, friendly_id="seg", channel=channel, point_of_sale=pos))[2]
    assert "not in" in explained.steps[0]["targeting"]


async def test_audience_filter(catalog: Catalog) -> None:
    assert (await run(catalog, friendly_id="gated", params={"tier": "gold"}))[1] == {"v": "gated"}
    outcome, body, _ = await run(catalog, friendly_id="gated", params={"tier": "silver"})
    assert (outcome, body) == (Outcome.AUDIENCE_MISS, {})


async def test_paused_is_not_live_unless_previewed(catalog: Catalog) -> None:
    assert (await run(catalog, friendly_id="paused_one"))[:2] == (Outcome.NOT_LIVE, {})
    assert (await run(catalog, friendly_id="paused_one", preview=True))[:2] == (Outcome.VARIANT, {"v": "paused"})


async def test_prefix_runs_first_lexicographic_match_that_passes(catalog: Catalog) -> None:
    # pre_a (gold) sorts before pre_b (EUR) even though pre_b is defined first.
    assert (await run(catalog, friendly_id="pre_*", params={"tier": "gold"}, currency="EUR"))[1] == {"v": "pre_a"}
    assert (await run(catalog, friendly_id="pre_*", currency="EUR"))[1] == {"v": "pre_b"}
    assert (await run(catalog, friendly_id="pre_*", currency="USD"))[:2] == (Outcome.AUDIENCE_MISS, {})


async def test_ab_assignment_is_the_bucketing_spec(catalog: Catalog) -> None:
    bounds = (5000, 9000, 10000)
    seen = set()
    for i in range(300):
        key = f"visitor-{i}"
        outcome, body, decision = await run(catalog, friendly_id="ab", visitor_key=key, visitor_source="browserId")
        expected = ["a", "b", "ctl"][choose(bucket("ab", key), bounds)]
        assert decision.variant.id == expected
        assert decision.bucket == bucket("ab", key)
        if expected == "ctl":
            assert (outcome, body) == (Outcome.CONTROL, {"v": "fallback"})
        else:
            assert (outcome, body) == (Outcome.VARIANT, {"v": expected})
        seen.add(expected)
    assert seen == {"a", "b", "ctl"}


async def test_ab_sticky_per_visitor(catalog: Catalog) -> None:
    first = [(await run(catalog, friendly_id="ab", visitor_key=f"v{i}"))[1] for i in range(50)]
    again = [(await run(catalog, friendly_id="ab", visitor_key=f"v{i}"))[1] for i in range(50)]
    assert first == again


async def test_anonymous_visitor_gets_a_random_bucket(catalog: Catalog) -> None:
    keys = iter(["x1", "x2"])
    d1 = await decide(
        catalog, DecisionRequest(friendly_id="ab"), default_deadline_ms=250, random_key=lambda: next(keys), explain=True
    )
    assert d1.bucket == bucket("ab", "x1")
    assert "random" in d1.steps[-1]["visitorKeyFrom"]


async def test_preview_runs_the_draft(catalog: Catalog) -> None:
    assert (await run(catalog, friendly_id="ab", visitor_key="v", preview=True))[1] == {"v": "draft"}


async def test_decision_model_outputs_reach_the_template(catalog: Catalog) -> None:
    outcome, body, decision = await run(catalog, explain=True, friendly_id="modeled", params={"tier": "gold"})
    assert (outcome, body) == (Outcome.VARIANT, {"score": 90, "tier": "gold", "exp": "modeled"})
    assert decision.steps[-1]["step"] == "decisionModels"
    assert "decision" in decision.timings


async def test_async_step_past_the_deadline_returns_fallback(catalog: Catalog) -> None:
    plugins.FINISHED.clear()
    outcome, body, decision = await run(catalog, friendly_id="uses_slow")
    assert (outcome, body) == (Outcome.FALLBACK, {"v": "fallback"})
    reason = decision.steps[-1]["reason"]
    assert reason.startswith("decision model 'slow' (default): node 'plugin' failed: ")
    assert "tests.plugins:sleeps_past_deadline did not return within" in reason
    assert plugins.FINISHED == []  # we answered while the model was still sleeping; it was cancelled


async def test_sync_step_past_the_deadline_returns_fallback(catalog: Catalog) -> None:
    plugins.FINISHED.clear()
    plugins.SYNC_DONE.clear()
    outcome, body, _ = await run(catalog, friendly_id="uses_slow_sync")
    assert (outcome, body) == (Outcome.FALLBACK, {"v": "fallback"})
    assert "sync" not in plugins.FINISHED
    assert await asyncio.to_thread(plugins.SYNC_DONE.wait, 10)  # the worker thread ends before the loop closes


async def test_client_timeout_tightens_the_deadline(catalog: Catalog) -> None:
    _, _, decision = await run(catalog, friendly_id="modeled", timeout_ms=20)
    assert decision.deadline_ms == 20


@pytest.mark.parametrize(
    ("fid", "reason"),
    [
        ("uses_broken", "RuntimeError: upstream said no"),
        ("uses_weird", "render failed"),
        ("uses_listy", "gave list [1, 2], declared object"),
    ],
)
async def test_failing_steps_return_fallback(catalog: Catalog, fid: str, reason: str) -> None:
    outcome, body, decision = await run(catalog, friendly_id=fid)
    assert (outcome, body) == (Outcome.FALLBACK, {"v": "fallback"})
    assert reason in decision.steps[-1]["reason"]


async def test_trace_lists_every_step(catalog: Catalog) -> None:
    _, _, decision = await run(catalog, explain=True, friendly_id="ab", visitor_key="v1", visitor_source="browserId")
    trace = decision.trace()
    assert trace["experience"] == "ab"
    assert trace["version"] == "live"
    assert [s["step"] for s in trace["steps"]] == ["experience", "bucketing"]
    assert set(trace["timingsMs"]) == {"audience", "bucketing", "render"}


def test_clock_is_injectable(catalog: Catalog) -> None:
    ticks: Callable[[], float] = iter([0.0, 1.0, 3.0, 6.0]).__next__
    decision = asyncio.run(
        decide(
            catalog, DecisionRequest(friendly_id="gated", params={"tier": "gold"}), default_deadline_ms=250, clock=ticks
        )
    )
    assert decision.timings == {"audience": 1000.0, "bucketing": 2000.0, "render": 3000.0}


async def test_assign_names_the_variant_decide_serves_without_running_models() -> None:
    """The Contentstack manifest's path: the same variant as callFlows for every demo experience and visitor
    (control and no-match are None), but no decision model runs, so no connection is ever waited on."""
    runtime = load_runtime(env={})
    catalog = runtime.projects["demo"].catalog
    served = 0
    for friendly_id in catalog.experiences:
        for n in range(40):
            params = {"cartValue": n * 10, "loyalty": {"tier": "gold" if n % 2 else "none"}}
            request = DecisionRequest(
                friendly_id=friendly_id, visitor_key=f"v-{n}", visitor_source="user", params=params
            )
            decision = await decide(catalog, request, default_deadline_ms=250, connections=None)
            assigned = assign(catalog, request)
            if decision.outcome is Outcome.VARIANT:
                assert assigned is decision.variant, (friendly_id, n)
                served += 1
            elif decision.outcome in (Outcome.CONTROL, Outcome.NO_VARIANT, Outcome.NOT_LIVE, Outcome.AUDIENCE_MISS):
                assert assigned is None, (friendly_id, n, decision.outcome)
            else:  # a model failed (no connections here): decide falls back, assign still names the variant
                assert decision.outcome is Outcome.FALLBACK and assigned is decision.variant is not None
    assert served > 0
