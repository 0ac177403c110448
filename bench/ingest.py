"""Event ingestion into the profile store (SQLite, then PostgreSQL), one worker: Segment batches of 100 messages through
/v1/batch, and single Sitecore events through /v1.2/events; every accepted event is committed before its
answer. Baseline in the same run: the service's /healthz (the cost of an answer with no work).

Run: python -m bench.ingest [--seconds 5] [--postgresql URL | --postgresql '']
Load: wrk -t1, Lua scripts giving each message its own ids; 127.0.0.1 only, bounded in time.
- batches: 8 connections, each sending its next batch when the last is answered;
- single events at saturation: 32 connections, each sending its next event when the last is answered: the
  most the service takes, and a latency that is the queue of 32 (32 / throughput, by Little's law);
- single events paced: 64 connections, each waiting a random 0-60 ms (30 on average) after an answer
  before its next event, about 2,000 events/s offered while answers are fast: the latency of a service
  that is not saturated. The wait is random as independent visitors' are: with a fixed 30 ms, clients
  answered by one group commit came back together and kept arriving in bursts (measured: p50 8.3-8.8 ms
  instead of 1.9-2.2 ms at the same ~1,600-2,000 events/s).
  Three paced runs send the same visitors their first, second and third view, because what an event
  costs depends on what it changes: a first view creates the guest; a second changes no segment; a
  third enters the demo's `returning_visitors` segment and fires its push (a delivery written in the
  event's transaction). The third run is the worst case, every event firing a push; each line says how
  many pushes its run made. (Before, one paced run followed the saturated one on the same visitors and
  met their third views by chance: a p99 of 20-40 ms, reported as the single-event latency.)
  Those three runs visit the visitors in the order they were created, which suits the store's
  time-ordered ids (an index on guest refs is walked in order); a fourth run sends events of 4,000
  visitors drawn at random, ~2.5 views each within the run: a mix of new guests, returning visitors and
  pushes, in no particular order.
The demo config runs with its delivery worker off: the deliveries its trigger makes stay in the outbox
(writing them is ingestion; sending them is bench/deliveries.py's).
Published anchor: RudderStack's gateway accepts about 1.7 k events/s on 2 vCPUs (../shared/benchmarks.md).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import uuid
from importlib.metadata import version

import httpx

from service.config import demo_config_path

from .http import Result, measured, run_wrk
from .memory import serve

BATCH_LUA = """
counter = 0
request = function()
  counter = counter + 1
  local messages = {}
  for i = 1, 100 do
    local id = counter .. "-" .. i .. "-" .. math.random(1, 1000000000)
    messages[i] = '{"type":"track","event":"Item Viewed","userId":"u-' .. (counter % 5000) ..
      '","messageId":"m-' .. id .. '","properties":{"sku":"S-' .. i .. '"}}'
  end
  local body = '{"writeKey":"demo","batch":[' .. table.concat(messages, ",") .. ']}'
  return wrk.format("POST", "/v1/batch", {["Content-Type"] = "application/json"}, body)
end
"""
EVENT_LUA = """
counter = 0
request = function()
  counter = counter + 1
  local body = '{"type":"VIEW","browser_id":"PREFIX' .. (counter % 20000) .. '","client_key":"demo","channel":"WEB",' ..
    '"language":"EN","currency":"EUR","page":"home","pos":""}'
  return wrk.format("POST", "/v1.2/events", {["Content-Type"] = "application/json"}, body)
end
"""

PACED = """
function delay()
  return math.random(0, 60)
