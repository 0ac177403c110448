"""Deterministic, sticky bucketing: the same visitor lands in the same variant on every process.

Specification (the test vectors in tests/vectors/bucketing.json pin it down):
  key    = salt + ":" + visitor_key                      # salt is the experience id
  hash   = MurmurHash3_x86_32(UTF-8 bytes of key, seed 0) # unsigned 32-bit
  bucket = (hash * 10_000) >> 32                         # integer-only, 0 <= bucket < 10_000 (basis points)
  winner = first variant whose cumulative weight (basis points) is > bucket
Integer math as flagd does, so every language computes the same bucket (docs/wire-formats.md, "Bucketing").
"""

from __future__ import annotations

from collections.abc import Sequence

import mmh3

BASIS_POINTS = 10_000


def murmur3_32(data: bytes) -> int:
    """MurmurHash3 x86_32 with seed 0, unsigned."""
    return mmh3.hash(data, 0, signed=False)


def bucket(salt: str, visitor_key: str) -> int:
    """The visitor's bucket in [0, 10 000) for this salt."""
    return (murmur3_32(f"{salt}:{visitor_key}".encode()) * BASIS_POINTS) >> 32


def cumulative(weights: Sequence[int]) -> tuple[int, ...]:
    """Running totals of basis-point weights, for `choose`."""
    total = 0
    out = []
    for weight in weights:
        total += weight
        out.append(total)
    return tuple(out)


def choose(bucket_value: int, bounds: Sequence[int]) -> int:
    """Index of the first cumulative bound above the bucket, or -1 when the weights do not cover it."""
    for index, bound in enumerate(bounds):
        if bucket_value < bound:
            return index
    return -1
