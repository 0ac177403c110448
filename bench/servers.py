"""Servers the HTTP benchmarks start: the bare Starlette floor app, and the service itself."""

from __future__ import annotations

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

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
