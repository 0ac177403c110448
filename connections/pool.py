"""The connections of a running config: one entry point, `Connections.call`, for every outbound request.

It renders the request, checks the breaker, answers from the cache or joins an identical call in flight,
bounds the call by the smaller of the connection's total timeout and the caller's remaining time, and
reports every fault as an outcome. One pooled HTTP client is shared by all connections without TLS
options (per-connection clients for mutual TLS or a custom CA). The transport is httpx-aiohttp's:
httpx's own transport collapses under concurrency (bench/transports.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus

import aiohttp
import httpx
import orjson
from httpx_aiohttp import AiohttpTransport
from prometheus_client import CollectorRegistry

from .auth import AuthScheme
from .breaker import Breaker
from .calls import Attempt, send_with_retries
from .coalescing import Coalescer
from .connection import BuiltRequest, Connection, build
from .faults import UPSTREAM_FAILURES, FaultKind
from .metrics import BREAKER_STATES, ConnectionMetrics
from .templating import TemplateInputError
from .tokens import TokenManager

REDACTED = "[redacted]"


@dataclass(slots=True)
class ConnectionState:
    """The runtime state of one connection, all in one place: its breaker, its cache and in-flight calls,
    and its OAuth2 token (the compiled Connection itself is immutable)."""

    breaker: Breaker
    coalescer: Coalescer[Attempt]
    tokens: TokenManager | None = None


# Header names whose values are credentials whatever they hold: shown as [redacted] in test results.
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})


def secret_forms(values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Each secret as a server may echo it back: as is, URL-encoded (form bodies, query strings), JSON-escaped;
    longest first, so a secret containing another is replaced whole."""
    forms: set[str] = set()
    for value in values:
        if value:
            forms.update((value, quote(value, safe=""), quote_plus(value), orjson.dumps(value).decode()[1:-1]))
    return tuple(sorted(forms, key=len, reverse=True))


def redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, REDACTED)
    return text


