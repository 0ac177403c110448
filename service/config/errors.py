"""Config errors: every problem names its file and the path inside it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


def format_path(loc: Iterable[str | int]) -> str:
    """('experiences', 2, 'variants', 0, 'weight') -> 'experiences[2].variants[0].weight'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}"


class ConfigError(Exception):
    """One or more config problems; `str()` lists them all, one a line."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))
