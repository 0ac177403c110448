"""Triggered deliveries: how fast one worker process pushes signed deliveries, how soon an accepted event's
push arrives, and what a matching trigger adds to ingestion. One run, ratios against baselines measured in it.

1. Throughput: N events are ingested with the worker off (so the outbox holds N deliveries), then
   `personalize worker` alone drains it to a local receiver. Baseline: a bare aiohttp sender in its own
   process posting the same number of Standard-Webhooks-signed bodies to the same receiver at the same
   concurrency. Figures: deliveries/s and the sender's CPU µs per delivery (from the first arrival to the
   last), alternated rounds.
2. Latency: single events at an idle pace through `personalize serve` with its worker; accepted (the 2xx
   read by the client) → received (the receiver's clock), p50 / p99.
3. Ingestion cost: /v1/batch (100 events a batch, wrk) with a trigger matching every event against the
   same config without it, worker off; events/s and CPU µs per event, alternated.

Run: python -m bench.deliveries [--events 10000] [--rounds 2] [--seconds 5]
127.0.0.1 only; every process it starts it stops.
"""

from __future__ import annotations

import argparse
import functools
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import httpx

from .http import Result, cpu_seconds, free_port, measured, run_wrk

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
CONCURRENCY = 32
CONFIG = """
settings:
  triggers: {worker: %(worker)s}
projects: [{id: bench, clientKey: bench, segmentWriteKeys: [bench-key]}]
connections:
  - id: sink
    kind: destination
    baseUrl: "http://127.0.0.1:%(port)d"
    method: POST
    path: /hook
    signing: {secrets: ["%(secret)s"]}
    breaker: {failures: 0}
    delivery: {concurrency: %(concurrency)d}
triggers:
%(triggers)s
"""
TRIGGER = """  - id: every_order
    when: {event: Order}
    destination: sink
    payload: {n: "${event.data.properties.n}", user: "${event.data.userId}"}"""
BATCH_LUA = """
counter = 0
request = function()
  counter = counter + 1
  local messages = {}
  for i = 1, 100 do
    messages[i] = '{"type":"track","event":"Order","userId":"u-' .. ((counter * 100 + i) % 5000) ..
      '","properties":{"n":' .. (counter * 100 + i) .. '}}'
  end
  local body = '{"writeKey":"bench-key","batch":[' .. table.concat(messages, ",") .. ']}'
  return wrk.format("POST", "/v1/batch", {["Content-Type"] = "application/json"}, body)
end
"""
BARE_SENDER = """
import asyncio, datetime as dt, sys, aiohttp, orjson
from standardwebhooks.webhooks import Webhook
url, n, concurrency, secret = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
async def main():
    queue = list(range(n))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        async def worker():
            while queue:
                i = queue.pop()
                body = orjson.dumps({"n": i, "user": "u-1"})
                ts = int(dt.datetime.now(dt.timezone.utc).timestamp())
                sig = Webhook(secret).sign(f"msg_{i}", dt.datetime.fromtimestamp(ts, dt.timezone.utc), body.decode())
                headers = {"content-type": "application/json", "webhook-id": f"msg_{i}",
                           "webhook-timestamp": str(ts), "webhook-signature": sig}
                async with session.post(url, data=body, headers=headers) as r:
                    await r.read()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
asyncio.run(main())
"""


def _receiver() -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "bench.servers:receiver_app", "--loop", "uvloop", "--http", "httptools",
           "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"]  # fmt: skip
    proc = subprocess.Popen(cmd)
    _wait(lambda: httpx.get(f"http://127.0.0.1:{port}/count", timeout=1).status_code == 200)
    return proc, port


def _wait(ready: object, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if ready():  # type: ignore[operator]
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.02)
    raise SystemExit("timed out")


def _count(port: int) -> int:
    return int(httpx.get(f"http://127.0.0.1:{port}/count", timeout=5).json()["count"])


def _config(directory: str, receiver: int, worker: bool, trigger: bool = True) -> str:
    path = os.path.join(directory, f"bench-{worker}-{trigger}.yaml")
    triggers = TRIGGER if trigger else "  []"
    text = CONFIG % {"worker": str(worker).lower(), "port": receiver, "secret": SECRET, "concurrency": CONCURRENCY,
                     "triggers": triggers}  # fmt: skip
    Path(path).write_text(text.replace("triggers:\n  []", "triggers: []"), encoding="utf-8")
    return path


