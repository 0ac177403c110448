"""A small JSON upstream for the connection benchmarks (aiohttp.web), run as its own process.

Run: python -m bench.upstream PORT
GET/POST /recs answers ~300 bytes of JSON; POST /token answers an OAuth2 token.
"""

from __future__ import annotations

import asyncio
import sys

from aiohttp import web

BODY = (
    b'{"items":[{"sku":"A-1","score":0.93},{"sku":"B-2","score":0.88},{"sku":"C-3","score":0.71},'
    b'{"sku":"D-4","score":0.64}],"model":"bench","version":3,"explain":{"features":["tier","cart"],'
    b'"note":"a typical recommendation payload of about three hundred bytes"}}'
)


COUNTS = {"recs": 0, "token": 0}


async def recs(request: web.Request) -> web.Response:
    await request.read()
    COUNTS["recs"] += 1
    delay = float(request.query.get("delay", "0"))
    if delay:
        await asyncio.sleep(delay)
    return web.Response(body=BODY, content_type="application/json")


async def token(request: web.Request) -> web.Response:
    await request.read()
    COUNTS["token"] += 1
    return web.json_response({"access_token": "bench-token", "token_type": "Bearer", "expires_in": 3600})


async def stats(request: web.Request) -> web.Response:
    if request.query.get("reset"):
        COUNTS.update(recs=0, token=0)
    return web.json_response(COUNTS)


def main() -> None:
    app = web.Application()
    app.router.add_route("*", "/recs", recs)
    app.router.add_post("/token", token)
    app.router.add_get("/stats", stats)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
