"""Paths (`offer.code`, `params.loyalty.tier`, a template's `params.items[0]`) compiled to getters over a
context mapping: the one path getter of the package (node sources, table cells and templates use it)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_0-9][A-Za-z0-9_-]*)*$")


def split_path(text: str) -> tuple[str, ...]:
    if not isinstance(text, str) or not PATH.match(text):
        raise ValueError(f"{text!r} is not a dotted path like params.loyalty.tier")
    return tuple(text.split("."))


def getter(path: tuple[str | int, ...]) -> Callable[[Mapping[str, Any]], Any]:
    """A function returning the value at `path`, or None where any step is missing. A str step reads a
    mapping (or, when it is digits, a list); an int step indexes a list, negative from the end."""
    if len(path) == 1 and isinstance(path[0], str):
        key = path[0]
        return lambda context: context.get(key)
    first, rest = path[0], path[1:]

    def get(context: Mapping[str, Any]) -> Any:
        value: Any = context.get(first) if isinstance(first, str) else None
        for step in rest:
            if isinstance(step, str) and isinstance(value, Mapping):
                value = value.get(step)
            elif isinstance(value, list) and (index := _index(step)) is not None and -len(value) <= index < len(value):
                value = value[index]
            else:
                return None
        return value

    return get


def _index(step: str | int) -> int | None:
    if isinstance(step, int):
        return step
    return int(step) if step.isdigit() else None
