"""The pure parts of connections, without a socket: building a request, classifying an answer, the breaker
with an injected clock, the coalescer with a scripted call."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
import yaml

from connections import Breaker, Coalescer, Connection, FaultKind, TemplateInputError, build
from connections.calls import classify
from service.config import schema
from service.config.connections_build import build_connection


def connection(**spec: Any) -> Connection:
    item = schema.Connection.model_validate(yaml.safe_load(yaml.safe_dump({"id": "c", **spec})))
    built = build_connection(item, lambda sub, message: pytest.fail(f"{sub}: {message}"))
    assert built is not None
    return built


API = {"baseUrl": "http://upstream.invalid/api", "outputs": {"items": {"path": "$.items", "type": "list"}}}


# --- building a request ----------------------------------------------------------------------------------


def test_values_are_encoded_for_their_component() -> None:
    c = connection(
        **API,
        method="POST",
        path="/users/${user}",
        query={"q": "${q}"},
        headers={"X-Note": "${note}"},
        body={"user": "${user}", "n": "${n}"},
    )
    built = build(c, {"user": "../a b", "q": "x&admin=1", "note": "hi", "n": 3})
    assert built.url == "http://upstream.invalid/api/users/..%2Fa%20b?q=x%26admin%3D1"
    assert ("x-note", "hi") in built.headers
    assert json.loads(built.content or b"") == {"user": "../a b", "n": 3}  # typed, never spliced


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"user": "..", "note": "x"}, "may not be '.' or '..'"),
        ({"user": "a", "note": "x\r\nX-Admin: 1"}, "CR, LF or NUL"),
        ({"user": "a", "note": "Zoë"}, "only ASCII characters, not 'ë'"),
        ({"note": "x"}, "input 'user' is missing"),
    ],
)
def test_unsafe_or_missing_inputs_are_refused(inputs: dict[str, Any], message: str) -> None:
    c = connection(**API, path="/users/${user}", headers={"X-Note": "${note}"})
    with pytest.raises(TemplateInputError, match=message):
        build(c, inputs)


# --- classifying an answer -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (200, b'{"items": [1]}', FaultKind.OK),
        (200, b"<html>", FaultKind.NOT_JSON),
        (302, b"", FaultKind.HTTP_OTHER),
        (404, b"{}", FaultKind.HTTP_4XX),
        (429, b"{}", FaultKind.HTTP_429),
        (503, b"{}", FaultKind.HTTP_5XX),
        (200, None, FaultKind.OVERSIZE),
    ],
)
def test_every_status_has_a_kind(status: int, body: bytes | None, kind: FaultKind) -> None:
    attempt = classify(connection(**API, path="/x"), status, {}, body, time.perf_counter(), False)
    assert attempt.kind is kind
    assert attempt.ok is (kind is FaultKind.OK)
    if attempt.ok:
        assert attempt.outputs == {"items": [1]}


# --- breaker ---------------------------------------------------------------------------------------------


def test_breaker_opens_fails_fast_probes_once_and_closes() -> None:
    now = [0.0]
    breaker = Breaker(failures_to_open=2, reset_seconds=10, clock=lambda: now[0])
    breaker.failure()
    assert breaker.allow() and breaker.state == "closed"
    breaker.failure()
    assert breaker.state == "open" and not breaker.allow()
    now[0] = 10.0
    assert breaker.allow() and breaker.state == "half_open"
    assert not breaker.allow()  # one probe at a time
    breaker.failure()
    assert breaker.state == "open" and not breaker.allow()
    now[0] = 20.0
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed" and breaker.allow()


# --- coalescer -------------------------------------------------------------------------------------------


async def test_identical_calls_share_one_and_a_leaver_does_not_cancel_it() -> None:
    coalescer: Coalescer[str] = Coalescer(ttl_seconds=60)
    release = asyncio.Event()
    calls = 0

    async def call() -> str:
        nonlocal calls
        calls += 1
        await release.wait()
        return "answer"

    leaver = asyncio.ensure_future(coalescer.run("k", call, cacheable=lambda r: True))
    stayer = asyncio.ensure_future(coalescer.run("k", call, cacheable=lambda r: True))
    await asyncio.sleep(0)  # both are waiting on the one shared call
    assert coalescer.wanted("k")
    leaver.cancel()
    release.set()
    assert await stayer == "answer"
    assert leaver.cancelled() and calls == 1 and not coalescer.wanted("k")
    assert await coalescer.run("k", call, cacheable=lambda r: True) == "answer"  # from the cache
    assert (calls, coalescer.hits, coalescer.coalesced) == (1, 1, 1)
