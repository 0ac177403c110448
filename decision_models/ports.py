"""The narrow interface through which decision models reach the outside world (implemented in connections/).

`decision_models` never opens a socket: a connection node asks a ConnectionPort, and tests give it a fake.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class ConnectionOutcome:
    """What a connection call came to: `ok` with mapped outputs, or a fault `kind` (timeout, refused,
    http_4xx, http_5xx, not_json, oversize, circuit_open, ...) with a detail for the trace."""

    ok: bool
    outputs: Mapping[str, Any] = field(default_factory=dict)
    kind: str = "ok"
    detail: str = ""


class CallOutcome(Protocol):
    """What a port answers: ConnectionOutcome, or any object of the same shape (connections answers its Attempt)."""

    @property
    def ok(self) -> bool: ...

    @property
    def outputs(self) -> Mapping[str, Any]: ...

    @property
    def kind(self) -> str: ...

    @property
    def detail(self) -> str: ...


class ConnectionPort(Protocol):
    def knows(self, name: str) -> bool:
        """Whether a connection of this name (usable by decision models) exists."""
        ...

    async def call(self, name: str, inputs: Mapping[str, Any], seconds: float) -> CallOutcome:
        """Run connection `name` with `inputs`, within `seconds`; never raises for faults."""
        ...
