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
    first = path[0]
    if len(path) == 1 and isinstance(first, str):
        return lambda context: context.get(first)
    # Each step with its list index, worked out once. The `is dict` test first: isinstance against the
    # Mapping ABC costs ~0.3 us, and templates and models read a handful of paths per request.
    steps = tuple((step, _index(step)) for step in path[1:])
    if len(steps) == 1 and isinstance(first, str) and steps[0][1] is None:
        return _two_steps(first, str(steps[0][0]))

    def get(context: Mapping[str, Any]) -> Any:
        value: Any = context.get(first) if isinstance(first, str) else None
        for step, index in steps:
            if value.__class__ is dict:
                value = value.get(step)
            elif value.__class__ is list and index is not None and -len(value) <= index < len(value):
                value = value[index]
            elif isinstance(value, Mapping):
                value = value.get(step)
            else:
                return None
        return value

    return get


def _two_steps(first: str, second: str) -> Callable[[Mapping[str, Any]], Any]:
    """`first.second` where `second` is a name: most paths configs read (params.x, node.field, variant.id)."""

    def get(context: Mapping[str, Any]) -> Any:
        value = context.get(first)
        if value.__class__ is dict:
            return value.get(second)
        return value.get(second) if isinstance(value, Mapping) else None

    return get


def _index(step: str | int) -> int | None:
    if isinstance(step, int):
        return step
    return int(step) if step.isdigit() else None
