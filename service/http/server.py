"""The HTTP server: uvicorn, with the limits its httptools protocol lacks and a SIGTERM that exits 0.

GuardedHttpToolsProtocol adds a deadline for a request's head and a head size limit:

uvicorn (0.54, httptools) closes a connection only when it idles between two requests (keep-alive
timeout). A client that connects and sends nothing, or trickles a header a byte at a time, held a
connection forever (0 of 200 such connections closed in 20 s), and a 64 MB header was read whole. Here:
- a request's head (request line and headers) must be complete within `PERSONALIZE_HEADER_TIMEOUT`
  seconds (default 10) of the connection opening or of the previous response: else 408 and close;
  trickling bytes does not extend it;
- a head larger than `PERSONALIZE_MAX_HEADER_BYTES` (default 32768, as nginx's large buffers) is 431
  and close, and is never buffered beyond that.
- a request's body must be complete within `BODY_TIMEOUT` seconds of its head (settings.bodyTimeoutMs,
  set by the worker's app factory when it loads the config): else 408 in the path's error dialect, and the handler
  waiting for the body is told the client left. Here rather than as a timer around every body read in
  the application: that timer cost ~5 us of a ~50 us request (bench/http.py).

The hot lane: the hot path's routes are answered from the parser's callbacks when nothing else is in
flight on the connection (service/http/lane.py); every other request takes uvicorn's way unchanged.
All of a connection's deadlines share one timer (service/http/transport.py: Deadline); uvicorn's
keep-alive timeout is one of them (an idle connection is closed quietly when it passes).

DrainingServer: uvicorn drains on SIGTERM (in-flight requests finish within `timeout_graceful_shutdown`,
then the lifespan shutdown flushes the access log) and then raises the signal again, so the process dies
of SIGTERM (exit status -15 / 143). A drained shutdown is a clean exit here: status 0.
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal
from types import FrameType
from typing import Any

import httptools
import orjson
import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from . import lane
from .errors import ApiError, dialect_for_path, render_error
from .hot_path import Answer
from .transport import CoalescingTransport, Deadline

HEADER_TIMEOUT = float(os.environ.get("PERSONALIZE_HEADER_TIMEOUT", "10"))
MAX_HEADER_BYTES = int(os.environ.get("PERSONALIZE_MAX_HEADER_BYTES", "32768"))
BODY_TIMEOUT = 10.0  # seconds; service.app.app_from_env sets the config's settings.bodyTimeoutMs
LINGER_SECONDS = 2.0


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline = Deadline(self.loop)
        self._head_due = 0.0  # loop time by which the head of the next request must be complete
        self._head_bytes: int | None = 0  # bytes of the current head so far; None once it is complete
        self._head_tail = b""  # the last bytes counted, where the head's blank line may have begun
        self._discarding = False  # refused: what the client still sends is read and dropped until it closes
        self._hot = lane.find_hot_path(self.app)
        self._lane: lane.LaneCycle | None = None  # the hot-lane request whose body is being read
        self._lane_route: Any = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        coalescing: Any = CoalescingTransport(transport, self.loop)
        super().connection_made(coalescing)
        self._await_head(HEADER_TIMEOUT)

    def connection_lost(self, exc: Exception | None) -> None:
        self._deadline.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._discarding:
            return
        before = self._head_bytes
        if before is not None:
            self._head_bytes = before + len(data)
            if self._head_bytes > MAX_HEADER_BYTES and not self._head_ends_within_limit(before, data):
                self._refuse(431, "request header fields too large")
                return
            self._head_tail = data[-3:]
        super().data_received(data)

    def _head_ends_within_limit(self, before: int, data: bytes) -> bool:
        """Whether the head ends in `data` within the limit: a body read with its head is not head (a 40 KiB
        body sent in one write with its head was refused as an oversized head)."""
        window = self._head_tail + data[: MAX_HEADER_BYTES - before + 1]
        return window.find(b"\r\n\r\n") >= 0

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._head_bytes is None:  # a pipelined request: its head counts from here
            self._head_bytes = 0

    def on_headers_complete(self) -> None:
        self._head_bytes = None
        self._head_tail = b""
        has_body = self._take_lane()
        if has_body is None:
            super().on_headers_complete()
            has_body = any(name in (b"content-length", b"transfer-encoding") for name, _ in self.headers)
        if has_body:
            self._deadline.set(BODY_TIMEOUT, self._body_overdue)
        else:
            self._deadline.clear()

    def _take_lane(self) -> bool | None:
        """Take this request into the hot lane (service/http/lane.py) if it is one for it: a hot route,
        nothing in flight or queued before it on this connection, a body of known, small size, nothing
        uvicorn must do first (100-continue, an upgrade, a concurrency limit, a client not reading its
        answers). None when it is not; else whether it has a body to wait for."""
        hot = self._hot
        cycle = self.cycle
        if (
            hot is None
            or (cycle is not None and not cycle.response_complete)
            or self.pipeline
            or self.expect_100_continue
            or self.limit_concurrency is not None
            or self.root_path
            or self.flow.write_paused
            or self.parser.should_upgrade()
        ):
            return None
        target = self.url
        if target[:1] == b"/" and b"#" not in target:  # origin form, as every client sends: split it here
            raw_path, _, query = target.partition(b"?")
        else:
            url = httptools.parse_url(target)
            raw_path, query = url.path, url.query or b""
        method = self.parser.get_method().decode("ascii")
        path = raw_path.decode("latin-1")
        found = hot.handlers.get((method, path))
        if found is None or b"%" in raw_path:
            return None
        has_body = False
        for name, value in self.headers:
            if name == b"content-length":
                if not (value.isdigit() and int(value) <= lane.MAX_BODY):
                    return None
                has_body = True
            elif name == b"transfer-encoding":
                return None
        scope = self.scope
        version = self.parser.get_http_version()
        if version != "1.1":
            scope["http_version"] = version
        scope["method"] = method
        scope["path"] = path
        scope["raw_path"] = raw_path
        scope["query_string"] = query
        self._lane = lane.LaneCycle(scope, version != "1.0" and self.parser.should_keep_alive())
        self._lane_route = found
        self.cycle = self._lane  # type: ignore[assignment]  # what uvicorn checks before starting another
        return has_body

    def on_body(self, body: bytes) -> None:
        if self._lane is not None:
            self._lane.body.append(body)  # at most MAX_BODY: the parser holds the body to its length
        else:
            super().on_body(body)

    def on_message_complete(self) -> None:
        self._deadline.clear()
        cycle = self._lane
        if cycle is None:
            super().on_message_complete()
            return
        self._lane = None
        # Run at the loop's next turn, as uvicorn's task would: answering inside this callback measured
        # slower (~3 us more CPU a request at c=32), each loop turn then reading fewer requests.
        self.loop.call_soon(self._run_lane, cycle, self._lane_route)

    def _run_lane(self, cycle: lane.LaneCycle, route: Any) -> None:
        assert self._hot is not None
        task = lane.start(self._hot, route, cycle, self.loop, self._lane_answered)
        if task is not None:  # it suspended: the server waits for it as for uvicorn's own tasks
            task.add_done_callback(functools.partial(self._lane_done, cycle))
            self.tasks.add(task)

    def _lane_done(self, cycle: lane.LaneCycle, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not cycle.response_complete:  # cancelled (the server is going away without waiting): so does this
            cycle.response_complete = True
            self.transport.close()

    def _lane_answered(self, cycle: lane.LaneCycle, answer: Answer) -> None:
        cycle.response_complete = True
        if not (cycle.disconnected or self.transport.is_closing()):
            self.transport.write(lane.encode(answer, self.server_state.default_headers, cycle.keep_alive))
            if not cycle.keep_alive:
                self.transport.close()
        assert self._hot is not None
        self._hot.finish(cycle.scope, answer)
        self.on_response_complete()

    def _body_overdue(self) -> None:
        self._lane = None
        cycle = self.cycle
        if cycle is None or cycle.response_started or self.transport.is_closing():
            return
        cycle.disconnected = True  # the handler reading the body gets http.disconnect and gives up
        cycle.message_event.set()
        path = self.scope["path"] if self.scope else "/"
        message = f"the body did not arrive within {BODY_TIMEOUT * 1000:.0f} ms"
        self._refuse(408, message, bytes(render_error(dialect_for_path(path), ApiError(408, message, "(body)")).body))

    def on_response_complete(self) -> None:
        # uvicorn's, with its keep-alive timer replaced by the connection's deadline (_await_head).
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:  # the next request has arrived whole: it runs now, no deadline while it does
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        else:
            self._await_head(min(HEADER_TIMEOUT, self.timeout_keep_alive))

    def _await_head(self, idle_seconds: float) -> None:
        """Wait for the next request: closed quietly if nothing of it comes within `idle_seconds` (the
        keep-alive timeout between requests), refused if its head is not whole within HEADER_TIMEOUT."""
        if self._head_bytes is None:
            self._head_bytes = 0
        now = self._deadline.now()
        self._head_due = now + HEADER_TIMEOUT
        self._deadline.set_at(now + idle_seconds, self._head_overdue)

    def _head_overdue(self) -> None:
        if self.transport.is_closing():
            return
        if not self._head_bytes:  # an idle connection: close it quietly, as for keep-alive
            self.transport.close()
        elif self._deadline.now() < self._head_due:  # part of a request came: it has until its head deadline
            self._deadline.set_at(self._head_due, self._head_overdue)
        else:  # tell the client why
            self._refuse(408, "the request head did not arrive in time")

    def _refuse(self, status: int, message: str, body: bytes | None = None) -> None:
        self._deadline.clear()
        if self.transport.is_closing():
            return
        body = body if body is not None else orjson.dumps({"status": status, "message": message})
        self.transport.write(
            b"".join(
                [
                    STATUS_LINE[status],
                    b"content-type: application/json\r\n",
                    b"content-length: " + str(len(body)).encode() + b"\r\n",
                    b"connection: close\r\n\r\n",
                    body,
                ]
            )
        )
        # A lingering close, as nginx does: closing with unread input makes the kernel send a reset, which
        # can destroy the answer before the client reads it. Send FIN after the answer, read and drop what
        # still arrives, and close when the client does or after LINGER_SECONDS.
        self._discarding = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._deadline.set(LINGER_SECONDS, self.transport.close)


class DrainingServer(uvicorn.Server):
    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if sig == signal.SIGTERM:  # drained, not killed: do not die of the signal after the shutdown
            self._captured_signals.remove(sig)
