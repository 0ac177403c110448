"""Decision-model variants: production split (sticky, separately salted), shadow tests, drafts, plugin shorthand."""

from __future__ import annotations

import textwrap
from collections import Counter

import pytest
import yaml

from decision_models import DecisionModel, RunContext, bucket, choose
from service.config import schema
from service.config.models_build import build_model


def variant(vid: str, status: str, weight: int, value: str) -> str:
    return f"""
  - id: {vid}
    status: {status}
    weight: {weight}
    revision: 2
    nodes: [{{id: answer, kind: output, value: {{"cat": ["{value}"]}}}}]"""


def model(variants: str, test_share: int = 0) -> DecisionModel:
    text = f"id: m\ntestShare: {test_share}\nvariants:" + variants
    spec = schema.DecisionModel.model_validate(yaml.safe_load(textwrap.dedent(text)))
    built = build_model(spec, lambda sub, message: None, set())
    assert built is not None
    return built


async def test_production_split_is_sticky_and_follows_the_spec() -> None:
    m = model(variant("a", "production", 3000, "A") + variant("b", "production", 7000, "B"))
    seen: Counter[str] = Counter()
    for i in range(400):
        key = f"visitor-{i}"
        run = await m.run({}, RunContext(key, 1.0))
        expected = ["a", "b"][choose(bucket("model:m", key), (3000, 10000))]
        assert run.variant.id == expected
        assert run.bucket == bucket("model:m", key)
        again = await m.run({}, RunContext(key, 1.0))
        assert again.variant.id == run.variant.id
        seen[run.variant.id] += 1
    assert 0.22 < seen["a"] / 400 < 0.38


async def test_model_salt_is_independent_of_the_experience_salt() -> None:
    keys = [f"k{i}" for i in range(2000)]
    same = sum(choose(bucket("model:m", k), (5000, 10000)) == choose(bucket("m", k), (5000, 10000)) for k in keys)
    assert 0.45 < same / len(keys) < 0.55


async def test_test_variants_run_in_shadow_on_their_share_only() -> None:
    m = model(
        variant("prod", "production", 10000, "P") + variant("cand", "test", 0, "T") + variant("wip", "draft", 0, "D"),
        test_share=2500,
    )
    shadowed = 0
    for i in range(400):
        key = f"visitor-{i}"
        run = await m.run({}, RunContext(key, 1.0))
        assert run.variant.id == "prod"
        assert run.outputs == {"answer": "P"}  # the test variant's result is never returned
        in_share = bucket("shadow:m", key) < 2500
        assert [s.variant.id for s in run.shadow] == (["cand"] if in_share else [])
        if run.shadow:
            assert run.shadow[0].outputs == {"answer": "T"}
            assert run.trace()["shadow"][0]["status"] == "test"
        shadowed += in_share
    assert 0.18 < shadowed / 400 < 0.32


async def test_drafts_run_only_by_name() -> None:
    m = model(variant("prod", "production", 10000, "P") + variant("wip", "draft", 0, "D"))
    draft = m.variant("wip")
    assert draft is not None
    run = await m.run_variant(draft, {}, RunContext("v", 1.0))
    assert (run.outputs, run.variant.revision) == ({"answer": "D"}, 2)


def test_production_weights_must_cover_the_space() -> None:
    text = "id: m\nvariants:" + variant("a", "production", 5000, "A")
    with pytest.raises(ValueError, match="production variant weights must add up to 10000 basis points, not 5000"):
        schema.DecisionModel.model_validate(yaml.safe_load(text))
