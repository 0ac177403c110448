"""A connection's plumbing under the protocol (service/http/server.py): writes gathered into one system
call, and one timer for all of a connection's deadlines."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


class CoalescingTransport:
    """A transport whose writes within one turn of the event loop leave as one: uvicorn writes a response's
    head and body separately, two system calls and often two TCP segments for a 500-byte answer
    (measured ~6 us of CPU a request). Writes are gathered and flushed at the end of the loop's turn, and
    before any close or end of stream, so nothing is reordered or lost; everything else is the transport's.
    """

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] | None = None

    def write(self, data: bytes) -> None:
        if self._pending is None:
            self._pending = [data]
            self._loop.call_soon(self.flush)
        else:
            self._pending.append(data)

    def flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def is_closing(self) -> bool:
        # Called a few times a request: a method here, not a lookup that fails before __getattr__ (an
        # AttributeError made and dropped each time).
        return self._transport.is_closing()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class Deadline:
    """A connection's one pending deadline (its head, its body, its idle time) on one loop timer.

    A request used to set three timers and cancel them (head, body, keep-alive: ~1.8 us each with uvloop,
    ~5 us of a request). Here setting or clearing the deadline writes two attributes; the loop's timer
    is only moved when a deadline comes earlier than the one it waits for, and when it fires before the
    current deadline it waits again, so a busy connection touches the timer about once per timeout.
    """

    __slots__ = ("_action", "_at", "_loop", "_timer", "_timer_at")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._at = 0.0
        self._action: Callable[[], None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0

    def now(self) -> float:
        return self._loop.time()

    def set_at(self, at: float, action: Callable[[], None]) -> None:
        """Call `action` at loop time `at`, instead of whatever was set before."""
        self._at, self._action = at, action
        if self._timer is None or at < self._timer_at:
            if self._timer is not None:
                self._timer.cancel()
            self._timer, self._timer_at = self._loop.call_at(at, self._fire), at

    def set(self, seconds: float, action: Callable[[], None]) -> None:
        self.set_at(self._loop.time() + seconds, action)

    def clear(self) -> None:
        self._action = None

    def cancel(self) -> None:
        self._action = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _fire(self) -> None:
        self._timer = None
        action = self._action
        if action is None:
            return
        if self._loop.time() < self._at:  # moved later since the timer was set: wait for it
            self._timer, self._timer_at = self._loop.call_at(self._at, self._fire), self._at
            return
        self._action = None
        action()
