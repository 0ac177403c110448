"""Connection benchmarks (the Connections issue), each against a baseline measured in the same run.

Run: python -m bench.connections [--seconds 5]
  1. one live connection call per request: the service vs a bare aiohttp pass-through to the same
     local upstream (wrk -t1 -c32); target >= 0.80 of its throughput;
  2. latency added over the upstream at 1 concurrent call (wrk -c1): target <= 2 ms at p99;
  3. the same call answered from the response cache vs the demo's home_banner: target >= 0.90;
  4. 1,000 concurrent identical calls -> upstream calls made (target 1);
  5. 10,000 calls over a token's lifetime -> token fetches (target 1).
Needs wrk (apt-get install -y wrk).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx

from bench.http import BODY, free_port, run_wrk
from connections import Connections
from service.config import load_runtime

CONFIG = """
management: {tokens: [bench]}
projects: [{id: bench, clientKey: bench, contextIds: [bench]}]
connections:
  - {id: live, baseUrl: "${env:UPSTREAM}", path: /recs, query: {tier: "${tier}"}, breaker: {failures: 0},
     outputs: {items: {path: "$.items", type: list}}}
  - {id: cached, baseUrl: "${env:UPSTREAM}", path: /recs, query: {tier: "${tier}"}, cacheTtlS: 600,
     outputs: {items: {path: "$.items", type: list}}}
  - {id: delayed, baseUrl: "${env:UPSTREAM}", path: /recs, query: {delay: "0.3"}, timeouts: {totalMs: 5000}}
  - id: oauth
    baseUrl: "${env:UPSTREAM}"
    path: /recs
    query: {n: "${n}"}
    auth: {type: oauth2_client_credentials, tokenUrl: "${env:UPSTREAM}/token", clientId: bench, clientSecret: s}
decisionModels:
  - id: live_model
    variants: [{id: v, status: production, weight: 10000, nodes: [
      {id: r, kind: connection, connection: live, inputs: {tier: params.tier}},
      {id: out, kind: output, value: r.items}]}]
  - id: cached_model
    variants: [{id: v, status: production, weight: 10000, nodes: [
      {id: r, kind: connection, connection: cached, inputs: {tier: params.tier}},
      {id: out, kind: output, value: r.items}]}]
experiences:
  - {friendlyId: live_recs, status: active, type: segmented,
     variants: [{id: v, decisionModels: [live_model], response: {items: "${decisions.live_model.out}"}}]}
  - {friendlyId: cached_recs, status: active, type: segmented,
     variants: [{id: v, decisionModels: [cached_model], response: {items: "${decisions.cached_model.out}"}}]}
"""


# Every request asks for another tier, so no two live calls are identical and none are coalesced.
VARYING = """
counter = 0
request = function()
  counter = counter + 1
  local body = '{"clientKey":"","friendlyId":"live_recs","channel":"WEB","browserId":"b' .. counter ..
    '","params":{"tier":"t' .. counter .. '"}}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
response = function(status, headers, body)
  if status ~= 200 and not reported then
    print("first non-2xx answer: " .. status .. " " .. body)
    reported = true
  end
end
"""


def free_ports(count: int) -> list[int]:
    """Distinct free ports (held open together, so the kernel cannot hand out one twice)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def body(friendly_id: str) -> bytes:
    return BODY.replace(b'"friendlyId":"home_banner"', f'"friendlyId":"{friendly_id}"'.encode()).replace(
        b'"params":{', b'"params":{"tier":"gold",'
    )


def start(cmd: list[str], env: dict[str, str], port: int, probe: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, **env})
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}{probe}", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{cmd} did not start: {proc.communicate()[1].decode()[-2000:]}")


def service(port: int, config: str, upstream: str) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "service.app:app_from_env",
        "--factory",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    env = {
        "PERSONALIZE_CONFIG": config,
        "PERSONALIZE_ACCESS_LOG": "1",
        "UPSTREAM": upstream,
        "PERSONALIZE_SANDBOX_URL": f"http://127.0.0.1:{port}/sandbox",
    }
    proc = start(cmd, env, port, "/healthz")
    served = httpx.get(f"http://127.0.0.1:{port}/readyz").json()["config"]
    expected = config or "(embedded demo)"
    if served != expected:  # another process answered on this port
        proc.kill()
        raise SystemExit(f"port {port} answers for {served}, not {expected}")
    return proc