def _serve(config: str, data: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    cmd = [sys.executable, "-m", "service", "serve", "--port", str(port), "--no-access-log", "--config", config,
           "--data-dir", data]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _wait(lambda: httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200)
    return proc, port


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


def _drain(cmd: list[str], receiver: int, expected: int) -> Result:
    """Start a sender process; deliveries/s and its CPU per delivery between the first and the last arrival."""
    start_count = _count(receiver)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    try:
        _wait(lambda: _count(receiver) > start_count, 60)
        began, cpu0, first = time.perf_counter(), cpu_seconds(proc.pid), _count(receiver)
        _wait(lambda: _count(receiver) >= start_count + expected, 300)
        elapsed, cpu = time.perf_counter() - began, cpu_seconds(proc.pid) - cpu0
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    sent = start_count + expected - first
    return Result(sent / elapsed, 0.0, 0.0, 0, sent, cpu / max(sent, 1) * 1e6)


def throughput(directory: str, receiver: int, events: int) -> tuple[Result, Result]:
    data = tempfile.mkdtemp(dir=directory)
    config = _config(directory, receiver, worker=False)
    proc, port = _serve(config, data)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            for start in range(0, events, 100):
                batch = [{"type": "track", "event": "Order", "userId": f"u-{n % 500}", "properties": {"n": n}}
                         for n in range(start, min(start + 100, events))]  # fmt: skip
                client.post("/v1/batch", json={"writeKey": "bench-key", "batch": batch}).raise_for_status()
    finally:
        _stop(proc)
    worker = [sys.executable, "-m", "service", "worker", "--config", config, "--data-dir", data]
    bare = [sys.executable, "-c", BARE_SENDER, f"http://127.0.0.1:{receiver}/hook", str(events), str(CONCURRENCY),
            SECRET]  # fmt: skip
    return _drain(bare, receiver, events), _drain(worker, receiver, events)


def latency(directory: str, receiver: int, count: int = 200) -> list[float]:
    proc, port = _serve(_config(directory, receiver, worker=True), tempfile.mkdtemp(dir=directory))
    accepted: dict[int, float] = {}
    offset = 10_000_000  # payload numbers of their own, apart from the throughput rounds'
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            for n in range(offset, offset + count):
                body = {"writeKey": "bench-key", "type": "track", "event": "Order", "userId": "u-idle",
                        "properties": {"n": n}}  # fmt: skip
                client.post("/v1/track", json=body).raise_for_status()
                accepted[n] = time.time()
                time.sleep(0.02)  # an idle queue: one event at a time, well apart
        _wait(lambda: len(_arrivals(receiver, offset)) >= count, 30)
    finally:
        _stop(proc)
    arrivals = _arrivals(receiver, offset)
    return [(arrivals[n] - at) * 1000 for n, at in accepted.items()]


def _arrivals(receiver: int, offset: int) -> dict[int, float]:
    got = httpx.get(f"http://127.0.0.1:{receiver}/arrivals", timeout=10).json()["arrivals"]
    return {int(n): at for n, at in got.items() if int(n) >= offset}


def ingestion(directory: str, receiver: int, seconds: int) -> tuple[Result, Result]:
    results = {}
    for trigger in (False, True):
        proc, port = _serve(
            _config(directory, receiver, worker=False, trigger=trigger), tempfile.mkdtemp(dir=directory)
        )
        try:
            results[trigger] = measured(
                proc.pid, functools.partial(run_wrk, port, seconds, 8, path="/v1/batch", lua=BATCH_LUA)
            )
        finally:
            _stop(proc)
    return results[False], results[True]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}; aiohttp {version('aiohttp')}; standardwebhooks "
          f"{version('standardwebhooks')}; cmd: {' '.join(sys.argv)}")  # fmt: skip
    with tempfile.TemporaryDirectory() as directory:
        receiver, port = _receiver()
        try:
            for round_ in range(1, args.rounds + 1):
                bare, worker = throughput(directory, port, args.events)
                print(f"round {round_}: bare signed sender {bare.rps:7.0f}/s cpu {bare.cpu_us:6.1f} us/delivery | "
                      f"personalize worker {worker.rps:7.0f}/s cpu {worker.cpu_us:6.1f} us/delivery | "
                      f"ratio {worker.rps / bare.rps:.2f}   (target >= 2,000 deliveries/s)")  # fmt: skip
            ms = sorted(latency(directory, port))
            q = statistics.quantiles(ms, n=100)
            print(f"accepted -> received, idle queue ({len(ms)} events): p50 {q[49]:.1f} ms  p99 {q[98]:.1f} ms  "
                  f"max {ms[-1]:.1f} ms   (target p99 <= 50 ms)")  # fmt: skip
            for round_ in range(1, args.rounds + 1):
                plain, triggered = ingestion(directory, port, min(args.seconds, 10))
                print(f"round {round_}: /v1/batch without trigger {plain.rps * 100:7.0f} events/s "
                      f"cpu {plain.cpu_us / 100:5.1f} us/event | with a matching trigger "
                      f"{triggered.rps * 100:7.0f} events/s cpu {triggered.cpu_us / 100:5.1f} us/event | "
                      f"ratio {triggered.rps / plain.rps:.2f}")  # fmt: skip
        finally:
            _stop(receiver)


if __name__ == "__main__":
    main()
