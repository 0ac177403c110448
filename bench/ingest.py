"""Event ingestion into the embedded SQLite store, one worker: Segment batches of 100 messages through
/v1/batch, and single Sitecore events through /v1.2/events; every accepted event is committed before its
answer. Baseline in the same run: the service's /healthz (the cost of an answer with no work).

Run: python -m bench.ingest [--seconds 5]
Load: wrk -t1 -c8 (batches) and -c32 (single events), Lua scripts giving each message its own ids;
127.0.0.1 only, bounded in time. Published anchor: RudderStack's gateway accepts about 1.7 k events/s on
2 vCPUs (../shared/benchmarks.md).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
from importlib.metadata import version

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
  local body = '{"type":"VIEW","browser_id":"b-' .. (counter % 20000) .. '","client_key":"demo","channel":"WEB",' ..
    '"language":"EN","currency":"EUR","page":"home","pos":""}'
  return wrk.format("POST", "/v1.2/events", {["Content-Type"] = "application/json"}, body)
end
"""


def _run(pid: int, port: int, seconds: int, connections: int, lua: str | None, path: str = "/healthz") -> Result:
    def load() -> Result:
        return run_wrk(port, seconds, connections, path=path, method="GET", lua=lua)

    return measured(pid, load)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    seconds = min(args.seconds, 10)
    print(f"python {sys.version.split()[0]}; uvicorn {version('uvicorn')}; sqlite (stdlib); cmd: {' '.join(sys.argv)}")
    with tempfile.TemporaryDirectory() as data:
        proc, port = serve("--data-dir", data)
        try:
            base = _run(proc.pid, port, seconds, 32, None)
            batch = _run(proc.pid, port, seconds, 8, BATCH_LUA)
            single = _run(proc.pid, port, seconds, 32, EVENT_LUA)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
        size = os.path.getsize(os.path.join(data, "profiles.sqlite3"))
    print(f"baseline /healthz        {base.rps:8.0f} req/s  p99 {base.p99_ms:6.2f} ms  cpu {base.cpu_us:6.1f} us/req")
    print(
        f"/v1/batch (100 a batch)  {batch.rps * 100:8.0f} events/s ({batch.rps:.0f} req/s)  p99 {batch.p99_ms:6.2f} ms"
        f"  cpu {batch.cpu_us / 100:6.1f} us/event  non-2xx {batch.errors}   (target >= 5,000 events/s)"
    )
    print(
        f"/v1.2/events (single)    {single.rps:8.0f} req/s  p99 {single.p99_ms:6.2f} ms  cpu {single.cpu_us:6.1f} "
        f"us/req  non-2xx {single.errors}   (target >= 2,000 req/s, p99 <= 10 ms)"
    )
    print(f"database after the run: {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
