"""Hostile inputs shared by several test modules."""

from __future__ import annotations

# "Billion laughs": nine levels of nine aliases, 9^9 values once expanded, in 342 bytes.
LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True)
)
