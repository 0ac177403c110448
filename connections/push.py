"""One push to a destination connection: the stored request, its auth (OAuth2 included), Standard Webhooks
v1 signature headers made for this attempt, and the answer classified for the delivery worker.

The `standardwebhooks` package signs (the spec's reference library; tests check the spec's published
vector). Redirects are never followed (a 3xx is a failure), and the host is the one the connection's
`baseUrl` names: templated path and query values are percent-encoded, so no input can change it.
Link-local and cloud metadata addresses are refused unless the destination allows them; the name is
resolved just before the request (a DNS answer that changes between this check and the connection is
not caught: an egress proxy is the defence for that, as the Standard Webhooks spec advises).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import ipaddress
import socket
import time
from dataclasses import dataclass, field

import aiohttp
from cachetools import TTLCache
from standardwebhooks.webhooks import Webhook

from .calls import Attempt, classify
from .connection import BuiltRequest, Connection
from .faults import FaultKind
from .pool import Connections, redact
from .tokens import TokenError

EXCERPT_BYTES = 500  # of a receiver's answer, kept in the delivery log
# Cloud metadata services that are not link-local (AWS IPv6, Alibaba, Oracle's own addresses are link-local).
_METADATA = frozenset(ipaddress.ip_address(a) for a in ("fd00:ec2::254", "100.100.100.200"))


class PushKind:
    """Outcomes beyond the connection fault kinds."""

    ADDRESS_REFUSED = "address_refused"  # the destination resolves to a link-local or metadata address


@dataclass(slots=True)
class PushResult:
    ok: bool  # the receiver answered 2xx
    kind: str  # FaultKind value, or PushKind
    status: int | None = None
    ms: float = 0.0
    detail: str = ""
    excerpt: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # the answer's, lower-case names


@functools.lru_cache(maxsize=256)
def _signer(secret: str) -> Webhook:
    return Webhook(secret)  # decodes the secret once, not on every attempt


def signature(secrets: tuple[str, ...], message_id: str, timestamp: int, body: bytes) -> str:
    """`webhook-signature`: one `v1,<base64>` per secret, space-separated (rotation: old and new)."""
    when = dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)
    text = body.decode()
    return " ".join(_signer(secret).sign(message_id, when, text) for secret in secrets)


def webhook_headers(connection: Connection, request: BuiltRequest, message_id: str, timestamp: int) -> dict[str, str]:
    """The headers of one attempt: the stored request's, the JSON content type, and Standard Webhooks' id,
    timestamp and (with `signing` secrets) signature."""
    headers = dict(request.headers)
    headers["content-type"] = "application/json"
    headers["webhook-id"] = message_id
    headers["webhook-timestamp"] = str(timestamp)
    if connection.signing and request.content is not None:
        headers["webhook-signature"] = signature(connection.signing, message_id, timestamp, request.content)
    return headers


def refused_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_link_local or ip in _METADATA


# Each host's verdict, kept briefly: a resolution per attempt doubled the DNS work aiohttp already does.
_verdicts: TTLCache[tuple[str, int], str] = TTLCache(maxsize=1024, ttl=30)


async def _address_check(connection: Connection) -> str | None:
    """Why the destination's host may not be reached, or None."""
    if connection.delivery.allow_private_network:
        return None
    host = connection.base_url.host
    port = connection.base_url.port or (443 if connection.base_url.scheme == "https" else 80)
    verdict = _verdicts.get((host, port))
    if verdict is None:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            return None  # unresolvable: the request fails as `refused`, and is retried (not cached)
        refused = [str(sockaddr[0]) for *_, sockaddr in infos if refused_address(str(sockaddr[0]))]
        verdict = _verdicts[(host, port)] = (
            f"{host} resolves to {refused[0]}, a link-local or cloud metadata address (allowPrivateNetwork)"
            if refused
            else ""
        )
    return verdict or None


async def push(
    connections: Connections, name: str, message_id: str, request: BuiltRequest, now: float | None = None
) -> PushResult:
    """Send one attempt of a stored request; never raises for anything the network or receiver does."""
    connection = connections.connections[name]
    state = connections.state[name]
    refused = await _address_check(connection)
    if refused is not None:
        return PushResult(False, PushKind.ADDRESS_REFUSED, detail=refused)
    if not state.breaker.allow():
        return PushResult(False, FaultKind.CIRCUIT_OPEN, detail="the circuit breaker is open")
    headers = webhook_headers(connection, request, message_id, int(time.time() if now is None else now))
    started = time.perf_counter()
    attempt = await _send(connections, connection, request, headers, started)
    if attempt.status is not None and 200 <= attempt.status < 300:  # any 2xx is accepted, whatever its body
        attempt.ok, attempt.kind, attempt.detail = True, FaultKind.OK, ""
    connections.account(name, attempt, started)  # metrics and breaker as for every call; detail redacted
    excerpt = attempt.raw_body[:EXCERPT_BYTES].decode("utf-8", "replace")
    return PushResult(
        attempt.ok,
        attempt.kind,
        attempt.status,
        attempt.ms,
        attempt.detail,
        redact(excerpt, connections.secrets(connection)),
        {k.lower(): v for k, v in attempt.response_headers.items()},
    )


async def _send(
    connections: Connections, connection: Connection, request: BuiltRequest, headers: dict[str, str], started: float
) -> Attempt:
    """One attempt on the pool's aiohttp session, not through httpx (calls.send_once): measured with
    `python -m bench.deliveries`, httpx's request building, cookie jar and response wrapping cost more CPU
    than aiohttp's whole request, and held the worker to ~950 deliveries a second. Same auth (a 401 that
    fresh credentials may answer is retried once), same timeouts, same classification (calls.classify)."""
    tokens = connections.state[connection.id].tokens
    timeout = aiohttp.ClientTimeout(
        total=connection.timeouts.total, sock_connect=connection.timeouts.connect, sock_read=connection.timeouts.read
    )
    retried = False
    while True:
        sent = dict(headers)
        try:
            token = await connection.auth.apply(sent, tokens)
            async with connections.session(connection).request(
                request.method, request.url, data=request.content, headers=sent, allow_redirects=False, timeout=timeout
            ) as response:
                body = await response.content.read(connection.max_bytes + 1)
                status, answer = response.status, {k: v for k, v in response.headers.items()}
        except TokenError as exc:
            return Attempt(False, FaultKind.TOKEN_ERROR, f"token endpoint: {exc}", ms=_ms(started))
        except TimeoutError:
            limit = connection.timeouts.total * 1000
            return Attempt(False, FaultKind.TIMEOUT, f"no complete answer within {limit:.0f} ms", ms=_ms(started))
        except aiohttp.ClientError as exc:
            return Attempt(False, FaultKind.REFUSED, f"cannot connect: {exc}"[:300], ms=_ms(started))
        if status == 401 and not retried and connection.auth.refused(tokens, token):
            retried = True
            continue
        bounded = body if len(body) <= connection.max_bytes else None
        return classify(connection, status, answer, bounded, started, retried)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
