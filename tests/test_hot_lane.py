"""The server's hot lane (service/http/lane.py) against a real `personalize serve` over raw sockets: order
of pipelined answers, answers alike to the routed way, HTTP/1.0 and Connection: close, bodies the lane
leaves to uvicorn (chunked, large, 100-continue), headers with control bytes, and the
quiet close of an idle keep-alive connection.

Waits are on sockets with a bound, never a sleep standing in for the server's work.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from tests.servers.process import serve_process, stop

pytestmark = pytest.mark.slow

BANNER = b'{"clientKey":"demo","friendlyId":"home_banner","browserId":"b-lane","params":{"firstName":"Ana"}}'
EVENT = b'{"type":"VIEW","browser_id":"b-lane","client_key":"demo","channel":"WEB","pos":"p","page":"home"}'
VARYING = {b"date", b"x-decision-id", b"server-timing"}


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    proc, url = serve_process("--no-access-log", "--keep-alive-timeout", "1")
    yield url
    stop(proc)


def connect(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def post(path: str, body: bytes, *headers: bytes, version: bytes = b"1.1") -> bytes:
    head = [b"POST " + path.encode() + b" HTTP/" + version, b"Host: t", b"Content-Type: application/json"]
    head += [b"Content-Length: %d" % len(body), *headers]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


Answer = tuple[int, dict[bytes, bytes], bytes]


class Reader:
    """HTTP/1.1 answers read off a socket one by one, by their Content-Length."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buffer = sock, b""

    def _more(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buffer += chunk
        return bool(chunk)

    def answer(self) -> Answer:
        while b"\r\n\r\n" not in self.buffer:
            assert self._more(), f"closed before a whole head: {self.buffer!r}"
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ")[1])
        headers: dict[bytes, bytes] = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get(b"content-length", b"0"))
        while len(self.buffer) < length:
            assert self._more(), "closed before the whole body"
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return status, headers, body

    def closed(self) -> bool:
        """Whether the server closes the connection with nothing more to say (bounded by the socket timeout)."""
        try:
            return not self._more() and not self.buffer
        except ConnectionResetError:
            return True


def exchange(base: str, *requests: bytes) -> tuple[list[Answer], Reader]:
    sock = connect(base)
    sock.sendall(b"".join(requests))  # one write: the requests are pipelined
    reader = Reader(sock)
    return [reader.answer() for _ in requests], reader


def test_pipelined_answers_come_in_order(base: str) -> None:
    # The event suspends on the profile store; what follows it waits its turn, routed or hot.
    answers, reader = exchange(
        base,
        post("/v1.2/events", EVENT),
        post("/v2/callFlows", BANNER),
        b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n",
        post("/v2/callFlows", BANNER.replace(b"home_banner", b"loyalty_offer")),
        post("/v2/callFlows", BANNER, b"Connection: close"),
    )
    assert [status for status, _, _ in answers] == [201, 200, 200, 200, 200]
    assert json.loads(answers[0][2])["ref"]
    assert json.loads(answers[1][2])["banner"]["title"]
    assert json.loads(answers[2][2])["status"] == "ok"
    assert json.loads(answers[3][2])["offer"]["code"] == "WELCOME5"
    assert answers[4][1][b"connection"] == b"close"
    assert reader.closed()


def test_the_lane_answers_as_routing_does(base: str) -> None:
    """/v2/callFlows is the lane's; the legacy /v2/callFlows/{flowRef} form of the same call is routed."""
    (lane, routed), _ = exchange(
        base,
        post("/v2/callFlows", BANNER, b"Origin: https://shop.example", b"x-sc-correlation-id: c-1"),
        post("/v2/callFlows/home_banner", BANNER, b"Origin: https://shop.example", b"x-sc-correlation-id: c-1"),
    )
    assert lane[0] == routed[0] == 200
    assert lane[2] == routed[2]
    assert {k: v for k, v in lane[1].items() if k not in VARYING} == {
        k: v for k, v in routed[1].items() if k not in VARYING
    }
    assert lane[1].keys() == routed[1].keys()
    assert lane[1][b"x-sc-correlation-id"] == b"c-1"
    assert lane[1][b"access-control-allow-origin"] == b"https://shop.example"


def test_http_1_0_is_answered_and_closed(base: str) -> None:
    (answer,), reader = exchange(base, post("/v2/callFlows", BANNER, version=b"1.0"))
    assert answer[0] == 200 and answer[1][b"connection"] == b"close"
    assert reader.closed()


def test_bodies_the_lane_leaves_to_uvicorn(base: str) -> None:
    chunked = (
        b"POST /v2/callFlows HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"%x\r\n" % len(BANNER)
        + BANNER
        + b"\r\n0\r\n\r\n"
    )
    large = post("/v2/callFlows", b'{"clientKey":"demo","pad":"' + b"x" * 70_000 + b'"}')
    answers, _ = exchange(base, chunked, large)
    assert answers[0][0] == 200 and b"banner" in answers[0][2]
    assert answers[1][0] == 413
    sock = connect(base)  # as curl does: the head, then the body once the server says to go on
    request = post("/v2/callFlows", BANNER, b"Expect: 100-continue")
    sock.sendall(request.removesuffix(BANNER))
    reader = Reader(sock)
    assert reader.answer()[0] == 100
    sock.sendall(BANNER)
    status, _, body = reader.answer()
    assert status == 200 and b"banner" in body


@pytest.mark.parametrize("header", [b"x-sc-correlation-id: a\x01b", b"Origin: https://shop.example\x7f"])
def test_a_header_with_control_bytes_is_refused_before_any_handler(base: str, header: bytes) -> None:
    """What the lane relies on to write echoed header values unchecked (uvicorn would drop the connection
    rather than send one holding control bytes)."""
    (answer,), _ = exchange(base, post("/v2/callFlows", BANNER, header))
    assert answer[0] == 400


def test_an_idle_keep_alive_connection_is_closed_quietly(base: str) -> None:
    (answer,), reader = exchange(base, post("/v2/callFlows", BANNER))
    assert answer[0] == 200
    assert reader.closed()  # --keep-alive-timeout 1, well inside the socket's 10 s timeout


def test_a_client_leaving_mid_request_leaves_the_server_serving(base: str) -> None:
    for _ in range(20):
        sock = connect(base)
        sock.sendall(post("/v1.2/events", EVENT) + post("/v2/callFlows", BANNER))
        sock.close()  # before the answers: the event is mid-write, the call queued behind it
    (answer,), _ = exchange(base, post("/v2/callFlows", BANNER))
    assert answer[0] == 200
