"""A connection's one deadline timer (service/http/transport.py) on an injected clock, and the lane's way
of continuing a coroutine that already ran to its first suspension (service/http/lane.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from service.http.lane import Resumed
from service.http.transport import Deadline


class Handle:
    def __init__(self, at: float, callback: Callable[[], None]) -> None:
        self.at, self.callback, self.cancelled = at, callback, False

    def cancel(self) -> None:
        self.cancelled = True


class Clock:
    """The two loop methods Deadline uses, on a clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0
        self.handles: list[Handle] = []

    def time(self) -> float:
        return self.now

    def call_at(self, at: float, callback: Callable[[], None]) -> Handle:
        handle = Handle(at, callback)
        self.handles.append(handle)
        return handle

    def pending(self) -> list[Handle]:
        return [h for h in self.handles if not h.cancelled and h.callback is not None]

    def advance(self, to: float) -> None:
        """Run every timer due by `to`, in order, as the loop would."""
        while True:
            due = sorted((h for h in self.pending() if h.at <= to), key=lambda h: h.at)
            if not due:
                break
            handle = due[0]
            self.now = max(self.now, handle.at)
            self.handles.remove(handle)
            handle.callback()
        self.now = to


def deadline() -> tuple[Deadline, Clock, list[str]]:
    clock = Clock()
    fired: list[str] = []
    loop: Any = clock
    return Deadline(loop), clock, fired


def test_a_deadline_fires_once_when_it_passes() -> None:
    timer, clock, fired = deadline()
    timer.set(5, lambda: fired.append("idle"))
    clock.advance(104.9)
    assert fired == []
    clock.advance(105)
    assert fired == ["idle"]
    clock.advance(200)
    assert fired == ["idle"]


def test_moving_a_deadline_later_touches_no_timer_until_the_old_one_fires() -> None:
    timer, clock, fired = deadline()
    timer.set(5, lambda: fired.append("first"))
    for step in range(1, 50):  # a busy connection: a new deadline on every request
        clock.now = 100 + step * 0.01
        timer.set(5, lambda: fired.append("later"))
    assert len(clock.handles) == 1  # still the first timer
    clock.advance(105)  # it fires early for the current deadline: it waits again, once
    assert fired == [] and len(clock.pending()) == 1
    clock.advance(105.49)
    assert fired == ["later"]


def test_an_earlier_deadline_moves_the_timer() -> None:
    timer, clock, fired = deadline()
    timer.set(10, lambda: fired.append("head"))
    timer.set(0.4, lambda: fired.append("body"))
    clock.advance(100.4)
    assert fired == ["body"]
    clock.advance(120)
    assert fired == ["body"]


def test_a_cleared_deadline_does_nothing_and_cancel_stops_the_timer() -> None:
    timer, clock, fired = deadline()
    timer.set(1, lambda: fired.append("x"))
    timer.clear()
    clock.advance(110)
    assert fired == [] and clock.pending() == []
    timer.set(1, lambda: fired.append("y"))
    timer.cancel()
    assert clock.pending() == []
    clock.advance(120)
    assert fired == []


async def _suspending(future: asyncio.Future[int], log: list[str]) -> int:
    log.append("before")
    try:
        value = await future
    except asyncio.CancelledError:
        log.append("cancelled")
        raise
    except ValueError as exc:
        log.append(f"error {exc}")
        return -1
    log.append("after")
    return value * 2


async def _resume(future: asyncio.Future[int], log: list[str]) -> asyncio.Task[int]:
    coro = _suspending(future, log)
    first = coro.send(None)  # runs to its first suspension, as the lane does in the protocol's callback
    assert log == ["before"] and first is future

    async def go_on() -> int:
        return await Resumed(coro, first)

    return asyncio.get_running_loop().create_task(go_on())


async def test_a_resumed_coroutine_gets_what_it_awaited() -> None:
    log: list[str] = []
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = await _resume(future, log)
    await asyncio.sleep(0)
    assert not task.done()
    future.set_result(21)
    assert await task == 42
    assert log == ["before", "after"]


async def test_a_resumed_coroutine_sees_the_error_it_awaited() -> None:
    log: list[str] = []
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = await _resume(future, log)
    future.set_exception(ValueError("no"))
    assert await task == -1
    assert log == ["before", "error no"]


async def test_cancelling_the_task_cancels_the_resumed_coroutine() -> None:
    log: list[str] = []
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = await _resume(future, log)
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert log == ["before", "cancelled"]
