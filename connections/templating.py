"""Request templates whose `${name}` placeholders can never change where a request goes or how it parses.

Each placeholder value is encoded for the component it lands in:
  path     percent-encoded with nothing kept but the unreserved characters (letters, digits, `-._~`): no
           `/`, `?` or `#` can get through, so a value can never add a segment, a query or a fragment; a
           value that is exactly `.` or `..` is refused (requests.build), the only way a dot could climb.
           Dots inside a value travel as dots: `%2E` is decoded back by every HTTP client and server.
  query    a value of a parameter whose name the config fixes (encoded by the client): no new parameter;
  headers  text, refused when it holds CR, LF or NUL (no new header line) or a character outside ASCII
           (httpx sends header values as ASCII and raised on anything else);
  body     JSON: a whole-string placeholder inserts the typed value, an embedded one inserts text, and the
           body is serialized as JSON, never spliced; form bodies are encoded by the client.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
Inputs = Mapping[str, Any]


class TemplateInputError(ValueError):
    """A request cannot be built from these inputs (missing, or unsafe for its component)."""


def placeholders(text: str) -> list[str]:
    return PLACEHOLDER.findall(text)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return "true" if value is True else "false" if value is False else ""
    if isinstance(value, int | float):
        return repr(value)
    return orjson.dumps(value).decode()


def _value(inputs: Inputs, name: str) -> Any:
    if name not in inputs:
        raise TemplateInputError(f"input '{name}' is missing")
    return inputs[name]


@dataclass(frozen=True, slots=True)
class TextTemplate:
    """A string with placeholders, rendered with an encoder for its component."""

    source: str
    parts: tuple[str | tuple[str], ...]

    @classmethod
    def compile(cls, source: str) -> TextTemplate:
        parts: list[str | tuple[str]] = []
        position = 0
        for match in PLACEHOLDER.finditer(source):
            parts.append(source[position : match.start()])
            parts.append((match.group(1),))
            position = match.end()
        parts.append(source[position:])
        return cls(source, tuple(p for p in parts if p != ""))

    @property
    def names(self) -> list[str]:
        return [p[0] for p in self.parts if isinstance(p, tuple)]

    def render(self, inputs: Inputs, encode: Callable[[str], str] = lambda s: s) -> str:
        return "".join(p if isinstance(p, str) else encode(_text(_value(inputs, p[0]))) for p in self.parts)


def encode_path_value(text: str) -> str:
    return quote(text, safe="")


def encode_header_value(text: str) -> str:
    if any(c in text for c in "\r\n\x00"):
        raise TemplateInputError("a header value may not hold CR, LF or NUL")
    if not text.isascii():
        first = next(c for c in text if not c.isascii())
        raise TemplateInputError(f"a header value may hold only ASCII characters, not {first!r}")
    return text


@dataclass(frozen=True, slots=True)
class JsonTemplate:
    """A JSON body template compiled to a render function; `names` are its placeholders."""

    source: Any
    names: tuple[str, ...]
    render: Callable[[Inputs], Any]

    @classmethod
    def compile(cls, source: Any) -> JsonTemplate:
        names: list[str] = []

        def build(node: Any) -> Callable[[Inputs], Any]:
            if isinstance(node, str):
                whole = PLACEHOLDER.fullmatch(node)
                if whole:
                    names.append(whole.group(1))
                    name = whole.group(1)
                    return lambda inputs: _value(inputs, name)
                text = TextTemplate.compile(node)
                names.extend(text.names)
                return text.render if text.names else (lambda inputs: node)
            if isinstance(node, dict):
                items = [(str(k), build(v)) for k, v in node.items()]
                return lambda inputs: {k: f(inputs) for k, f in items}
            if isinstance(node, list):
                elements = [build(v) for v in node]
                return lambda inputs: [f(inputs) for f in elements]
            return lambda inputs: node

        render = build(source)
        return cls(source, tuple(names), render)
