"""The demo's triggered experience end to end in a served process: three page views put a visitor in the
returning_visitors segment, the worker inside `personalize serve` pushes the segment-entry payload, signed,
to the sandbox's webhook receiver, which verifies the signature with the standardwebhooks library; the
delivery log and the CLI show it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from service.cli import main
from service.config import demo_config_path
from tests.servers.process import serve_process, stop

MANAGEMENT = {"Authorization": "Bearer demo-management-token"}


@pytest.mark.slow
def test_the_demo_pushes_a_segment_entry_to_its_receiver(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    proc, base = serve_process("--no-access-log", "--data-dir", str(tmp_path))
    try:
        for _ in range(3):
            view = {"type": "VIEW", "browser_id": "b-push", "client_key": "demo", "page": "home"}
            assert httpx.post(f"{base}/v1.2/events", json=view).status_code == 201
        received: list[dict[str, object]] = []
        deadline = time.monotonic() + 20  # the delivery is made by the server's own worker, within its poll
        while not received and time.monotonic() < deadline:
            received = httpx.get(f"{base}/sandbox/webhooks").json()
            if not received:
                time.sleep(0.05)
        [push] = received
        assert push["verified"] is True
        payload = push["payload"]
        assert isinstance(payload, dict)
        assert payload["newMatchedSegments"] == [{"segmentId": "returning_visitors"}]
        assert payload["trigger"]["id"] == "welcome_back_push"
        [logged] = httpx.get(f"{base}/management/deliveries", headers=MANAGEMENT).json()
        assert logged["id"] == push["webhookId"] and logged["status"] == "delivered"
    finally:
        stop(proc)
    assert main(["deliveries", "list", "--data-dir", str(tmp_path)]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["id"] == push["webhookId"] and listed["attempts"] == 1
    assert main(["deliveries", "replay", "msg_nope", "--data-dir", str(tmp_path)]) == 1
    assert main(["deliveries", "replay", listed["id"], "--data-dir", str(tmp_path)]) == 0
    assert main(["deliveries", "show", listed["id"], "--data-dir", str(tmp_path)]) == 0
    assert '"status": "pending"' in capsys.readouterr().out
    # The visitor entered the segment a moment ago: the daily frequency holds a second push back.
    argv = ["preview-trigger", "VIEW", "--identity", "browser:b-push", "--entered", "returning_visitors"]
    assert main([*argv, "--data-dir", str(tmp_path)]) == 0
    [verdict] = json.loads(capsys.readouterr().out)["triggers"]
    assert verdict["fires"] is False and verdict["why"].startswith("frequency day: it fired")


@pytest.mark.slow
def test_personalize_worker_delivers_what_serve_left_in_the_outbox(tmp_path: Path) -> None:
    config = tmp_path / "demo-no-worker.yaml"
    demo = demo_config_path().read_text(encoding="utf-8")
    config.write_text(demo.replace("settings:\n", "settings:\n  triggers: {worker: false}\n", 1), encoding="utf-8")
    data = ("--data-dir", str(tmp_path / "data"))
    proc, base = serve_process("--no-access-log", "--config", str(config), *data)
    try:
        for _ in range(3):
            view = {"type": "VIEW", "browser_id": "b-later", "client_key": "demo", "page": "home"}
            assert httpx.post(f"{base}/v1.2/events", json=view).status_code == 201
        [pending] = httpx.get(f"{base}/management/deliveries", headers=MANAGEMENT).json()
        assert pending["status"] == "pending"  # no worker in this server
        env = {**os.environ, "PERSONALIZE_SANDBOX_URL": f"{base}/sandbox"}  # the receiver this server runs
        worker = subprocess.Popen([sys.executable, "-m", "service", "worker", "--config", str(config), *data], env=env)
        try:
            received: list[dict[str, object]] = []
            deadline = time.monotonic() + 30  # the worker is another process: bounded polling of what it did
            while not received and time.monotonic() < deadline:
                received = httpx.get(f"{base}/sandbox/webhooks").json()
                if not received:
                    time.sleep(0.05)
        finally:
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=15) == 0  # stops cleanly on SIGTERM
        [push] = received
        assert push["verified"] is True and push["webhookId"] == pending["id"]
    finally:
        stop(proc)
