"""`personalize serve` as a real process on a free 127.0.0.1 port, for tests that need the whole server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

import httpx

from tests.servers.upstream import free_port


def serve_process(*args: str, stdout: Any = subprocess.DEVNULL) -> tuple[subprocess.Popen[Any], str]:
    """Start `personalize serve --port <free> *args` and wait until /healthz answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PROMETHEUS_MULTIPROC_DIR", "PERSONALIZE_SANDBOX_URL")}
    env.setdefault("PERSONALIZE_DATA_DIR", tempfile.mkdtemp(prefix="personalize-data-"))  # not the user's
    proc = subprocess.Popen(
        [sys.executable, "-m", "service", "serve", "--port", str(port), *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=env,
        text=stdout is not subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=0.5).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
        if proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"the server did not start: {proc.communicate()[1]}")


def stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
