"""Connections against a real local upstream and token server: auth forms, tokens, coalescing,
injection-proof templates, every fault outcome, breaker, retries, deadlines, redaction."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from typing import Any

import pytest

from tests.servers.connections import OAUTH, make
from tests.servers.upstream import CLIENT_ID, CLIENT_SECRET, RunningUpstream

# --- auth ----------------------------------------------------------------------------------------------------


async def test_no_auth_basic_and_header_auth(fresh_upstream: RunningUpstream) -> None:
    c = make(
        fresh_upstream,
        plain={"path": "/echo/x", "outputs": {"headers": {"path": "$.headers"}}},
        basic={
            "path": "/echo/x",
            "auth": {"type": "basic", "username": "u", "password": "p@ss"},
            "outputs": {"headers": {"path": "$.headers"}},
        },
        keyed={
            "path": "/echo/x",
            "auth": {"type": "header", "headers": {"X-Api-Key": "k-123", "X-Tenant": "t"}},
            "outputs": {"headers": {"path": "$.headers"}},
        },
    )
    plain = (await c.call("plain", {}, 1.0)).outputs["headers"]
    assert "authorization" not in plain
    assert (plain["accept"], plain["accept-encoding"]) == ("application/json", "gzip")
    basic = (await c.call("basic", {}, 1.0)).outputs["headers"]
    assert basic["authorization"] == "Basic " + base64.b64encode(b"u:p@ss").decode()
    keyed = (await c.call("keyed", {}, 1.0)).outputs["headers"]
    assert (keyed["x-api-key"], keyed["x-tenant"]) == ("k-123", "t")


@pytest.mark.parametrize("where", ["header", "body"])
async def test_oauth2_client_credentials_token_request(fresh_upstream: RunningUpstream, where: str) -> None:
    auth = {
        **OAUTH,
        "credentialsIn": where,
        "scope": "recs:read",
        "audience": "https://api.example",
        "formItems": {"resource": "recs"},
        "headers": {"X-Token-Header": "yes"},
    }
    c = make(fresh_upstream, recs={"path": "/secure/${user}", "auth": auth, "outputs": {"items": {"path": "$.items"}}})
    result = await c.call("recs", {"user": "ana"}, 1.0)
    assert result.ok, result.detail
    assert result.outputs["items"] == [{"sku": "A-1"}, {"sku": "B-2"}]
    [request] = fresh_upstream.state.token_requests
    form, headers = request["form"], request["headers"]
    assert form["grant_type"] == "client_credentials"
    assert (form["scope"], form["audience"], form["resource"]) == ("recs:read", "https://api.example", "recs")
    assert headers["x-token-header"] == "yes"
    if where == "header":
        assert headers["authorization"].startswith("Basic ")
        assert "client_secret" not in form
    else:
        assert (form["client_id"], form["client_secret"]) == (CLIENT_ID, CLIENT_SECRET)
        assert "authorization" not in headers


async def test_token_is_cached_and_concurrent_fetches_coalesce(fresh_upstream: RunningUpstream) -> None:
    c = make(fresh_upstream, recs={"path": "/secure/${user}", "auth": OAUTH})
    results = await asyncio.gather(*(c.call("recs", {"user": f"u{i}"}, 2.0) for i in range(50)))
    assert all(r.ok for r in results)
    for i in range(20):
        assert (await c.call("recs", {"user": f"v{i}"}, 1.0)).ok
    assert fresh_upstream.state.issued == 1
    assert c.token_fetches("recs") == 1


async def test_token_expiry_refresh_and_default_lifetime(fresh_upstream: RunningUpstream) -> None:
    fresh_upstream.state.expires_in = None  # the provider sends no expires_in: the configured lifetime applies
    c = make(fresh_upstream, recs={"path": "/secure/x", "auth": {**OAUTH, "defaultLifetimeS": 100, "leewayS": 10}})
    now = [1000.0]
    token = c.state["recs"].tokens
    assert token is not None
    token.clock = lambda: now[0]
    assert (await c.call("recs", {}, 1.0)).ok
    now[0] += 50  # fresh: no fetch
    assert (await c.call("recs", {}, 1.0)).ok
    assert fresh_upstream.state.issued == 1
    now[0] += 35  # inside 2 x leeway of expiry: served, and refreshed ahead in the background
    assert (await c.call("recs", {}, 1.0)).ok
    await token.settled()  # the background refresh, awaited rather than slept for
    assert fresh_upstream.state.issued == 2
    now[0] += 200  # long expired: a new token before the call
    assert (await c.call("recs", {}, 1.0)).ok
    assert fresh_upstream.state.issued == 3


async def test_401_triggers_exactly_one_refresh_and_retry(fresh_upstream: RunningUpstream) -> None:
    c = make(fresh_upstream, recs={"path": "/secure/x", "auth": OAUTH})
    assert (await c.call("recs", {}, 1.0)).ok
    fresh_upstream.state.tokens.clear()  # the provider revoked every token
    result = await c.test("recs", {})
    assert result["ok"]
    assert result["retriedAfter401"] is True
    assert fresh_upstream.state.issued == 2
    c2 = make(fresh_upstream, recs={"path": "/status/401", "auth": OAUTH})
    result = await c2.test("recs", {})
    assert (result["kind"], result["retriedAfter401"]) == ("http_4xx", True)  # one retry, not a loop


async def test_token_errors_carry_the_providers_error(fresh_upstream: RunningUpstream) -> None:
    fresh_upstream.state.token_error = "invalid_scope"
    c = make(fresh_upstream, recs={"path": "/secure/x", "auth": OAUTH})
    result = await c.call("recs", {}, 1.0)
    assert (result.ok, result.kind) == (False, "token_error")
    assert "invalid_scope" in result.detail
    bad = make(fresh_upstream, recs={"path": "/secure/x", "auth": {**OAUTH, "clientSecret": "wrong"}})
    fresh_upstream.state.token_error = None
    assert "invalid_client" in (await bad.call("recs", {}, 1.0)).detail


# --- cache and coalescing ---------------------------------------------------------------------------------------


async def test_identical_concurrent_calls_make_one_upstream_call(fresh_upstream: RunningUpstream) -> None:
    c = make(
        fresh_upstream,
        counted={
            "path": "/count",
            "query": {"key": "${key}", "delay": "0.2"},
            "outputs": {"hits": {"path": "$.hits"}},
            "timeouts": {"totalMs": 3000},
        },
    )
    results = await asyncio.gather(*(c.call("counted", {"key": "same"}, 2.0) for _ in range(200)))
    assert all(r.ok and r.outputs["hits"] == 1 for r in results)
    assert fresh_upstream.state.hits["same"] == 1


async def test_a_cancelled_caller_does_not_poison_the_others(fresh_upstream: RunningUpstream) -> None:
    c = make(
        fresh_upstream,
        counted={
            "path": "/count",
            "query": {"key": "${key}", "delay": "0.3"},
            "cacheTtlS": 60,
            "outputs": {"hits": {"path": "$.hits"}},
            "timeouts": {"totalMs": 3000},
        },
    )
    leader = asyncio.ensure_future(c.call("counted", {"key": "k"}, 2.0))
    await asyncio.sleep(0)  # one step of the loop: the leader registers its shared call before its first await
    assert c.state["counted"].coalescer.inflight
    followers = [asyncio.ensure_future(c.call("counted", {"key": "k"}, 2.0)) for _ in range(5)]
    impatient = await c.call("counted", {"key": "k"}, 0.05)  # times out alone
    assert impatient.kind == "timeout"
    leader.cancel()
    results = await asyncio.gather(*followers)
    assert all(r.ok and r.outputs["hits"] == 1 for r in results)
    later = await c.call("counted", {"key": "k"}, 2.0)  # from the cache the shared call filled
    assert later.outputs["hits"] == 1
    assert fresh_upstream.state.hits["k"] == 1


# --- templates -----------------------------------------------------------------------------------------------

HOSTILE = ["../../admin", "a/b?c=d#e", "%2e%2e", "x y", "ü", "...", "a..b"]


@pytest.mark.parametrize("value", HOSTILE)
async def test_path_values_stay_one_segment(fresh_upstream: RunningUpstream, value: str) -> None:
    c = make(
        fresh_upstream,
        e={"path": "/echo/users/${id}/recs", "outputs": {"raw": {"path": "$.rawPath"}, "query": {"path": "$.query"}}},
    )
    result = await c.call("e", {"id": value}, 1.0)
    assert result.ok, result.detail
    raw = result.outputs["raw"]
    assert raw.startswith("/echo/users/") and raw.endswith("/recs")
    assert raw.count("/") == 4  # no added segment, no climbing
    assert "?" not in raw and "#" not in raw and result.outputs["query"] == ""


@pytest.mark.parametrize("value", ["..", "."])
async def test_dot_segments_are_refused(fresh_upstream: RunningUpstream, value: str) -> None:
    c = make(fresh_upstream, e={"path": "/echo/users/${id}/recs"})
    result = await c.call("e", {"id": value}, 1.0)
    assert (result.ok, result.kind) == (False, "bad_input")


async def test_query_header_and_body_values_cannot_escape(fresh_upstream: RunningUpstream) -> None:
    c = make(
        fresh_upstream,
        e={
            "method": "POST",
            "path": "/echo/q",
            "query": {"q": "${q}"},
            "headers": {"X-Note": "${note}"},
            "body": {"name": "${name}", "greeting": "hi ${name}", "count": "${count}"},
            "outputs": {"params": {"path": "$.params"}, "body": {"path": "$.body"}, "headers": {"path": "$.headers"}},
        },
    )
    inputs = {"q": "a&admin=true&x=", "note": "plain", "name": '"}, "admin": true, "x": {"', "count": 3}
    result = await c.call("e", inputs, 1.0)
    assert result.ok
    assert result.outputs["params"] == [["q", "a&admin=true&x="]]
    assert json.loads(result.outputs["body"]) == {
        "name": inputs["name"],
        "greeting": f"hi {inputs['name']}",
        "count": 3,
    }
    assert result.outputs["headers"]["x-note"] == "plain"
    bad = await c.call("e", {**inputs, "note": "x\r\nX-Injected: 1"}, 1.0)
    assert (bad.ok, bad.kind) == (False, "bad_input")
    missing = await c.call("e", {"q": "1"}, 1.0)
    assert missing.kind == "bad_input"
    assert "missing" in missing.detail


async def test_form_bodies_are_encoded(fresh_upstream: RunningUpstream) -> None:
    c = make(
        fresh_upstream,
        f={
            "method": "POST",
            "path": "/echo/f",
            "bodyFormat": "form",
            "body": {"to": "${to}", "msg": "hello ${to}"},
            "outputs": {"body": {"path": "$.body"}},
        },
    )
    result = await c.call("f", {"to": "a&b=c"}, 1.0)
    assert result.outputs["body"] == "to=a%26b%3Dc&msg=hello+a%26b%3Dc"


# --- faults ---------------------------------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        ({"path": "/delay", "query": {"s": "2"}, "timeouts": {"totalMs": 200}}, "timeout"),
        ({"path": "/status/404"}, "http_4xx"),
        ({"path": "/status/503"}, "http_5xx"),
        ({"path": "/status/429"}, "http_429"),
        ({"path": "/garbage"}, "not_json"),
        (
            {"path": "/big", "query": {"mb": "50"}, "maxResponseBytes": 1_000_000, "timeouts": {"totalMs": 5000}},
            "oversize",
        ),
        ({"path": "/drip", "timeouts": {"totalMs": 500, "readMs": 2000}}, "timeout"),
    ],
)
async def test_every_fault_is_an_outcome(fresh_upstream: RunningUpstream, spec: dict[str, Any], kind: str) -> None:
    c = make(fresh_upstream, f={**spec, "breaker": {"failures": 0}})
    result = await c.call("f", {}, 5.0)
    assert (result.ok, result.kind) == (False, kind)
    assert result.detail


async def test_connection_refused(fresh_upstream: RunningUpstream) -> None:
    c = make(fresh_upstream, f={"baseUrl": f"http://127.0.0.1:{closed_port()}", "path": "/x"})
    result = await c.call("f", {}, 1.0)
    assert (result.ok, result.kind) == (False, "refused")


async def test_caller_deadline_bounds_the_call(fresh_upstream: RunningUpstream) -> None:
    c = make(fresh_upstream, f={"path": "/delay", "query": {"s": "1"}, "timeouts": {"totalMs": 5000}})
    result = await c.call("f", {}, 0.1)
    assert result.kind == "timeout"
    assert "100 ms" in result.detail


async def test_breaker_opens_fails_fast_and_recovers(fresh_upstream: RunningUpstream) -> None:
    c = make(fresh_upstream, f={"path": "/flaky", "breaker": {"failures": 2, "resetS": 30}})
    now = [0.0]
    c.state["f"].breaker.clock = lambda: now[0]
    fresh_upstream.state.flaky_failures = 2
    assert (await c.call("f", {}, 1.0)).kind == "http_5xx"
    assert (await c.call("f", {}, 1.0)).kind == "http_5xx"
    assert (await c.call("f", {}, 1.0)).kind == "circuit_open"  # open: no upstream call
    assert c.state["f"].breaker.state == "open"
    now[0] += 31  # half-open: one probe goes out, succeeds, closes
    assert (await c.call("f", {}, 1.0)).ok
    assert c.state["f"].breaker.state == "closed"


async def test_retries_for_idempotent_calls_only(fresh_upstream: RunningUpstream) -> None:
    retrying = {"path": "/flaky", "retries": {"attempts": 2, "backoffMs": 5}, "breaker": {"failures": 0}}
    c = make(fresh_upstream, get=retrying, post={**retrying, "method": "POST"})
    fresh_upstream.state.flaky_failures = 2
    result = await c.test("get", {})
    assert (result["ok"], result["attempts"]) == (True, 3)
    fresh_upstream.state.flaky_failures = 1
    result = await c.test("post", {})
    assert (result["ok"], result["kind"], result["attempts"]) == (False, "http_5xx", 1)


async def test_outputs_fall_back_to_defaults(fresh_upstream: RunningUpstream) -> None:
    c = make(
        fresh_upstream,
        s={
            "path": "/secure/${user}",
            "auth": OAUTH,
            "outputs": {
                "first": {"path": "$.items[0].sku", "type": "string"},
                "missing": {"path": "$.nope", "default": "n/a"},
                "mistyped": {"path": "$.items", "type": "string", "default": ""},
            },
        },
    )
    result = await c.test("s", {"user": "ana"})
    assert result["outputs"] == {"first": "A-1", "missing": "n/a", "mistyped": ""}
    assert result["defaultedOutputs"] == {"missing": "absent", "mistyped": "string expected, got list"}


async def test_the_test_view_redacts_secrets(fresh_upstream: RunningUpstream) -> None:
    c = make(
        fresh_upstream,
        s={"path": "/echo/x", "auth": {"type": "header", "headers": {"X-Api-Key": "k-secret-1"}}},
        o={"path": "/secure/x", "auth": OAUTH},
    )
    shown = json.dumps(await c.test("s", {}))
    assert "k-secret-1" not in shown  # the echo of the key in the response body is redacted too
    assert '"x-api-key": "[redacted]"' in shown
    shown = json.dumps(await c.test("o", {}))
    assert CLIENT_SECRET not in shown and "tok-" not in shown.split('"response"')[0]
    assert '"authorization": "Bearer [redacted]"' in shown


async def test_faults_never_carry_a_secret_or_a_live_token(fresh_upstream: RunningUpstream) -> None:
    echo_auth = {**OAUTH, "tokenUrl": "{url}/token-echo"}
    c = make(fresh_upstream, t={"path": "/secure/x", "auth": echo_auth}, o={"path": "/leak", "auth": OAUTH})
    outcome = await c.call("t", {}, 5)
    assert outcome.kind == "token_error"
    assert CLIENT_SECRET not in outcome.detail and "[redacted]" in outcome.detail
    assert base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode() not in outcome.detail
    shown = json.dumps(await c.test("t", {}))
    assert CLIENT_SECRET not in shown
    # The upstream echoes the live access token in a header and in its error body.
    outcome = await c.call("o", {}, 5)
    assert outcome.kind == "http_5xx"
    shown = json.dumps(await c.test("o", {}))
    assert "tok-" not in shown and "abc123" not in shown
    response = json.loads(shown)["response"]
    assert response["headers"]["x-seen-authorization"] == "Bearer [redacted]"
    assert response["headers"]["set-cookie"] == "[redacted]"
    assert response["body"] == '{"error":"rejected Bearer [redacted]"}'
