"""Regenerate bucketing.json from the plain-Python reference (run by hand: python -m tests.vectors.generate_bucketing).

The published values at the top are MurmurHash3 x86_32 results known from other implementations;
the rest are computed by the reference implementation, never by the production code under test.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.vectors.murmur3_reference import assign, bucket, murmur3_x86_32

PUBLISHED = [
    {"input": "", "murmur3_32": 0, "source": "published: empty input, seed 0"},
    {"input": "hello", "murmur3_32": 613153351, "source": "published: mmh3 README / Guava"},
    {
        "input": "The quick brown fox jumps over the lazy dog",
        "murmur3_32": 0x2E4FF723,
        "source": "published: Wikipedia MurmurHash test vector",
    },
]
INPUTS = ["a", "ab", "abc", "abcd", "abcde", "café", "naïve résumé", "日本語", "😀", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "a38b230c-11eb-4cf9"]
SALTS = ["home_banner", "loyalty_offer", "exp-42"]
KEYS = ["a38b230c-11eb-4cf9-8d5d-274e9f344925", "B", "BXLP:123456", "ana@example.com", "", "😀-visitor", "ünïcödé"]
WEIGHTS = [[10000], [5000, 5000], [4500, 4500, 1000], [3333, 3333, 3334], [1, 9999], [0, 10000], [2500, 2500]]


def main() -> None:
    hashes = list(PUBLISHED)
    for text in INPUTS:
        hashes.append(
            {
                "input": text,
                "utf8_hex": text.encode().hex(),
                "murmur3_32": murmur3_x86_32(text.encode()),
                "source": "reference implementation",
            }
        )
    buckets = [{"salt": s, "visitorKey": k, "bucket": bucket(s, k)} for s in SALTS for k in KEYS]
    assignments = []
    for s in SALTS:
        for k in KEYS:
            for w in WEIGHTS:
                b = bucket(s, k)
                assignments.append({"salt": s, "visitorKey": k, "weights": w, "bucket": b, "variant": assign(b, w)})
    doc = {
        "spec": "key = salt + ':' + visitorKey; hash = MurmurHash3_x86_32(UTF-8(key), seed=0); "
        "bucket = (hash * 10000) >> 32; variant = first index whose cumulative weight > bucket, else -1",
        "hash": hashes,
        "bucket": buckets,
        "assignment": assignments,
    }
    out = Path(__file__).with_name("bucketing.json")
    out.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out}: {len(hashes)} hashes, {len(buckets)} buckets, {len(assignments)} assignments")


if __name__ == "__main__":
    main()
