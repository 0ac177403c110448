"""The outbox under a crash: a served process delivering 10,000 triggered pushes to a receiver that fails
30 % of requests is killed with SIGKILL mid-run and started again. No delivery is lost, and every message
that arrived more than once carried the same webhook-id each time."""

from __future__ import annotations

import random
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.servers.process import serve_process, stop
from tests.servers.receiver import SECRET, verifies
from tests.servers.upstream import free_port, serve

ORDERS = 10_000
BATCH = 100
CONFIG = """
projects: [{id: crash, clientKey: crash, segmentWriteKeys: [crash-key]}]
connections:
  - id: sink
    kind: destination
    baseUrl: "%(url)s"
    method: POST
    path: /sink
    signing: {secrets: ["%(secret)s"]}
    timeouts: {connectMs: 1000, readMs: 2000, totalMs: 2500}
    breaker: {failures: 0}
    delivery:
      concurrency: 64
      scheduleS: [0.05, 0.1, 0.2, 0.4, 0.8, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
triggers:
  - id: every_order
    when: {event: Order}
    destination: sink
    payload: {order: "${event.data.properties.n}"}
"""


@dataclass
class Sink:
    """Fails 30 % of requests (seeded); records, per order, every webhook-id it saw and whether one succeeded."""

    random: random.Random = field(default_factory=lambda: random.Random(7))
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: dict[int, set[str]] = field(default_factory=dict)
    accepted: set[int] = field(default_factory=set)
    unsigned: int = 0
    enough: threading.Event = field(default_factory=threading.Event)  # a third accepted: time to kill
    done: threading.Event = field(default_factory=threading.Event)  # every order accepted

    def app(self) -> Starlette:
        async def sink(request: Request) -> Response:
            body = await request.body()
            headers = {k.lower(): v for k, v in request.headers.items()}
            order = int(orjson.loads(body)["order"])
            with self.lock:
                self.unsigned += not verifies(SECRET, headers, body)
                self.ids.setdefault(order, set()).add(headers["webhook-id"])
                if self.random.random() < 0.3:
                    return Response(b"try again", 503)
                self.accepted.add(order)
                if len(self.accepted) >= ORDERS // 3:
                    self.enough.set()
                if len(self.accepted) == ORDERS:
                    self.done.set()
            return Response(b"{}", 200, media_type="application/json")

        return Starlette(routes=[Route("/sink", sink, methods=["POST"])])


@pytest.fixture
def sink() -> Iterator[tuple[Sink, str]]:
    state, port = Sink(), free_port()
    for _ in serve(state.app(), port):
        yield state, f"http://127.0.0.1:{port}"


@pytest.mark.slow
def test_sigkill_mid_delivery_loses_nothing_and_duplicates_keep_their_id(
    tmp_path: Path, sink: tuple[Sink, str]
) -> None:
    state, url = sink
    config = tmp_path / "crash.yaml"
    config.write_text(CONFIG % {"url": url, "secret": SECRET}, encoding="utf-8")
    served = ("--no-access-log", "--config", str(config), "--data-dir", str(tmp_path / "data"))
    proc, base = serve_process(*served)
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            for start in range(0, ORDERS, BATCH):
                batch = [
                    {"type": "track", "event": "Order", "userId": f"u-{n % 500}", "properties": {"n": n}}
                    for n in range(start, start + BATCH)
                ]
                r = client.post("/v1/batch", json={"writeKey": "crash-key", "batch": batch})
                assert r.status_code == 200, r.text  # durable: committed before the answer
        assert state.enough.wait(120), f"only {len(state.accepted)} accepted"
    finally:
        proc.send_signal(signal.SIGKILL)  # mid-run: deliveries in flight, leased, pending
        proc.wait(timeout=10)
    killed_at = len(state.accepted)
    assert killed_at < ORDERS, "the run ended before the kill: nothing was tested"
    proc, base = serve_process(*served)  # the same database: its worker finishes what is owed
    try:
        assert state.done.wait(180), f"{ORDERS - len(state.accepted)} orders never accepted"
    finally:
        stop(proc)
    assert state.accepted == set(range(ORDERS))  # none lost
    assert all(len(ids) == 1 for ids in state.ids.values())  # every retry and re-send: one webhook-id
    assert state.unsigned == 0
