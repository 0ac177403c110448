"""The baseline for a live connection call: a bare aiohttp server that, per request, calls the upstream
with a pooled aiohttp client and returns its JSON. Run: python -m bench.passthrough PORT UPSTREAM_URL"""

from __future__ import annotations

import sys

import aiohttp
from aiohttp import web


def main() -> None:
    upstream = sys.argv[2]

    async def start(app: web.Application) -> None:
        app["session"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256))

    async def stop(app: web.Application) -> None:
        await app["session"].close()

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        async with request.app["session"].get(upstream, params={"tier": "gold"}) as response:
            body = await response.read()
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_post("/v1/personalize", handle)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
