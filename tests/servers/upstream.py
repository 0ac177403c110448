"""A real HTTP upstream and OAuth2 token server on 127.0.0.1 for the connection tests.

It can be told to delay, fail, return garbage, drip its body, send 50 MB, revoke its tokens, and it
records what it received, so tests assert on the bytes that crossed the socket.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

CLIENT_ID = "cid"
CLIENT_SECRET = "s3cret-value"


@dataclass
class UpstreamState:
    expires_in: int | None = 3600
    token_error: str | None = None
    tokens: set[str] = field(default_factory=set)
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    hits: dict[str, int] = field(default_factory=dict)
    flaky_failures: int = 0
    issued: int = 0

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]


def _client(request: Request, form: dict[str, str]) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    if header.startswith("Basic "):
        user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        return user, secret
    return form.get("client_id"), form.get("client_secret")


def build_app(state: UpstreamState) -> Starlette:
    async def token(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        state.token_requests.append({"headers": dict(request.headers), "form": form})
        if state.token_error:
            return JSONResponse({"error": state.token_error, "error_description": "told to fail"}, 400)
        client_id, secret = _client(request, form)
        if (client_id, secret) != (CLIENT_ID, CLIENT_SECRET) or form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "invalid_client", "error_description": "wrong credentials"}, 401)
        state.issued += 1
        access = f"tok-{state.issued}"
        state.tokens.add(access)
        body: dict[str, Any] = {"access_token": access, "token_type": "Bearer"}
        if state.expires_in is not None:
            body["expires_in"] = state.expires_in
        return JSONResponse(body)

    async def token_echo(request: Request) -> Response:
        """A careless provider: its error quotes the credentials it was sent."""
        form = dict(parse_qsl((await request.body()).decode()))
        client_id, secret = _client(request, form)
        header = request.headers.get("authorization", "")
        return JSONResponse(
            {"error": "invalid_client", "error_description": f"bad {client_id}:{secret} ({header})"}, 401
        )

    async def leak(request: Request) -> Response:
        """An upstream that fails and echoes the request's credentials in its headers and body."""
        seen = request.headers.get("authorization", "")
        headers = {"x-seen-authorization": seen, "set-cookie": "session=abc123"}
        return JSONResponse({"error": f"rejected {seen}"}, 502, headers=headers)

    def authorized(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        return header.startswith("Bearer ") and header[7:] in state.tokens

    async def secure(request: Request) -> Response:
        if not authorized(request):
            return JSONResponse({"error": "unauthorized"}, 401)
        return JSONResponse({"user": request.path_params["user"], "items": [{"sku": "A-1"}, {"sku": "B-2"}]})

    async def echo(request: Request) -> Response:
        body = await request.body()
        return JSONResponse(
            {
                "method": request.method,
                "rawPath": request.scope["raw_path"].decode("latin-1"),
                "query": request.scope["query_string"].decode("latin-1"),
                "params": [[k, v] for k, v in request.query_params.multi_items()],
                "headers": dict(request.headers),
                "body": body.decode("utf-8", "replace"),
            }
        )

    async def count(request: Request) -> Response:
        key = request.query_params.get("key", "")
        state.hits[key] = state.hits.get(key, 0) + 1
        await asyncio.sleep(float(request.query_params.get("delay", "0")))
        return JSONResponse({"key": key, "hits": state.hits[key]})

    async def delay(request: Request) -> Response:
        await asyncio.sleep(float(request.query_params.get("s", "1")))
        return JSONResponse({"late": True})

    async def status(request: Request) -> Response:
        code = int(request.path_params["code"])
        return JSONResponse({"status": code}, code)

    async def garbage(request: Request) -> Response:
        return PlainTextResponse("<html>not json</html>")

    async def drip(request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"items": ['
            for _ in range(50):
                await asyncio.sleep(0.05)
                yield b'"x",'
            yield b'"end"]}'

        return StreamingResponse(chunks(), media_type="application/json")

    async def big(request: Request) -> Response:
        megabytes = int(request.query_params.get("mb", "50"))
        chunk = b"[" + b"0," * 512 * 1024

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(megabytes):
                yield chunk
            yield b"0]"

        return StreamingResponse(chunks(), media_type="application/json")

    async def busy(request: Request) -> Response:
        """429 with a Retry-After of `after` seconds (counted under the key "busy")."""
        state.hits["busy"] = state.hits.get("busy", 0) + 1
        return JSONResponse(
            {"error": "slow down"}, 429, headers={"Retry-After": request.query_params.get("after", "1")}
        )

    async def flaky(request: Request) -> Response:
        state.hits["flaky"] = state.hits.get("flaky", 0) + 1
        if state.flaky_failures > 0:
            state.flaky_failures -= 1
            return JSONResponse({"error": "try again"}, 503)
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[
            Route("/token", token, methods=["POST"]),
            Route("/token-echo", token_echo, methods=["POST"]),
            Route("/leak", leak),
            Route("/secure/{user}", secure, methods=["GET", "POST"]),
            Route("/echo/{rest:path}", echo, methods=["GET", "POST", "PUT"]),
            Route("/count", count),
            Route("/delay", delay),
            Route("/status/{code:int}", status),
            Route("/garbage", garbage),
            Route("/drip", drip),
            Route("/big", big),
            Route("/flaky", flaky, methods=["GET", "POST"]),
            Route("/busy", busy),
        ]
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningUpstream:
    url: str
    state: UpstreamState


def serve(app: Starlette, port: int, **tls: Any) -> Iterator[uvicorn.Server]:
    """Run `app` with uvicorn in a thread until the generator is closed (`tls`: uvicorn's ssl_* options)."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", **tls)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("upstream did not start")
        time.sleep(0.02)
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join(timeout=10)
