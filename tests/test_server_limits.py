"""The served process against slow, idle, oversized and departing clients, and its shutdown on SIGTERM.

Each test runs `personalize serve` as a real process and talks raw HTTP/1.1 over sockets on 127.0.0.1.
Waits are on sockets (select with a bound), never a sleep standing in for background work.
"""

from __future__ import annotations

import contextlib
import json
import select
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers.process import serve_process, stop

pytestmark = pytest.mark.slow

CONFIG = """
settings: {bodyTimeoutMs: 400}
projects: [{id: p, clientKey: k}]
experiences:
  - {friendlyId: e, status: active, type: segmented, variants: [{id: v, response: {ok: true}}]}
"""
BODY = b'{"clientKey": "k", "friendlyId": "e"}'


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[Any], str]]:
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    proc, base = serve_process("--config", str(path), "--no-access-log", "--header-timeout", "1")
    yield proc, base
    stop(proc)


def connect(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def read_all(sock: socket.socket, seconds: float = 10) -> bytes:
    """Everything the server sends until it closes the connection (bounded)."""
    sock.settimeout(seconds)
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_idle_and_trickling_connections_are_closed(served: tuple[subprocess.Popen[Any], str]) -> None:
    _, base = served
    idle = [connect(base) for _ in range(40)]
    trickling = [connect(base) for _ in range(40)]
    for sock in trickling:
        sock.sendall(b"POST /v2/callFlows HTTP/1.1\r\nHost: t\r\n")
    open_ = {*idle, *trickling}
    answers: dict[socket.socket, bytes] = {}
    deadline = time.monotonic() + 15  # the head deadline is 1 s: far inside this bound
    while open_ and time.monotonic() < deadline:
        readable, _, _ = select.select(list(open_), [], [], 0.2)
        for sock in readable:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:  # the server answered and closed while this client still sent
                data = b""
            answers[sock] = answers.get(sock, b"") + data
            if not data:
                open_.discard(sock)
        for sock in open_ & set(trickling):
            try:
                sock.sendall(b"X")  # a byte of a header every 0.2 s must not extend the deadline
            except OSError:
                open_.discard(sock)
    assert not open_, f"{len(open_)} connections still open"
    assert all(answers.get(sock, b"") == b"" for sock in idle)  # idle: closed quietly
    assert all(answers.get(sock, b"").startswith(b"HTTP/1.1 408 ") for sock in trickling if sock in answers)
    for sock in idle + trickling:
        sock.close()


def test_an_oversized_head_is_431_and_never_read_whole(served: tuple[subprocess.Popen[Any], str]) -> None:
    _, base = served
    sock = connect(base)
    head = b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 64 * 1024 + b"\r\n\r\n"
    with contextlib.suppress(OSError):  # the server may close before the client has sent it all: the point
        sock.sendall(head)
    answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert b"connection: close" in answer
    sock.close()
    sock = connect(base)  # the server still serves, and a normal head passes
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert read_all(sock).startswith(b"HTTP/1.1 200 ")


def test_a_body_sent_with_its_head_is_not_counted_as_head(served: tuple[subprocess.Popen[Any], str]) -> None:
    """A 40 KB body in the same write as its head (one read for the server) was refused as a 431."""
    _, base = served
    body = b'{"clientKey": "k", "friendlyId": "e", "params": {"pad": "' + b"x" * 40_000 + b'"}}'
    for split in (None, -len(body) - 2, -len(body) - 3):  # the head's blank line whole, or cut by the read
        sock = connect(base)
        request = b"POST /v2/callFlows HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
        request += b"Content-Length: %d\r\n\r\n" % len(body) + body
        if split is None:
            sock.sendall(request)
        else:
            sock.sendall(request[:split])
            sock.sendall(request[split:])
        answer = read_all(sock)
        assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
        assert answer.endswith(b'{"ok":true}')
        sock.close()


def test_a_stalled_body_is_408_naming_the_body(served: tuple[subprocess.Popen[Any], str]) -> None:
    _, base = served
    sock = connect(base)
    sock.sendall(b"POST /v2/callFlows HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n" + BODY[:10])
    answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408 ")
    body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert body["field"] == "(body)" and "did not arrive within 400 ms" in body["developerMessage"]


def test_sigterm_drains_in_flight_requests_flushes_the_log_and_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG.replace("bodyTimeoutMs: 400", "bodyTimeoutMs: 60000"), encoding="utf-8")
    proc, base = serve_process("--config", str(path), "--shutdown-timeout", "3", stdout=subprocess.PIPE)
    try:
        for _ in range(5):
            sock = connect(base)
            sock.sendall(b"POST /v2/callFlows HTTP/1.1\r\nHost: t\r\nConnection: close\r\n")
            sock.sendall(b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY)
            assert read_all(sock).startswith(b"HTTP/1.1 200 ")
        in_flight = connect(base)
        in_flight.sendall(b"POST /v2/callFlows HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(BODY))
        stalled = connect(base)
        stalled.sendall(b"POST /v2/callFlows HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{")
        # The server has both requests (their heads are read): wait until it logs nothing new, by
        # asking it something on a third connection, then stop it.
        probe = connect(base)
        probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        assert read_all(probe).startswith(b"HTTP/1.1 200 ")
        proc.send_signal(signal.SIGTERM)
        in_flight.sendall(BODY)  # the in-flight request completes during the drain, then its connection closes
        assert read_all(in_flight).startswith(b"HTTP/1.1 200 ")
        # The stalled one cannot complete: the shutdown bound (3 s) ends it, not its 60 s body timeout.
        assert proc.wait(timeout=20) == 0
        out, _ = proc.communicate(timeout=5)
        lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        assert sum(1 for line in lines if line.get("path") == "/v2/callFlows" and line.get("status") == 200) == 6
        for sock in (stalled, in_flight):
            sock.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
