"""Response fields mapped to named outputs by JSONPath (jsonpath-ng, parsed once at load), typed, with defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jsonpath_ng import JSONPath
from jsonpath_ng.exceptions import JSONPathError
from jsonpath_ng.ext.parser import parse as parse_jsonpath

_TYPES: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "object": dict,
    "list": list,
}


class MappingError(ValueError):
    """A JSONPath that does not parse; the message quotes it."""


@dataclass(frozen=True, slots=True)
class OutputMapping:
    name: str
    path: str
    type: str
    default: Any
    expression: JSONPath

    @classmethod
    def compile(cls, name: str, path: str, type_: str = "any", default: Any = None) -> OutputMapping:
        try:
            expression = parse_jsonpath(path)
        except (JSONPathError, Exception) as exc:  # jsonpath-ng also raises bare Exceptions on parse errors
            raise MappingError(f"output '{name}': {path!r} is not a JSONPath: {exc}") from None
        return cls(name, path, type_, default, expression)

    def extract(self, document: Any) -> tuple[Any, str | None]:
        """The mapped value, or the default with the reason it was used (absent, mistyped)."""
        found = [m.value for m in self.expression.find(document)]
        if not found:
            return self.default, "absent"
        value = found[0] if len(found) == 1 else found
        expected = _TYPES.get(self.type)
        if expected is None:
            return value, None
        if isinstance(value, bool) and self.type in ("integer", "number"):
            return self.default, f"{self.type} expected, got boolean"
        if not isinstance(value, expected):
            return self.default, f"{self.type} expected, got {type(value).__name__}"
        return value, None


def map_outputs(mappings: tuple[OutputMapping, ...], document: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """All outputs, and for each one that fell back to its default, why."""
    outputs: dict[str, Any] = {}
    defaulted: dict[str, str] = {}
    for mapping in mappings:
        value, why = mapping.extract(document)
        outputs[mapping.name] = value
        if why is not None:
            defaulted[mapping.name] = why
    return outputs, defaulted


def as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
