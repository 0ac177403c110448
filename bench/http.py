"""The service against a bare Starlette floor app, same load, same run (../shared/benchmarks.md).

Run: python -m bench.http [--seconds 5] [--rounds 2] [--connections 32] [--server uvicorn|granian]
Each server runs as one uvicorn process (uvloop, httptools, no uvicorn access log); the service keeps its
own JSON access log on, written to /dev/null. Load: wrk -t1, alternated floor / service, medians quoted.
`--server granian` serves the service with granian instead (`pip install granian`; ASGI, one worker, one
runtime thread, uvloop), the floor staying on uvicorn; CPU is the granian worker's, its I/O thread included.
Without wrk, a bounded Python client is used instead and said so (its numbers are not comparable).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version

import httpx

BODY = (
    b'{"channel":"WEB","clientKey":"","currencyCode":"EUR","friendlyId":"home_banner","guestRef":"G",'
    b'"language":"EN","params":{"utm":{"source":"google","campaign":"x"},"firstName":"Ana"},'
    b'"pointOfSale":"","browserId":"a38b230c-11eb-4cf9-8d5d-274e9f344925"}'
)
PATH = "/v1/personalize?sitecoreContextId=demo&siteId=bench"
MANIFEST_LUA = (
    'wrk.method = "GET"\nwrk.headers["x-project-uid"] = "demo"\n'
    'wrk.headers["x-cs-personalize-user-uid"] = "a38b230c-11eb-4cf9-8d5d-274e9f344925"\nwrk.path = "/manifest"\n'
)


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int = 0
    cpu_us: float = 0.0  # the server's user+sys CPU time per request served (the stable figure)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/PID/stat fields 14 and 15, in clock ticks)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(pid: int, run: Callable[[], Result]) -> Result:
    """`run`, with the server's CPU time per request it served."""
    before = cpu_seconds(pid)
    result = run()
    spent = cpu_seconds(pid) - before
    result.cpu_us = spent / max(result.requests, 1) * 1e6
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(kind: str, port: int, server: str = "uvicorn") -> subprocess.Popen[bytes]:
    common = ["--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"]
    if kind == "service" and server == "granian":
        granian = os.path.join(os.path.dirname(sys.executable), "granian")
        cmd = [granian, "--interface", "asgi", "--workers", "1", "--runtime-threads", "1", "--loop", "uvloop"]
        cmd += [*common, "--factory", "service.app:app_from_env"]
        env = {**os.environ, "PERSONALIZE_ACCESS_LOG": "1", "PERSONALIZE_CONFIG": ""}
    elif kind == "floor":
        cmd = [sys.executable, "-m", "uvicorn", "bench.servers:floor_app", "--loop", "uvloop", "--http", "httptools"]
        cmd += common
        env = dict(os.environ)
    else:
        # The service as `personalize serve` runs it: its own httptools protocol (service/http/server.py), no
        # server header, no proxy-headers middleware.
        cmd = [sys.executable, "-m", "uvicorn", "service.app:app_from_env", "--factory", "--loop", "uvloop"]
        cmd += ["--http", os.environ.get("BENCH_SERVICE_HTTP", "service.http.server:GuardedHttpToolsProtocol"), *common]
        cmd += ["--no-server-header", "--no-proxy-headers"]
        env = {**os.environ, "PERSONALIZE_ACCESS_LOG": "1", "PERSONALIZE_CONFIG": ""}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            r = httpx.post(f"http://127.0.0.1:{port}{PATH}", content=BODY, timeout=1)
            if r.status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{kind} did not start: {proc.communicate()[1].decode()[-2000:]}")


