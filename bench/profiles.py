"""callFlows for a known visitor whose profile an audience reads, against the same call with the profile
not loaded; the demo's home_banner decision, driven in-process (no sockets), min of 7 rounds of CPU time.

Run: python -m bench.profiles [--requests 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from typing import Any

from service.app import create_app
from service.config import load_runtime
from service.http.access_log import AccessLog
from service.profiles import Event, ProfileStore

BODY = b'{"clientKey":"demo","friendlyId":"home_banner","browserId":"known-1","params":{"cartValue":120}}'
SCOPE = {
    "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
    "path": "/v2/callFlows", "raw_path": b"/v2/callFlows", "query_string": b"", "root_path": "",
    "headers": [(b"content-type", b"application/json")], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8000),
}  # fmt: skip


def app(reads_guest: bool) -> Any:
    runtime = load_runtime(None)
    object.__setattr__(runtime.projects["demo"].catalog, "reads_guest", reads_guest)  # the one difference
    store = ProfileStore(":memory:")
    asyncio.run(store.record("demo", [("browser", "known-1")], Event("VIEW", 1.0)))
    return create_app(runtime, access_log=AccessLog(stream=open(os.devnull, "wb")), store=store)


async def cpu_us(application: Any, requests: int) -> float:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: Any) -> None:
        pass

    async def one() -> None:
        await application({**SCOPE, "state": {}}, receive, send)

    for _ in range(300):
        await one()
    best = float("inf")
    for _ in range(7):
        started = time.process_time()
        for _ in range(requests):
            await one()
        best = min(best, (time.process_time() - started) / requests * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}; cmd: {' '.join(sys.argv)}")
    without, with_profile = app(False), app(True)
    a = [asyncio.run(cpu_us(without, args.requests)), asyncio.run(cpu_us(without, args.requests))]
    b = [asyncio.run(cpu_us(with_profile, args.requests)), asyncio.run(cpu_us(with_profile, args.requests))]
    print(f"callFlows without a profile   {min(a):6.1f} us CPU a request")
    print(f"callFlows reading the profile {min(b):6.1f} us CPU a request (a cached read of the stored guest)")
    print(f"ratio {min(a) / min(b):.2f} (target >= 0.80)")


if __name__ == "__main__":
    main()
