"""A circuit breaker per connection: closed -> open after N consecutive failures -> half-open after a
pause -> closed again when one probe succeeds (or open again when it fails). The clock is injected."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Breaker:
    failures_to_open: int = 5
    reset_seconds: float = 10.0
    clock: Callable[[], float] = field(default=time.monotonic)
    state: str = "closed"  # closed | open | half_open
    failures: int = 0
    opened_at: float = 0.0
    probing: bool = False

    def allow(self) -> bool:
        """Whether a call may go out now; in half-open only one probe at a time."""
        if self.state == "closed" or self.failures_to_open <= 0:
            return True
        if self.state == "open":
            if self.clock() - self.opened_at < self.reset_seconds:
                return False
            self.state = "half_open"
        if self.probing:
            return False
        self.probing = True
        return True

    def success(self) -> None:
        self.state, self.failures, self.probing = "closed", 0, False

    def failure(self) -> None:
        self.probing = False
        self.failures += 1
        if self.state == "half_open" or (self.failures_to_open > 0 and self.failures >= self.failures_to_open):
            self.state, self.opened_at = "open", self.clock()
