"""Which HTTP client transport connections ship with: httpx's default, httpx-aiohttp's AiohttpTransport,
and httpx2, against raw aiohttp as the baseline, calling a local upstream at 1, 4 and 32 concurrent calls.

Run: python -m bench.transports [--seconds 3]
The upstream (bench/upstream.py) runs in its own process; each client runs bounded loops for `--seconds`.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from importlib.metadata import version
from typing import Any

import aiohttp
import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def drive(call: Callable[[], Awaitable[Any]], concurrency: int, seconds: float) -> tuple[float, int]:
    done = errors = 0
    stop = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal done, errors
        while time.monotonic() < stop:
            try:
                await call()
                done += 1
            except Exception:
                errors += 1

    cpu = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu_per_call = (time.process_time() - cpu) / max(done, 1) * 1e6
    return done / seconds, int(cpu_per_call) if errors == 0 else -errors


async def run(url: str, concurrency: int, seconds: float) -> dict[str, tuple[float, int]]:
    results: dict[str, tuple[float, int]] = {}
    async with aiohttp.ClientSession() as session:

        async def raw() -> Any:
            async with session.get(url) as response:
                return await response.read()

        results["aiohttp (baseline)"] = await drive(raw, concurrency, seconds)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(limits=limits, timeout=5) as client:
        results["httpx default transport"] = await drive(lambda: client.get(url), concurrency, seconds)
    from httpx_aiohttp import AiohttpTransport

    async with httpx.AsyncClient(transport=AiohttpTransport(limits=limits), timeout=5) as client:
        results["httpx + httpx-aiohttp transport"] = await drive(lambda: client.get(url), concurrency, seconds)
    try:
        import httpx2

        async with httpx2.AsyncClient(timeout=5) as client2:
            results["httpx2"] = await drive(lambda: client2.get(url), concurrency, seconds)
    except ImportError:
        results["httpx2 (not installed)"] = (0.0, 0)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3)
    args = parser.parse_args()
    port = free_port()
    upstream = subprocess.Popen([sys.executable, "-m", "bench.upstream", str(port)])
    try:
        time.sleep(1.5)
        url = f"http://127.0.0.1:{port}/recs"
        print(
            f"python {sys.version.split()[0]}; httpx {version('httpx')}, httpx-aiohttp {version('httpx-aiohttp')}, "
            f"aiohttp {version('aiohttp')}; cmd: {' '.join(sys.argv)}"
        )
        for concurrency in (1, 4, 32):
            results = asyncio.run(run(url, concurrency, args.seconds))
            base = results["aiohttp (baseline)"][0]
            for name, (rps, cpu) in results.items():
                cpu_text = f"{cpu} us CPU/call" if cpu >= 0 else f"{-cpu} ERRORS"
                print(f"  c={concurrency:<3d} {name:34s} {rps:8.0f} calls/s  {cpu_text:>18s}  x{rps / base:.2f}")
    finally:
        upstream.terminate()
        upstream.wait(timeout=10)


if __name__ == "__main__":
    main()
