"""`personalize serve`: uvicorn with the service's protocol limits and a SIGTERM that drains and exits 0."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from typing import Any


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    # The demo's connection calls the sandbox this very process serves.
    os.environ.setdefault("PERSONALIZE_SANDBOX_URL", f"http://{args.host}:{args.port}/sandbox")
    # Fail fast, with every error, before binding the port. With workers, in a child process: the
    # supervisor never imports the service, which only its workers run (75 -> 28 MiB).
    if args.workers > 1:
        if args.config and subprocess.run([sys.executable, "-m", "service", "validate", args.config]).returncode:
            return 2
    else:
        from .commands import load_or_report

        load_or_report(args.config)
    os.environ["PERSONALIZE_CONFIG"] = args.config or ""
    os.environ["PERSONALIZE_ACCESS_LOG"] = "0" if args.no_access_log else "1"
    os.environ["PERSONALIZE_WATCH"] = "1" if args.watch else "0"
    if args.data_dir:
        os.environ["PERSONALIZE_DATA_DIR"] = args.data_dir
    # Read by service.http.server in each worker.
    os.environ["PERSONALIZE_HEADER_TIMEOUT"] = str(args.header_timeout)
    os.environ["PERSONALIZE_MAX_HEADER_BYTES"] = str(args.max_header_bytes)
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Several processes: each writes its metrics here and /metrics merges them.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="personalize-metrics-")
    options: dict[str, Any] = {
        "factory": True,
        "host": args.host,
        "port": args.port,
        "access_log": False,
        "log_level": "info",
        "server_header": False,
        # Nothing reads the client address or scheme X-Forwarded-* would set: skip uvicorn's middleware
        # (measured ~4 us of a ~120 us callFlows request, bench/http.py).
        "proxy_headers": False,
        "http": "service.http.server:GuardedHttpToolsProtocol",
        "timeout_keep_alive": args.keep_alive_timeout,
        "timeout_graceful_shutdown": args.shutdown_timeout,
    }
    if args.workers > 1:  # uvicorn's supervisor; each worker drains on SIGTERM as below
        uvicorn.run("service.app:app_from_env", workers=args.workers, **options)
        return 0
    from ..http.server import DrainingServer

    server = DrainingServer(uvicorn.Config("service.app:app_from_env", **options))
    server.run()
    return 0 if server.started else 3