end
"""


PACED_RUNS = (
    "1st view: creates the guest",
    "2nd view: no segment change",
    "3rd view: segment entry + push",
    "a mix: 4,000 visitors at random",
)


def _events(prefix: str, paced: bool = False, pool: int | None = None) -> str:
    """Single events of visitors `<prefix>0`, `<prefix>1`, …, in order (the same visitors every run), or
    drawn at random from `pool` of them."""
    lua = EVENT_LUA.replace("PREFIX", prefix)
    if pool is not None:
        lua = lua.replace("(counter % 20000)", f"math.random(0, {pool - 1})")
    return lua + (PACED if paced else "")


def pushes(port: int) -> int:
    """Deliveries waiting in the outbox (the demo runs with its worker off: every push made so far)."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return int(sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("personalize_delivery_pending{")))  # fmt: skip


def drained(port: int) -> None:
    """Returns once the requests still in flight from the last run have committed: wrk stops sending, not
    the server working (a PostgreSQL batch takes ~1/3 s), and one event more joins the group after theirs.
    Without it the saturated run's p99 on PostgreSQL included the batches left over: 146-272 ms, not ~21."""
    event = {"type": "VIEW", "browser_id": "drain", "client_key": "demo", "channel": "WEB", "pos": ""}
    httpx.post(f"http://127.0.0.1:{port}/v1.2/events", json=event, timeout=60).raise_for_status()


def _run(pid: int, port: int, seconds: int, connections: int, lua: str | None, path: str = "/healthz") -> Result:
    def load() -> Result:
        return run_wrk(port, seconds, connections, path=path, method="GET", lua=lua)

    result = measured(pid, load)
    if lua is not None:
        drained(port)
    return result


def _serve_args(data: str, backend: str, url: str, schema: str) -> list[str]:
    """The demo, worker off, on SQLite in `data` or on a fresh PostgreSQL schema (settings.storage) of `url`."""
    settings = "settings:\n  triggers: {worker: false}\n"
    if backend == "postgresql":
        settings += f"  storage: {{url: '{url}', schema: {schema}}}\n"
    path = os.path.join(data, f"{backend}.yaml")
    with open(path, "w", encoding="utf-8") as file:
        file.write(demo_config_path().read_text(encoding="utf-8").replace("settings:\n", settings, 1))
    return ["--data-dir", data, "--config", path]


def _backend(data: str, backend: str, url: str, seconds: int) -> tuple[Result, Result, list[tuple[Result, int]]]:
    """The batch, saturated and paced runs on one server; each paced run with the pushes it made."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    proc, port = serve(*_serve_args(data, backend, url, schema))
    try:
        batch = _run(proc.pid, port, seconds, 8, BATCH_LUA)
        single = _run(proc.pid, port, seconds, 32, _events("s-"))
        paced = []
        for run in range(len(PACED_RUNS)):
            lua = _events("p-", paced=True) if run < 3 else _events("m-", paced=True, pool=4000)
            before = pushes(port)
            paced.append((_run(proc.pid, port, seconds, 64, lua), pushes(port) - before))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        if backend == "postgresql":
            import psycopg

            with psycopg.connect(url, autocommit=True) as db:
                db.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return batch, single, paced


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--postgresql", default="postgresql://postgres@127.0.0.1:5432/test",
                        help="the PostgreSQL to measure beside SQLite ('' to skip it)")  # fmt: skip
    args = parser.parse_args()
    seconds = min(args.seconds, 10)
    print(f"python {sys.version.split()[0]}; uvicorn {version('uvicorn')}; cmd: {' '.join(sys.argv)}")
    with tempfile.TemporaryDirectory() as data:
        proc, port = serve("--data-dir", data)
        try:
            base = _run(proc.pid, port, seconds, 32, None)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
        print(
            f"baseline /healthz        {base.rps:8.0f} req/s  p99 {base.p99_ms:6.2f} ms  cpu {base.cpu_us:6.1f} us/req"
        )
        for backend in ("sqlite", "postgresql") if args.postgresql else ("sqlite",):
            batch, single, paced = _backend(data, backend, args.postgresql, seconds)
            print(
                f"{backend:10} /v1/batch (100 a batch) {batch.rps * 100:8.0f} events/s ({batch.rps:.0f} req/s)  "
                f"p99 {batch.p99_ms:6.2f} ms  cpu {batch.cpu_us / 100:6.1f} us/event  non-2xx {batch.errors}"
                "   (target >= 5,000 events/s)"
            )
            print(
                f"{backend:10} /v1.2/events (single)   {single.rps:8.0f} req/s  p99 {single.p99_ms:6.2f} ms  "
                f"cpu {single.cpu_us:6.1f} us/req  non-2xx {single.errors}   (saturated: 32 waiting clients)"
            )
            for label, (run, made) in zip(PACED_RUNS, paced, strict=True):
                print(
                    f"{backend:10} /v1.2/events (paced)    {run.rps:8.0f} req/s  p99 {run.p99_ms:6.2f} ms  "
                    f"cpu {run.cpu_us:6.1f} us/req  non-2xx {run.errors}  {label}: {made / max(run.requests, 1):4.0%} "
                    "pushed   (target >= 2,000 req/s, p99 <= 10 ms)"
                )
        size = os.path.getsize(os.path.join(data, "profiles.sqlite3"))
    print(f"SQLite database after the run: {size / 1e6:.1f} MB; CPU is the service process's only (not the database's)")


if __name__ == "__main__":
    main()
