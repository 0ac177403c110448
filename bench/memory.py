"""Memory of a served worker: RSS idle, and after N requests from N distinct visitors (nothing per visitor
may accumulate: bucketing is stateless and caches are bounded). Also the supervisor of `--workers 2`.

Run: python -m bench.memory [--requests 100000]
Load: wrk -t1 -c32 with a Lua script giving every request its own browserId, until N requests are served
(bounded by a time limit); 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

import httpx

from .http import BODY, PATH, free_port

LUA = """
counter = 0
request = function()
  counter = counter + 1
  local body = '{"clientKey":"demo","friendlyId":"home_banner","browserId":"visitor-' .. counter .. '-' ..
    math.random(1, 1000000000) .. '","params":{"cartValue":120}}'
  return wrk.format("POST", "/v2/callFlows", {["Content-Type"] = "application/json"}, body)
end
"""


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def serve(*extra: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    cmd = [sys.executable, "-m", "service", "serve", "--port", str(port), "--no-access-log", *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.post(f"http://127.0.0.1:{port}{PATH}", content=BODY, timeout=1).status_code == 200:
                return proc, port
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the service did not start")


def served(port: int) -> int:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    return int(sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("personalize_http_requests_total{")))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100_000)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}; cmd: {' '.join(sys.argv)}")
    proc, port = serve()
    try:
        idle = rss_mib(proc.pid)
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(LUA)
        stop = time.monotonic() + 60  # bounded, whatever the machine's speed
        while served(port) < args.requests and time.monotonic() < stop:
            subprocess.run(
                ["wrk", "-t1", "-c32", "-d3s", "-s", script.name, f"http://127.0.0.1:{port}"],
                capture_output=True,
                check=True,
                timeout=30,
            )
        os.unlink(script.name)
        print(
            f"one worker: RSS idle {idle:.1f} MiB; after {served(port):,} distinct visitors {rss_mib(proc.pid):.1f} MiB"
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    proc, port = serve("--workers", "2")
    try:
        time.sleep(2)  # the workers finish starting after the first answer; the supervisor does not grow
        workers = [rss_mib(int(pid)) for pid in os.popen(f"pgrep -P {proc.pid} -f spawn_main").read().split()]
        sizes = ", ".join(f"{w:.1f}" for w in workers)
        print(f"--workers 2: supervisor RSS {rss_mib(proc.pid):.1f} MiB, workers {sizes} MiB")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)


if __name__ == "__main__":
    main()
