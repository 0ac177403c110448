"""One connection call: auth, send, bounded read, classification; retries with backoff for safe calls.

Every fault is an outcome with a kind (connections/faults.py), never an exception to the caller.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx
import orjson

from .connection import BuiltRequest, Connection
from .faults import TRANSIENT, FaultKind
from .mapping import map_outputs
from .tokens import TokenError, TokenManager

RAW_BODY_LIMIT = 4096  # bytes of the raw body kept for the test endpoint


@dataclass(slots=True)
class Attempt:
    """What one call came to: the outcome, and what a person debugging it needs to see."""

    ok: bool
    kind: FaultKind
    detail: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)
    defaulted: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    raw_body: bytes = b""
    ms: float = 0.0
    attempts: int = 1
    retry_after_401: bool = False


def _fault(kind: FaultKind, detail: str, **extra: Any) -> Attempt:
    return Attempt(False, kind, detail, **extra)


async def _read_bounded(response: httpx.Response, limit: int) -> bytes | None:
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def send_once(
    client: httpx.AsyncClient, connection: Connection, built: BuiltRequest, seconds: float, tokens: TokenManager | None
) -> Attempt:
    """One attempt within `seconds`, including the token fetch; a 401 the auth scheme can answer (a fresh
    token) is retried exactly once."""
    started = time.perf_counter()
    retried = False
    while True:
        headers = dict(built.headers)
        token = None
        try:
            async with asyncio.timeout(seconds - (time.perf_counter() - started)):
                token = await connection.auth.apply(headers, tokens)
                timeout = httpx.Timeout(connection.timeouts.read, connect=connection.timeouts.connect)
                request = client.build_request(
                    built.method, built.url, headers=headers, content=built.content, timeout=timeout
                )
                response = await client.send(request, stream=True)
                try:
                    body = await _read_bounded(response, connection.max_bytes)
                finally:
                    await response.aclose()
        except TokenError as exc:
            return _fault(FaultKind.TOKEN_ERROR, f"token endpoint: {exc}", ms=_ms(started))
        except (TimeoutError, httpx.TimeoutException) as exc:
            # httpx-aiohttp 0.2 maps a refused connection to ConnectTimeout (its exception table prefers
            # the ClientConnectionError entry); the aiohttp cause tells them apart.
            cause = exc.__cause__
            if isinstance(cause, aiohttp.ClientConnectionError) and not isinstance(cause, aiohttp.ServerTimeoutError):
                return _fault(FaultKind.REFUSED, f"cannot connect: {cause}"[:300], ms=_ms(started))
            return _fault(FaultKind.TIMEOUT, _timeout_detail(exc, connection, seconds), ms=_ms(started))
        except httpx.ConnectError as exc:
            return _fault(FaultKind.REFUSED, f"cannot connect: {exc}"[:300], ms=_ms(started))
        except httpx.HTTPError as exc:
            return _fault(FaultKind.REFUSED, f"{type(exc).__name__}: {exc}"[:300], ms=_ms(started))
        status = response.status_code
        if status == 401 and not retried and connection.auth.refused(tokens, token):
            retried = True
            continue
        return classify(connection, status, dict(response.headers), body, started, retried)


def _timeout_detail(exc: Exception, connection: Connection, seconds: float) -> str:
    """Which limit fired: the read or connect timeout (httpx's), or the call's whole time (ours)."""
    if isinstance(exc, httpx.ReadTimeout):
        return f"no data for {connection.timeouts.read * 1000:.0f} ms (the read timeout)"
    if isinstance(exc, httpx.ConnectTimeout):
        return f"no connection within {connection.timeouts.connect * 1000:.0f} ms (the connect timeout)"
    return f"no complete answer within {seconds * 1000:.0f} ms (the time left for the call)"


def retry_after(headers: dict[str, str], now: Callable[[], float] = time.time) -> float | None:
    """Seconds a `Retry-After` header asks to wait (delta-seconds or an HTTP date), None without one."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now())


def classify(
    connection: Connection, status: int, headers: dict[str, str], body: bytes | None, started: float, retried: bool
) -> Attempt:
    common: dict[str, Any] = {
        "status": status,
        "response_headers": headers,
        "ms": _ms(started),
        "retry_after_401": retried,
    }
    if body is None:
        return _fault(FaultKind.OVERSIZE, f"the response is larger than {connection.max_bytes} bytes", **common)
    common["raw_body"] = body[:RAW_BODY_LIMIT]
    if status == 429:
        return _fault(FaultKind.HTTP_429, "429 Too Many Requests", **common)
    if 400 <= status < 500:
        return _fault(FaultKind.HTTP_4XX, f"the upstream answered {status}", **common)
    if status >= 500:
        return _fault(FaultKind.HTTP_5XX, f"the upstream answered {status}", **common)
    if status < 200 or status >= 300:
        return _fault(FaultKind.HTTP_OTHER, f"the upstream answered {status}", **common)
    try:
        document = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return _fault(FaultKind.NOT_JSON, "the body is not JSON", **common)
    outputs, defaulted = map_outputs(connection.outputs, document)
    return Attempt(True, FaultKind.OK, "", outputs, defaulted, **common)


async def send_with_retries(
    client: httpx.AsyncClient,
    connection: Connection,
    built: BuiltRequest,
    seconds: float,
    tokens: TokenManager | None = None,
    jitter: Callable[[], float] = random.random,
    wanted: Callable[[], bool] = lambda: True,
) -> Attempt:
    """Retry transient faults of idempotent (or declared-safe) calls, backing off exponentially with
    jitter, while the time left allows and someone still waits for the answer (`wanted`). A 429's
    `Retry-After` is a floor on the pause: when it does not fit in the time left, no retry."""
    deadline = time.perf_counter() + seconds
    attempts = 0
    while True:
        attempts += 1
        attempt = await send_once(client, connection, built, deadline - time.perf_counter(), tokens)
        attempt.attempts = attempts
        if attempt.ok or attempt.kind not in TRANSIENT or not connection.retryable:
            return attempt
        if attempts > connection.retries.attempts:
            return attempt
        pause = min(connection.retries.max_backoff, connection.retries.backoff * 2 ** (attempts - 1))
        pause *= 0.5 + jitter() / 2
        if attempt.kind is FaultKind.HTTP_429:
            asked = retry_after(attempt.response_headers)
            if asked is not None:
                pause = max(pause, asked)
        if time.perf_counter() + pause >= deadline:
            return attempt
        await asyncio.sleep(pause)
        if not wanted():  # every caller has gone (deadline, disconnect): no one would read a retry
            return attempt


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
