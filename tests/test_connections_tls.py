"""Mutual TLS: a connection with a client certificate and a custom CA bundle, against a local HTTPS
upstream that requires client certificates (and a token endpoint behind the same TLS)."""

from __future__ import annotations

from pathlib import Path

from tests.servers.connections import make
from tests.servers.tls import Pki, tls_spec
from tests.servers.upstream import CLIENT_ID, CLIENT_SECRET, RunningUpstream


async def test_mutual_tls_with_a_custom_ca(tls_upstream: tuple[RunningUpstream, Pki]) -> None:
    upstream, pki = tls_upstream
    c = make(
        upstream,
        ok={"path": "/echo/x", "tls": tls_spec(pki), "outputs": {"path": {"path": "$.rawPath"}}},
        no_cert={"path": "/echo/x", "tls": tls_spec(pki, client=False)},
        untrusted={"path": "/echo/x"},
    )
    result = await c.call("ok", {}, 2.0)
    assert (result.ok, result.outputs) == (True, {"path": "/echo/x"})
    refused = await c.call("no_cert", {}, 2.0)  # the server wants a client certificate
    assert (refused.ok, refused.kind) == (False, "refused")
    unknown_ca = await c.call("untrusted", {}, 2.0)  # the server's CA is not in the default bundle
    assert (unknown_ca.ok, unknown_ca.kind) == (False, "refused")
    await c.aclose()


async def test_token_endpoint_over_mutual_tls(tls_upstream: tuple[RunningUpstream, Pki], tmp_path: Path) -> None:
    upstream, pki = tls_upstream
    auth = {
        "type": "oauth2_client_credentials",
        "tokenUrl": f"{upstream.url}/token",
        "clientId": CLIENT_ID,
        "clientSecret": CLIENT_SECRET,
        "tls": tls_spec(pki),
    }
    c = make(
        upstream,
        recs={"path": "/secure/${user}", "auth": auth, "tls": tls_spec(pki), "outputs": {"items": {"path": "$.items"}}},
    )
    result = await c.call("recs", {"user": "ana"}, 3.0)
    assert result.ok, result.detail
    assert result.outputs["items"][0] == {"sku": "A-1"}
    without = make(
        upstream, recs={"path": "/secure/x", "tls": tls_spec(pki), "auth": {**auth, "tls": tls_spec(pki, client=False)}}
    )
    failed = await without.call("recs", {}, 3.0)
    assert (failed.ok, failed.kind) == (False, "token_error")
    await c.aclose()
    await without.aclose()
