"""A real webhook receiver on 127.0.0.1 for the delivery tests: it checks every push's Standard Webhooks
signature with the `standardwebhooks` library, records what crossed the socket, and answers from a script
(a status and headers per request, in order; 200 once the script is used up)."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hmac
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.servers.upstream import free_port, serve

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the Standard Webhooks spec's example secret


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signed: bool  # a signature in webhook-signature verifies with the receiver's secret

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class ReceiverState:
    secrets: tuple[str, ...] = (SECRET,)
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    scripts_by_marker: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Event = field(default_factory=threading.Event)  # set by every request
    slow_paths: dict[str, float] = field(default_factory=dict)  # path -> seconds to wait before answering

    def answer(self, *responses: int | tuple[int, dict[str, str]]) -> None:
        """The next requests' answers, in order."""
        self.script.extend(r if isinstance(r, tuple) else (r, {}) for r in responses)

    def answer_when(self, marker: str, *responses: int | tuple[int, dict[str, str]]) -> None:
        """The next answers to requests whose body holds `marker` (concurrent deliveries arrive in any order)."""
        script = self.scripts_by_marker.setdefault(marker, [])
        script.extend(r if isinstance(r, tuple) else (r, {}) for r in responses)

    def next_answer(self, body: bytes) -> tuple[int, dict[str, str]]:
        for marker, script in self.scripts_by_marker.items():
            if script and marker.encode() in body:
                return script.pop(0)
        return self.script.pop(0) if self.script else (200, {})


def verifies(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a receiver checks, with the library's signing (its verify() also bounds the timestamp to ±5
    minutes of the real clock, which tests that advance a fake clock step past)."""
    when = dt.datetime.fromtimestamp(int(headers["webhook-timestamp"]), tz=dt.UTC)
    expected = Webhook(secret).sign(headers["webhook-id"], when, body.decode()).split(",", 1)[1]
    for candidate in headers.get("webhook-signature", "").split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(base64.b64decode(value), base64.b64decode(expected)):
            return True
    return False


def build_receiver(state: ReceiverState) -> Starlette:
    async def hook(request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        delay = state.slow_paths.get(request.url.path)
        if delay:  # a receiver that hangs: neither recorded nor signalled, so a later test never sees it
            await asyncio.sleep(delay)
            return Response(b"too late", 504)
        signed = "webhook-id" in headers and any(verifies(s, headers, body) for s in state.secrets)
        with state.lock:
            state.received.append(Received(request.url.path, headers, body, signed))
            status, extra = state.next_answer(body)
            state.arrived.set()
        return Response(b'{"ok": true}' if status < 300 else b"nope", status, extra, media_type="application/json")

    return Starlette(routes=[Route("/{path:path}", hook, methods=["POST", "PUT", "PATCH"])])


@dataclass
class RunningReceiver:
    url: str
    state: ReceiverState


def run_receiver() -> Iterator[RunningReceiver]:
    state = ReceiverState()
    port = free_port()
    for _ in serve(build_receiver(state), port):
        yield RunningReceiver(f"http://127.0.0.1:{port}", state)
