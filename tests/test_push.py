"""One push (connections/push.py) against real servers on 127.0.0.1: the Standard Webhooks signature
against the specification's published example, rotation, the connection's auth (an OAuth2 token fetched,
and fetched again after a 401), custom headers, mutual TLS, refused addresses."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from standardwebhooks.webhooks import Webhook

from connections import BuiltRequest
from connections.push import push, refused_address, signature
from tests.servers.connections import OAUTH, make
from tests.servers.receiver import SECRET, RunningReceiver, run_receiver
from tests.servers.tls import Pki, tls_spec
from tests.servers.upstream import RunningUpstream, UpstreamState

SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_signature_is_the_specifications_example() -> None:
    assert signature((SPEC_SECRET,), SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE
    rotated = signature(("whsec_" + "QUJD" * 8, SPEC_SECRET), SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)
    old, new = rotated.split(" ")
    assert new == SPEC_SIGNATURE and old.startswith("v1,") and old != new  # either secret verifies


def test_link_local_and_metadata_addresses_are_refused() -> None:
    refused = [
        "169.254.169.254",
        "169.254.0.1",
        "fe80::1",
        "fd00:ec2::254",
        "100.100.100.200",
        "::ffff:169.254.169.254",
    ]
    allowed = ["127.0.0.1", "10.0.0.5", "192.168.1.1", "93.184.216.34", "::1"]
    assert [refused_address(a) for a in refused] == [True] * len(refused)
    assert [refused_address(a) for a in allowed] == [False] * len(allowed)


def _request(url: str, body: bytes = b'{"hello": "world"}') -> BuiltRequest:
    return BuiltRequest("POST", url, (("accept", "application/json"),), body)


@pytest.fixture(scope="module")
def receiver() -> Iterator[RunningReceiver]:
    yield from run_receiver()


async def test_a_push_carries_headers_auth_and_a_verifiable_signature(receiver: RunningReceiver) -> None:
    receiver.state.received.clear()
    auth = {"type": "header", "headers": {"X-Api-Key": "k-123"}}
    hook = {"kind": "destination", "method": "POST", "path": "/hook", "auth": auth, "signing": {"secrets": [SECRET]}}
    c = make(RunningUpstream(receiver.url, UpstreamState()), hook=hook)
    result = await push(c, "hook", "msg_1", _request(f"{receiver.url}/hook"), now=1_800_000_000)
    await c.aclose()
    assert (result.ok, result.status, result.kind) == (True, 200, "ok")
    [got] = receiver.state.received
    assert got.headers["x-api-key"] == "k-123" and got.headers["content-type"] == "application/json"
    assert (got.id, got.headers["webhook-timestamp"]) == ("msg_1", "1800000000")
    when = dt.datetime.fromtimestamp(1_800_000_000, tz=dt.UTC)
    assert got.headers["webhook-signature"] == Webhook(SECRET).sign("msg_1", when, got.body.decode())
    assert got.signed and got.body == b'{"hello": "world"}'


async def test_an_oauth2_destination_fetches_a_token_and_again_after_a_401(fresh_upstream: RunningUpstream) -> None:
    c = make(fresh_upstream, crm={"kind": "destination", "method": "POST", "path": "/secure/ana", "auth": OAUTH})
    url = f"{fresh_upstream.url}/secure/ana"
    first = await push(c, "crm", "msg_a", _request(url))
    assert (first.ok, first.status) == (True, 200) and c.token_fetches("crm") == 1
    fresh_upstream.state.tokens.clear()  # the provider revokes every token: the next push meets a 401
    second = await push(c, "crm", "msg_b", _request(url))
    assert (second.ok, second.status) == (True, 200) and c.token_fetches("crm") == 2
    await c.aclose()


async def test_a_destination_over_mutual_tls(tls_upstream: tuple[RunningUpstream, Pki]) -> None:
    upstream, pki = tls_upstream
    c = make(
        upstream,
        ok={"kind": "destination", "method": "POST", "path": "/echo/x", "tls": tls_spec(pki)},
        no_cert={"kind": "destination", "method": "POST", "path": "/echo/x", "tls": tls_spec(pki, client=False)},
    )
    assert (await push(c, "ok", "msg_t", _request(f"{upstream.url}/echo/x"))).ok
    refused = await push(c, "no_cert", "msg_u", _request(f"{upstream.url}/echo/x"))
    assert (refused.ok, refused.kind) == (False, "refused")
    await c.aclose()
