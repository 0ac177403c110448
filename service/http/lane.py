"""The server's hot lane: the hot path's routes answered from the protocol's parser callbacks, without
uvicorn's request cycle, its task, or ASGI messages (service/http/server.py decides when it applies).

Measured per request on the demo decision (bench/http.py): uvicorn's RequestResponseCycle with its
asyncio.Event, the task that runs the ASGI app, the receive/send messages and the regex checks of every
response header cost more than the edge work they carry. Here a request whose whole body has arrived
runs its handler at the loop's next turn (as uvicorn's task would: sooner measured slower, see the
protocol), without a task: most decisions never suspend, and their answer is written in that same turn.
One that suspends (a guest profile read, a connection node, a store write) continues as a task from
where it stopped, exactly as if it had been a task from the start (`Resumed`: what Python 3.12's eager
tasks do).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Generator
from typing import Any, Generic, TypeVar

from uvicorn.protocols.http.httptools_impl import STATUS_LINE

from .hot_path import Answer, HotPath

MAX_BODY = 65536  # larger or chunked bodies take uvicorn's way, which streams them and checks limits early


Answered = Callable[["LaneCycle", Answer], None]


def find_hot_path(app: Any) -> HotPath | None:
    """The service's hot path, under whatever middleware uvicorn wrapped the app in."""
    for _ in range(8):
        hot = getattr(app, "hot_path", None)
        if isinstance(hot, HotPath):
            return hot
        app = getattr(app, "app", None)
        if app is None:
            return None
    return None


class _NoEvent:
    """uvicorn's connection_lost sets the cycle's message event; a lane has nobody waiting on one."""

    __slots__ = ()

    def set(self) -> None:
        pass


NO_EVENT = _NoEvent()


class LaneCycle:
    """Stands in for uvicorn's RequestResponseCycle where uvicorn looks at `protocol.cycle`: a request
    pipelined behind a lane request is queued until it is answered, a shutdown lets it finish and then
    closes (`keep_alive`), a lost connection marks it `disconnected`."""

    __slots__ = ("body", "disconnected", "keep_alive", "response_complete", "scope")

    response_started = False
    message_event = NO_EVENT

    def __init__(self, scope: Any, keep_alive: bool) -> None:
        self.scope = scope
        self.keep_alive = keep_alive
        self.body: list[bytes] = []
        self.disconnected = False
        self.response_complete = False


class BufferedBody:
    """The ASGI `receive` of a request whose body has been read whole."""

    __slots__ = ("message",)

    def __init__(self, body: bytes) -> None:
        self.message = {"type": "http.request", "body": body, "more_body": False}

    async def __call__(self) -> dict[str, Any]:
        return self.message


Result = TypeVar("Result")


class Resumed(Generic[Result]):
    """Awaiting this continues `coro` from the suspension that yielded `first`: the future it waits on is
    handed to the task, and whatever the task sends or throws goes on to `coro`, as `await` would."""

    __slots__ = ("coro", "first")

    def __init__(self, coro: Coroutine[Any, Any, Result], first: Any) -> None:
        self.coro, self.first = coro, first

    def __await__(self) -> Generator[Any, Any, Result]:
        coro, value = self.coro, self.first
        while True:
            try:
                sent = yield value
            except BaseException as exc:  # cancellation and all: the coroutine decides
                try:
                    value = coro.throw(exc)
                except StopIteration as done:
                    return done.value  # type: ignore[no-any-return]
            else:
                try:
                    value = coro.send(sent)
                except StopIteration as done:
                    return done.value  # type: ignore[no-any-return]


def encode(answer: Answer, default_headers: list[tuple[bytes, bytes]], keep_alive: bool) -> bytes:
    """The response as bytes: status line, the server's default headers (date), the answer's, the body."""
    parts = [STATUS_LINE[answer.status]]
    # uvicorn checks every header for control bytes: here, none can hold one. Names are the service's own;
    # values are the service's or echo a request header, and httptools refuses a request with control
    # bytes in a header (400) before any handler sees it (tests/test_hot_lane.py).
    for headers in (default_headers, answer.headers):
        for name, value in headers:
            parts += (name, b": ", value, b"\r\n")
    if not keep_alive:
        parts.append(b"connection: close\r\n")
    parts += (b"\r\n", answer.body)
    return b"".join(parts)


def start(
    hot: HotPath, found: Any, cycle: LaneCycle, loop: asyncio.AbstractEventLoop, answered: Answered
) -> asyncio.Task[None] | None:
    """Run the route's handler until it answers (`answered` is called, None returned) or first suspends
    (the task that goes on with it and then calls `answered`)."""
    body = cycle.body[0] if len(cycle.body) == 1 else b"".join(cycle.body)
    coro = hot.answer(found, cycle.scope, BufferedBody(body))
    try:
        first = coro.send(None)
    except StopIteration as done:
        answered(cycle, done.value)
        return None
    return loop.create_task(_finish(coro, first, cycle, answered))


async def _finish(coro: Coroutine[Any, Any, Answer], first: Any, cycle: LaneCycle, answered: Answered) -> None:
    answered(cycle, await Resumed(coro, first))
