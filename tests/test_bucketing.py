"""Bucketing against the shared vectors (tests/vectors/bucketing.json) and its statistical shape."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from decision_models import bucket, choose, cumulative, murmur3_32
from tests.vectors.murmur3_reference import murmur3_x86_32

VECTORS: dict[str, Any] = json.loads((Path(__file__).parent / "vectors" / "bucketing.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", VECTORS["hash"], ids=lambda c: repr(c["input"]))
def test_hash_matches_vectors(case: dict[str, Any]) -> None:
    data = case["input"].encode()
    assert murmur3_32(data) == case["murmur3_32"]
    assert murmur3_x86_32(data) == case["murmur3_32"]  # the independent reference agrees too


@pytest.mark.parametrize("case", VECTORS["bucket"], ids=lambda c: f"{c['salt']}:{c['visitorKey']}")
def test_bucket_matches_vectors(case: dict[str, Any]) -> None:
    assert bucket(case["salt"], case["visitorKey"]) == case["bucket"]


@pytest.mark.parametrize("case", VECTORS["assignment"])
def test_assignment_matches_vectors(case: dict[str, Any]) -> None:
    b = bucket(case["salt"], case["visitorKey"])
    assert b == case["bucket"]
    assert choose(b, cumulative(case["weights"])) == case["variant"]


def test_hashes_utf8_bytes_not_code_points() -> None:
    # 'é' is one code point but two UTF-8 bytes: hashing code points would give another value.
    assert murmur3_32("é".encode()) == murmur3_x86_32(b"\xc3\xa9")
    assert murmur3_32("é".encode()) != murmur3_x86_32(b"\xe9")


def test_choose_edges() -> None:
    bounds = cumulative([4500, 4500, 1000])
    assert bounds == (4500, 9000, 10000)
    assert choose(0, bounds) == 0
    assert choose(4499, bounds) == 0
    assert choose(4500, bounds) == 1
    assert choose(9999, bounds) == 2
    assert choose(9999, cumulative([5000])) == -1  # weights that do not cover the space


def test_split_follows_weights_and_salts_are_independent() -> None:
    keys = [f"visitor-{i}" for i in range(20_000)]
    bounds = cumulative([4500, 4500, 1000])
    counts = Counter(choose(bucket("home_banner", k), bounds) for k in keys)
    assert abs(counts[0] / len(keys) - 0.45) < 0.02
    assert abs(counts[1] / len(keys) - 0.45) < 0.02
    assert abs(counts[2] / len(keys) - 0.10) < 0.01
    # Another experience's salt reshuffles: about half the visitors change side of a 50/50 split.
    half = cumulative([5000, 5000])
    same = sum(choose(bucket("a", k), half) == choose(bucket("b", k), half) for k in keys)
    assert 0.47 < same / len(keys) < 0.53
