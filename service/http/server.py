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

DrainingServer: uvicorn drains on SIGTERM (in-flight requests finish within `timeout_graceful_shutdown`,
then the lifespan shutdown flushes the access log) and then raises the signal again, so the process dies
of SIGTERM (exit status -15 / 143). A drained shutdown is a clean exit here: status 0.
"""

from __future__ import annotations

import asyncio
import os
import signal
from types import FrameType
from typing import Any

import orjson
import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from .errors import ApiError, dialect_for_path, render_error

HEADER_TIMEOUT = float(os.environ.get("PERSONALIZE_HEADER_TIMEOUT", "10"))
MAX_HEADER_BYTES = int(os.environ.get("PERSONALIZE_MAX_HEADER_BYTES", "32768"))
BODY_TIMEOUT = 10.0  # seconds; service.app.app_from_env sets the config's settings.bodyTimeoutMs
LINGER_SECONDS = 2.0


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

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_bytes: int | None = 0  # bytes of the current head so far; None once it is complete
        self._head_tail = b""  # the last bytes counted, where the head's blank line may have begun
        self._discarding = False  # refused: what the client still sends is read and dropped until it closes
        self._body_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        coalescing: Any = CoalescingTransport(transport, self.loop)
        super().connection_made(coalescing)
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        self._stop_body_timer()
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
        self._stop_head_timer()
        self._head_bytes = None
        self._head_tail = b""
        super().on_headers_complete()
        if any(name in (b"content-length", b"transfer-encoding") for name, _ in self.headers):
            self._body_timer = self.loop.call_later(BODY_TIMEOUT, self._body_overdue)

    def on_message_complete(self) -> None:
        self._stop_body_timer()
        super().on_message_complete()

    def _stop_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _body_overdue(self) -> None:
        self._body_timer = None
        cycle = self.cycle
        if cycle is None or cycle.response_started or self.transport.is_closing():
            return
        cycle.disconnected = True  # the handler reading the body gets http.disconnect and gives up
        cycle.message_event.set()
        path = self.scope["path"] if self.scope else "/"
        message = f"the body did not arrive within {BODY_TIMEOUT * 1000:.0f} ms"
        self._refuse(408, message, bytes(render_error(dialect_for_path(path), ApiError(408, message, "(body)")).body))

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._await_head()

    def _await_head(self) -> None:
        self._stop_head_timer()
        self._head_bytes = 0
        self._head_timer = self.loop.call_later(HEADER_TIMEOUT, self._head_overdue)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_overdue(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self._head_bytes:  # part of a request arrived: tell the client why
            self._refuse(408, "the request head did not arrive in time")
        else:  # an idle connection: close it quietly, as for keep-alive
            self.transport.close()

    def _refuse(self, status: int, message: str, body: bytes | None = None) -> None:
        self._stop_head_timer()
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
        self._head_timer = self.loop.call_later(LINGER_SECONDS, self.transport.close)


class DrainingServer(uvicorn.Server):
    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if sig == signal.SIGTERM:  # drained, not killed: do not die of the signal after the shutdown
            self._captured_signals.remove(sig)