async def in_process(config: str, upstream: str) -> None:
    runtime = load_runtime(config, env={**os.environ, "UPSTREAM": upstream})
    connections: Connections = runtime.connections  # type: ignore[assignment]
    async with httpx.AsyncClient() as client:
        await client.get(f"{upstream}/stats", params={"reset": "1"})
        results = await asyncio.gather(*(connections.call("delayed", {}, 5.0) for _ in range(1000)))
        stats = (await client.get(f"{upstream}/stats")).json()
        ok = sum(r.ok for r in results)
        print(f"4. 1,000 concurrent identical calls: {ok} ok, upstream calls {stats['recs']} (target 1)")
        await client.get(f"{upstream}/stats", params={"reset": "1"})
        for batch in range(100):
            await asyncio.gather(*(connections.call("oauth", {"n": f"{batch}-{i}"}, 5.0) for i in range(100)))
        stats = (await client.get(f"{upstream}/stats")).json()
        print(
            f"5. 10,000 calls within one token lifetime: token fetches {stats['token']} (target 1), "
            f"upstream calls {stats['recs']}"
        )
    await connections.aclose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    seconds = min(args.seconds, 10)
    print(f"python {sys.version.split()[0]}; cmd: {' '.join(sys.argv)}")
    with tempfile.TemporaryDirectory() as folder:
        config = str(Path(folder) / "bench.yaml")
        Path(config).write_text(textwrap.dedent(CONFIG), encoding="utf-8")
        up_port = free_port()
        upstream = f"http://127.0.0.1:{up_port}"
        procs = [start([sys.executable, "-m", "bench.upstream", str(up_port)], {}, up_port, "/stats")]
        try:
            pass_port, svc_port, demo_port = free_ports(3)
            print(f"   ports: upstream {up_port}, pass-through {pass_port}, service {svc_port}, demo {demo_port}")
            procs.append(
                start(
                    [sys.executable, "-m", "bench.passthrough", str(pass_port), f"{upstream}/recs"], {}, pass_port, "/"
                )
            )
            procs.append(service(svc_port, config, upstream))
            procs.append(service(demo_port, "", upstream))
            path = "/v1/personalize?sitecoreContextId=bench"
            for port in (pass_port, svc_port):
                run_wrk(port, 1, 32, path, lua=VARYING)  # warm-up
            rounds: dict[str, list[float]] = {"passthrough": [], "service": []}
            for _ in range(2):
                rounds["passthrough"].append(run_wrk(pass_port, seconds, 32, path, lua=VARYING).rps)
                result = run_wrk(svc_port, seconds, 32, path, lua=VARYING)
                if result.errors:
                    print(f"   the service answered {result.errors} non-2xx")
                rounds["service"].append(result.rps)
            p, s = statistics.median(rounds["passthrough"]), statistics.median(rounds["service"])
            print(
                f"1. live call per request, c=32: aiohttp pass-through {p:.0f} req/s, service {s:.0f} req/s, "
                f"ratio {s / p:.2f} (target >= 0.80)  rounds {rounds}"
            )
            direct = run_wrk(up_port, seconds, 1, "/recs?tier=gold", b"", method="GET")
            via = run_wrk(svc_port, seconds, 1, path, lua=VARYING)
            print(
                f"2. c=1 p99: upstream direct {direct.p99_ms:.2f} ms, through the service {via.p99_ms:.2f} ms, "
                f"added {via.p99_ms - direct.p99_ms:.2f} ms (target <= 2 ms); p50 added "
                f"{via.p50_ms - direct.p50_ms:.2f} ms"
            )
            demo_path = "/v1/personalize?sitecoreContextId=demo"
            run_wrk(demo_port, 1, 32, demo_path, BODY)
            home = run_wrk(demo_port, seconds, 32, demo_path, BODY)
            cached = run_wrk(svc_port, seconds, 32, path, body("cached_recs"))
            print(
                f"3. cached call: {cached.rps:.0f} req/s vs home_banner {home.rps:.0f} req/s, ratio "
                f"{cached.rps / home.rps:.2f} (target >= 0.90)"
            )
            asyncio.run(in_process(config, upstream))
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=10)


if __name__ == "__main__":
    main()
