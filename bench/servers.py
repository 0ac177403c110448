"""Servers the HTTP benchmarks start: the bare Starlette floor app, and the service itself."""

from __future__ import annotations

import time

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

# ~500 bytes of JSON, the size of a typical personalized response.
FLOOR_RESPONSE = orjson.dumps(
    {
        "banner": {
            "title": "Free shipping on orders over 50 EUR",
            "image": "/img/hero-shipping.jpg",
            "cta": "Start shopping",
            "subtitle": "Only this week, on every order placed from the web shop or the mobile app.",
        },
        "variant": "hero_free_shipping",
        "offers": [{"ref": f"offer-{i}", "name": f"Offer number {i}", "discountPercent": 5 * i} for i in range(4)],
        "utm": {"source": "google", "campaign": "autumn"},
    }
)


async def floor(request: Request) -> Response:
    """Parse the same body the service parses, return a constant ~500-byte JSON."""
    body = orjson.loads(await request.body())
    if not isinstance(body, dict):
        return Response(b"{}", 400, media_type="application/json")
    return Response(FLOOR_RESPONSE, 200, media_type="application/json")


floor_app = Starlette(routes=[Route("/v1/personalize", floor, methods=["POST"])])


class Receiver:
    """A webhook receiver as small as one can be (raw ASGI): answers 200 to every POST, remembers when each
    payload's `n` arrived (wall clock, comparable across processes), and reports with GET."""

    def __init__(self) -> None:
        self.arrivals: dict[int, float] = {}
        self.count = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] == "GET":
            arrivals = self.arrivals if scope["path"] == "/arrivals" else {}
            body = orjson.dumps({"count": self.count, "arrivals": arrivals}, option=orjson.OPT_NON_STR_KEYS)
            await send({"type": "http.response.start", "status": 200, "headers": JSON_HEADERS})
            await send({"type": "http.response.body", "body": body})
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        self.count += 1
        try:
            n = orjson.loads(b"".join(chunks)).get("n")
        except (orjson.JSONDecodeError, AttributeError):
            n = None
        if isinstance(n, int):
            self.arrivals.setdefault(n, time.time())
        await send({"type": "http.response.start", "status": 200, "headers": JSON_HEADERS})
        await send({"type": "http.response.body", "body": b"{}"})


JSON_HEADERS = [(b"content-type", b"application/json")]
receiver_app = Receiver()
