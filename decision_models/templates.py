"""Response templates: JSON structures whose `${...}` placeholders are filled with typed JSON values.

A template is the YAML/JSON value itself, so the output is always valid JSON: a string that is exactly
`${path}` becomes the value at that path with its JSON type (object, list, number, ...); a placeholder
inside a longer string is interpolated as text. Values are never spliced into JSON text, so a parameter
holding `"}, "admin": true` stays a string.

Placeholder grammar (a subset of FreeMarker that migrating users know):
  ${params.loyalty.tier}          a path: a root, then `.name` or `[index]` steps
  ${params.tier!"bronze"}         `!` then a JSON literal: the default when the path is absent or null
  $${literal}                     renders as the text `${literal}`
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from .paths import getter

Render = Callable[[Mapping[str, Any]], Any]

_PATH = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z_][A-Za-z0-9_-]*|\[\d+\])*)\s*(?:!(.*))?$", re.S)
_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]")


class TemplateError(ValueError):
    """A template that does not compile; the message names the placeholder."""


@dataclass(frozen=True, slots=True)
class Template:
    """A compiled template; `render(context)` returns a JSON-ready value.

    Constant parts are shared between renders: treat what `render` returns as read-only.
    """

    source: Any
    reads: tuple[tuple[str, ...], ...]
    render: Render


def _getter(root: str, steps: tuple[str | int, ...], default: Any) -> Render:
    get = getter((root, *steps))
    if default is None:  # a missing value renders as null anyway: no wrapper to call
        return get

    def get_or_default(context: Mapping[str, Any]) -> Any:
        value = get(context)
        return default if value is None else value

    return get_or_default


def _placeholder_end(text: str, start: int) -> int:
    """Index of the `}` closing the placeholder whose body starts at `start`: braces nest and quoted
    strings are skipped, so defaults like `{}` or `"a}b"` stay inside."""
    depth, position, quoted = 0, start, False
    while position < len(text):
        char = text[position]
        if quoted:
            if char == "\\":
                position += 1
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                return position
            depth -= 1
        position += 1
    raise TemplateError(f"'{text[start - 2 :]}' has no closing '}}'")


def _split(text: str) -> list[str | tuple[str]]:
    """Literal text and `(placeholder body,)` tuples, in order; `$${` is the literal `${`."""
    out: list[str | tuple[str]] = []
    literal: list[str] = []
    position = 0
    while True:
        found = text.find("${", position)
        if found < 0:
            literal.append(text[position:])
            break
        if found > 0 and text[found - 1] == "$":  # `$${`: an escaped, literal `${`
            literal.append(text[position : found - 1] + "${")
            position = found + 2
            continue
        literal.append(text[position:found])
        end = _placeholder_end(text, found + 2)
        out.append("".join(literal))
        literal = []
        out.append((text[found + 2 : end],))
        position = end + 1
    out.append("".join(literal))
    return [p for p in out if p != ""]


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return orjson.dumps(value).decode()


class _Compiler:
    def __init__(self, roots: Iterable[str]) -> None:
        self.roots = frozenset(roots)
        self.reads: list[tuple[str, ...]] = []

    def placeholder(self, expression: str) -> Render:
        match = _PATH.match(expression)
        if match is None:
            raise TemplateError(f"'${{{expression}}}' is not a path like params.name or params.name!\"default\"")
        root, tail, default_text = match.group(1), match.group(2), match.group(3)
        if root not in self.roots:
            raise TemplateError(
                f"'${{{expression}}}' reads '{root}'; paths start with one of: {', '.join(sorted(self.roots))}"
            )
        steps: tuple[str | int, ...] = tuple(name if name else int(index) for name, index in _STEP.findall(tail))
        default: Any = None
        if default_text is not None:
            try:
                default = json.loads(default_text)
            except ValueError:
                raise TemplateError(
                    f"'${{{expression}}}': the default after '!' must be a JSON literal, e.g. \"text\" or 0"
                ) from None
        self.reads.append((root, *(str(s) for s in steps)))
        return _getter(root, steps, default)

    def string(self, text: str) -> Render | str:
        parts: list[str | Render] = []
        for piece in _split(text):
            parts.append(piece if isinstance(piece, str) else self.placeholder(piece[0]))
        parts = [p for p in parts if p != ""]
        if not any(callable(p) for p in parts):
            return "".join(p for p in parts if isinstance(p, str))
        if len(parts) == 1 and callable(parts[0]):
            return parts[0]  # a whole-string placeholder keeps the value's JSON type
        pieces = tuple(parts)

        def interpolate(context: Mapping[str, Any]) -> str:
            return "".join(p if isinstance(p, str) else _as_text(p(context)) for p in pieces)

        return interpolate

    def value(self, node: Any, where: str) -> Render | Any:
        """A constant (returned as is) or a render function."""
        try:
            if isinstance(node, str):
                return self.string(node)
            if isinstance(node, dict):
                items = [
                    (self._key(k, where), self.value(v, f"{where}.{k}" if where else str(k))) for k, v in node.items()
                ]
                if not any(callable(v) for _, v in items):
                    return dict(items)
                # Which values are rendered is known now: the render tests a flag, not callable() per key.
                frozen = tuple((k, v, callable(v)) for k, v in items)
                return lambda context: {k: v(context) if rendered else v for k, v, rendered in frozen}
            if isinstance(node, list):
                elements = [self.value(v, f"{where}[{i}]") for i, v in enumerate(node)]
                if not any(callable(v) for v in elements):
                    return elements
                frozen_list = tuple((v, callable(v)) for v in elements)
                return lambda context: [v(context) if rendered else v for v, rendered in frozen_list]
            if node is None or isinstance(node, bool | int | float):
                return node
        except TemplateError as exc:
            if str(exc).startswith("at "):
                raise
            raise TemplateError(f"at {where or '(root)'}: {exc}") from None
        raise TemplateError(f"at {where or '(root)'}: {type(node).__name__} is not a JSON value")

    @staticmethod
    def _key(key: Any, where: str) -> str:
        if not isinstance(key, str):
            raise TemplateError(f"at {where or '(root)'}: object keys must be strings, not {key!r}")
        if "${" in key:
            raise TemplateError(f"at {where or '(root)'}: placeholders are not allowed in keys ({key!r})")
        return key


def compile_template(source: Any, *, roots: Iterable[str]) -> Template:
    """Compile a JSON template once; placeholders may only read the given roots."""
    compiler = _Compiler(roots)
    compiled = compiler.value(source, "")
    if callable(compiled):
        render: Render = compiled
    else:
        constant = compiled

        def render(context: Mapping[str, Any]) -> Any:
            return constant

    return Template(source=source, reads=tuple(compiler.reads), render=render)