class Connections:
    def __init__(self, connections: Mapping[str, Connection], registry: CollectorRegistry | None = None) -> None:
        self.connections = dict(connections)
        self.registry = registry or CollectorRegistry()
        self.metrics = ConnectionMetrics(self.registry)
        self.state = {
            name: ConnectionState(Breaker(c.breaker_failures, c.breaker_reset), Coalescer(c.cache_ttl), c.auth.tokens())
            for name, c in self.connections.items()
        }
        self._clients: dict[tuple[Any, ...], httpx.AsyncClient] = {}
        self._sessions: dict[tuple[Any, ...], aiohttp.ClientSession] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        for name, state in self.state.items():
            if state.tokens is not None:
                state.tokens.on_fetch = self.metrics.token_fetches.labels(name).inc

    def knows(self, name: str) -> bool:
        connection = self.connections.get(name)
        return connection is not None and connection.kind == "data"

    def client(self, connection: Connection) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a client belongs to the loop it was made in
            self._clients, self._sessions, self._loop = {}, {}, loop
        key = tuple(sorted(connection.client_options.items()))
        client = self._clients.get(key)
        if client is None:
            # The aiohttp session is made here and handed to the transport, so pushes (connections/push.py)
            # send on the same pooled connections without httpx's layer.
            context = httpx.create_ssl_context(verify=connection.client_options.get("verify", True))
            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256, ssl=context))
            self._sessions[key] = session
            client = self._clients[key] = httpx.AsyncClient(transport=AiohttpTransport(client=session))
        return client

    def session(self, connection: Connection) -> aiohttp.ClientSession:
        """The aiohttp session under `client(connection)`."""
        self.client(connection)
        return self._sessions[tuple(sorted(connection.client_options.items()))]

    def warm(self) -> None:
        """Build the pooled clients (and their SSL contexts) now, in the serving loop, not on a first call."""
        for connection in self.connections.values():
            self.client(connection)
        for state in self.state.values():
            if state.tokens is not None:
                state.tokens.client()

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients, self._sessions = {}, {}  # each transport closed its session
        for state in self.state.values():
            if state.tokens is not None:
                await state.tokens.aclose()

    async def call(self, name: str, inputs: Mapping[str, Any], seconds: float) -> Attempt:
        """The decision models' port: outputs, or a fault kind with its detail (one result type: the
        Attempt has the shape decision_models.ports.Outcome asks for)."""
        attempt, _ = await self.run(name, inputs, seconds)
        return attempt

    async def run(
        self, name: str, inputs: Mapping[str, Any], seconds: float | None = None, use_cache: bool = True
    ) -> tuple[Attempt, BuiltRequest | None]:
        connection = self.connections[name]
        state = self.state[name]
        started = time.perf_counter()
        limit = connection.timeouts.total if seconds is None else min(connection.timeouts.total, seconds)
        try:
            built = build(connection, inputs)
        except TemplateInputError as exc:
            return self._count(connection, state, _bad(FaultKind.BAD_INPUT, str(exc)), started, failure=False), None
        if limit <= 0:
            return self._count(
                connection, state, _bad(FaultKind.TIMEOUT, "no time left before the deadline"), started, failure=False
            ), built
        if not state.breaker.allow():
            return self._count(
                connection, state, _bad(FaultKind.CIRCUIT_OPEN, "the circuit breaker is open"), started, failure=False
            ), built
        client = self.client(connection)
        coalesced_before, hits_before = state.coalescer.coalesced, state.coalescer.hits

        async def shared() -> Attempt:
            # The shared call is bounded by the connection's own total timeout, not by one caller's.
            return await send_with_retries(
                client,
                connection,
                built,
                connection.timeouts.total,
                state.tokens,
                wanted=lambda: state.coalescer.wanted(built.key),
            )

        try:
            async with asyncio.timeout(limit):
                if use_cache:
                    attempt = await state.coalescer.run(built.key, shared, cacheable=lambda a: a.ok)
                else:
                    attempt = await send_with_retries(client, connection, built, limit, state.tokens)
        except TimeoutError:
            attempt = _bad(FaultKind.TIMEOUT, f"no answer within the caller's {limit * 1000:.0f} ms")
        if state.coalescer.hits > hits_before:
            self.metrics.cache_hits.labels(name).inc()
        elif state.coalescer.coalesced > coalesced_before:
            self.metrics.coalesced.labels(name).inc()
        return self._count(connection, state, attempt, started, failure=not attempt.ok), built

    def secrets(self, connection: Connection) -> tuple[str, ...]:
        """The values no caller may see: the connection's configured secrets and its live access token."""
        tokens = self.state[connection.id].tokens
        live = tokens.token if tokens is not None else None
        return (*secret_forms([live]), *connection.secrets) if live else connection.secrets

    def account(self, name: str, attempt: Attempt, started: float) -> Attempt:
        """Count an attempt made outside `run` (a push): metrics, breaker, its detail redacted."""
        return self._count(self.connections[name], self.state[name], attempt, started, failure=not attempt.ok)

    def _count(
        self, connection: Connection, state: ConnectionState, attempt: Attempt, started: float, failure: bool
    ) -> Attempt:
        name = connection.id
        if attempt.detail:  # a fault's text may quote what an upstream echoed: a token endpoint, an error page
            attempt.detail = redact(attempt.detail, self.secrets(connection))
        if attempt.ok:
            state.breaker.success()
        elif failure and attempt.kind in UPSTREAM_FAILURES:
            state.breaker.failure()
        self.metrics.count(name, attempt.kind, time.perf_counter() - started, BREAKER_STATES[state.breaker.state])
        return attempt

    def token_fetches(self, name: str) -> int:
        tokens = self.state[name].tokens
        return tokens.fetches if tokens is not None else 0

    async def test(self, name: str, inputs: Mapping[str, Any], seconds: float | None = None) -> dict[str, Any]:
        """Run the connection once, uncached, and show everything: the request as sent (secrets
        redacted), the response, the timing, the outcome and the mapped outputs."""
        connection = self.connections[name]
        attempt, built = await self.run(name, inputs, seconds, use_cache=False)
        secrets = self.secrets(connection)
        request: dict[str, Any] | None = None
        if built is not None:
            headers = dict(built.headers)
            if connection.auth.scheme is AuthScheme.OAUTH2_CLIENT_CREDENTIALS:
                headers["authorization"] = f"Bearer {REDACTED}"
            else:
                headers.update({k: REDACTED for k in connection.auth.header_names})
            headers.update(
                {k: REDACTED for k, v in headers.items() if k.lower() in SENSITIVE_HEADERS and REDACTED not in v}
            )
            body = built.content.decode("utf-8", "replace") if built.content else None
            request = {
                "method": built.method,
                "url": redact(built.url, secrets),
                "headers": {k: redact(v, secrets) for k, v in headers.items()},
                "body": redact(body, secrets) if body is not None else None,
            }
        return {
            "connection": name,
            "ok": attempt.ok,
            "kind": attempt.kind,
            "detail": redact(attempt.detail, secrets),
            "request": request,
            "response": None
            if attempt.status is None
            else {
                "status": attempt.status,
                "headers": {
                    k: REDACTED if k.lower() in SENSITIVE_HEADERS else redact(v, secrets)
                    for k, v in attempt.response_headers.items()
                },
                "body": redact(attempt.raw_body.decode("utf-8", "replace"), secrets),
                "bodyTruncated": len(attempt.raw_body) >= 4096,
            },
            "ms": round(attempt.ms, 3),
            "attempts": attempt.attempts,
            "retriedAfter401": attempt.retry_after_401,
            "outputs": attempt.outputs,
            "defaultedOutputs": attempt.defaulted,
        }


def _bad(kind: FaultKind, detail: str) -> Attempt:
    return Attempt(False, kind, detail)
