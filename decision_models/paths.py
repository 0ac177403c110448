"""Dotted paths (`offer.code`, `params.loyalty.tier`) compiled to getters over a context mapping."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_0-9][A-Za-z0-9_-]*)*$")


def split_path(text: str) -> tuple[str, ...]:
    if not isinstance(text, str) or not PATH.match(text):
        raise ValueError(f"{text!r} is not a dotted path like params.loyalty.tier")
    return tuple(text.split("."))


def getter(path: tuple[str, ...]) -> Callable[[Mapping[str, Any]], Any]:
    """A function returning the value at `path`, or None where any step is missing."""
    if len(path) == 1:
        key = path[0]
        return lambda context: context.get(key)
    first, rest = path[0], path[1:]

    def get(context: Mapping[str, Any]) -> Any:
        value: Any = context.get(first)
        for step in rest:
            if isinstance(value, Mapping):
                value = value.get(step)
            elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
                value = value[int(step)]
            else:
                return None
        return value

    return get