def _worker_pid(pid: int) -> int:
    """The process that serves: granian's worker is a child of the process started; uvicorn serves itself."""
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return int(children[0]) if children else pid


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(
    port: int,
    seconds: int,
    connections: int,
    path: str = PATH,
    body_bytes: bytes = BODY,
    method: str = "POST",
    lua: str | None = None,
) -> Result:
    """wrk against 127.0.0.1:port; `lua` replaces the default script (one fixed body)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        body = body_bytes.decode().replace("\\", "\\\\").replace('"', '\\"')
        script.write(
            lua or f'wrk.method = "{method}"\nwrk.body = "{body}"\nwrk.headers["Content-Type"] = "application/json"\n'
        )
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                script.name,
                f"http://127.0.0.1:{port}{path}",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 30,
        ).stdout
    finally:
        os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    for line in out.splitlines():
        if line.startswith("first non-2xx answer"):
            print("   ", line[:300])
    socket_errors = re.search(r"Socket errors: .*", out)
    if socket_errors:
        print("   ", socket_errors.group(0))
    return Result(rps, p50, p99, int(errors.group(1)) if errors else 0, requests)


async def _python_load(port: int, seconds: int, connections: int) -> Result:
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(limits=limits, base_url=f"http://127.0.0.1:{port}") as client:

        async def worker() -> None:
            nonlocal errors
            while time.monotonic() < stop:
                t = time.perf_counter()
                r = await client.post(PATH, content=BODY, headers={"Content-Type": "application/json"})
                latencies.append((time.perf_counter() - t) * 1000)
                errors += r.status_code != 200

        await asyncio.gather(*(worker() for _ in range(connections)))
    q = statistics.quantiles(latencies, n=100)
    return Result(len(latencies) / seconds, q[49], q[98], errors, len(latencies))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--server", choices=("uvicorn", "granian"), default="uvicorn", help="what serves the service")
    args = parser.parse_args()
    seconds = min(args.seconds, 10)
    have_wrk = shutil.which("wrk") is not None
    print(
        f"python {sys.version.split()[0]}; starlette {version('starlette')}, uvicorn {version('uvicorn')}, "
        f"uvloop {version('uvloop')}, httptools {version('httptools')}, pydantic {version('pydantic')}, "
        f"orjson {version('orjson')}, datalogic-py {version('datalogic-py')}"
    )
    if args.server == "granian":
        print(f"service served by granian {version('granian')}")
    print(
        f"load: {'wrk -t1' if have_wrk else 'Python httpx client (wrk missing: apt-get install -y wrk)'} "
        f"-c{args.connections} -d{seconds}s, {args.rounds} rounds alternated; cmd: {' '.join(sys.argv)}"
    )
    results: dict[str, list[Result]] = {"floor": [], "service": [], "manifest": []}
    servers = {kind: (port := free_port(), start(kind, port, args.server)) for kind in ("floor", "service")}
    worker = {kind: _worker_pid(proc.pid) for kind, (_, proc) in servers.items()}
    try:
        for port, _ in servers.values():  # warm-up
            if have_wrk:
                run_wrk(port, 1, args.connections)
            else:
                asyncio.run(_python_load(port, 1, 4))
        for _ in range(args.rounds):
            for kind, (port, _) in servers.items():

                def load(port: int = port) -> Result:
                    if have_wrk:
                        return run_wrk(port, seconds, args.connections)
                    return asyncio.run(_python_load(port, seconds, args.connections))

                r = measured(worker[kind], load)
                results[kind].append(r)
                print(
                    f"  {kind:8s} {r.rps:9.0f} req/s  p50 {r.p50_ms:6.2f} ms  p99 {r.p99_ms:6.2f} ms  "
                    f"cpu {r.cpu_us:6.1f} us/req  non-2xx {r.errors}"
                )
            if have_wrk:  # Contentstack's GET /manifest on the same service (every demo experience decided)
                port = servers["service"][0]

                def manifest(port: int = port) -> Result:
                    return run_wrk(port, seconds, args.connections, lua=MANIFEST_LUA)

                r = measured(worker["service"], manifest)
                results["manifest"].append(r)
                print(f"  manifest {r.rps:9.0f} req/s  p50 {r.p50_ms:6.2f} ms  p99 {r.p99_ms:6.2f} ms  "
                      f"cpu {r.cpu_us:6.1f} us/req  non-2xx {r.errors}")  # fmt: skip
    finally:
        for _, proc in servers.values():
            proc.terminate()
            proc.wait(timeout=10)
    med = {
        k: (
            statistics.median(r.rps for r in v),
            statistics.median(r.p50_ms for r in v),
            statistics.median(r.p99_ms for r in v),
            statistics.median(r.cpu_us for r in v),
        )
        for k, v in results.items()
        if v
    }
    for kind, (rps, p50, p99, cpu) in med.items():
        print(f"median {kind:8s} {rps:9.0f} req/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  cpu {cpu:6.1f} us/req")
    ratio = med["service"][0] / med["floor"][0]
    cpu_ratio = med["floor"][3] / med["service"][3]
    print(
        f"service / floor throughput: {ratio:.2f}; floor / service CPU per request: {cpu_ratio:.2f} "
        f"(target >= 0.80); service p99 {med['service'][2]:.2f} ms (target <= 5 ms at c=32)"
    )
    if "manifest" in med:
        print(
            f"GET /manifest / floor throughput: {med['manifest'][0] / med['floor'][0]:.2f}; floor / manifest CPU "
            f"per request: {med['floor'][3] / med['manifest'][3]:.2f} (target >= 0.50)"
        )


if __name__ == "__main__":
    main()
