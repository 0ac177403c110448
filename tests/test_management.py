"""Management reads: auth, Contentstack shapes, draft option, 404s, pagination, redaction; reload."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import textwrap
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.app import create_app
from service.config import load_runtime
from service.http.metrics import Metrics
from tests.conftest import app_client
from tests.hostile import LAUGHS
from tests.servers.process import serve_process, stop

TOKEN = {"Authorization": "Bearer demo-management-token"}
SECRETS = ["demo-management-token", "sandbox-secret", "write-key-s3cret"]


@pytest.fixture
async def mgmt() -> AsyncIterator[httpx.AsyncClient]:
    env = {"DEMO_SEGMENT_WRITE_KEY": "write-key-s3cret"}
    async with app_client(create_app(load_runtime(env=env), Metrics(), env=env)) as client:
        yield client


@pytest.mark.parametrize(
    "path",
    [
        "/management/audiences",
        "/management/experiences",
        "/management/experiences/home_banner",
        "/management/experiences/home_banner/versions",
        "/management/connections",
        "/management/decision-models",
        "/management/projects",
    ],
)
async def test_every_read_needs_the_token_and_shows_no_secret(mgmt: httpx.AsyncClient, path: str) -> None:
    r = await mgmt.get(path)
    assert r.status_code == 401
    assert r.json()["errors"] == {"Authorization": [r.json()["error_message"]]}  # one spelling for every dialect
    r = await mgmt.get(path, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    r = await mgmt.get(path, headers=TOKEN)
    assert r.status_code == 200
    assert not any(secret in r.text for secret in SECRETS)


async def test_experiences_in_contentstack_shape(mgmt: httpx.AsyncClient) -> None:
    experiences = (await mgmt.get("/management/experiences", headers=TOKEN)).json()
    by_uid = {e["uid"]: e for e in experiences}
    assert by_uid["home_banner"]["__type"] == "AB_TEST"
    assert by_uid["loyalty_offer"]["__type"] == "SEGMENTED"
    assert by_uid["home_banner"]["latestVersion"] == "home_banner.draft"
    assert by_uid["winter_sale"]["status"] == "PAUSED"
    assert by_uid["loyalty_offer"]["referredAudiences"] == ["gold_members", "silver_members"]
    one = (await mgmt.get("/management/experiences/loyalty_offer", headers=TOKEN)).json()
    assert one == by_uid["loyalty_offer"]


async def test_versions_and_variant_audiences(mgmt: httpx.AsyncClient) -> None:
    live, draft = (await mgmt.get("/management/experiences/home_banner/versions", headers=TOKEN)).json()
    assert (live["status"], draft["status"]) == ("ACTIVE", "DRAFT")
    assert [(v["shortUid"], v["__type"], v["trafficDistribution"]) for v in live["variants"]] == [
        ("0", "ABTestVariant", 45.0),
        ("1", "ABTestVariant", 45.0),
        ("2", "ABTestVariant", 10.0),
    ]
    assert [v["uid"] for v in draft["variants"]] == ["hero_black_friday"]
    segmented = (await mgmt.get("/management/experiences/loyalty_offer/versions", headers=TOKEN)).json()
    assert segmented[0]["variants"][0]["audiences"] == ["gold_members"]
    gold = (await mgmt.get("/management/experiences/loyalty_offer/variants/gold_offer/audiences", headers=TOKEN)).json()
    assert [a["uid"] for a in gold] == ["gold_members"]
    assert gold[0]["definition"]["rule"] == {"in": [{"var": "params.loyalty.tier"}, ["gold", "platinum"]]}
    by_short = await mgmt.get("/management/experiences/loyalty_offer/variants/1/audiences", headers=TOKEN)
    assert [a["uid"] for a in by_short.json()] == ["silver_members"]
    draft_variant = await mgmt.get(
        "/management/experiences/home_banner/variants/hero_black_friday/audiences?version=draft", headers=TOKEN
    )
    assert (draft_variant.status_code, draft_variant.json()) == (200, [])
    active_only = await mgmt.get(
        "/management/experiences/home_banner/variants/hero_black_friday/audiences", headers=TOKEN
    )
    assert active_only.status_code == 404


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/management/experiences/nope", "uid"),
        ("/management/audiences/nope", "uid"),
        ("/management/decision-models/nope", "uid"),
        ("/management/experiences/loyalty_offer/variants/x/audiences", "variant"),
        ("/management/experiences/loyalty_offer/variants/0/audiences?version=draft", "version"),
    ],
)
async def test_unknown_ids_are_404(mgmt: httpx.AsyncClient, path: str, field: str) -> None:
    r = await mgmt.get(path, headers=TOKEN)
    assert r.status_code == 404
    assert field in r.json()["errors"]


async def test_project_header_and_pagination(mgmt: httpx.AsyncClient) -> None:
    r = await mgmt.get("/management/audiences", headers={**TOKEN, "x-project-uid": "demo"})
    assert r.headers["x-total-count"] == "5"
    page = await mgmt.get("/management/audiences?skip=1&limit=2", headers=TOKEN)
    assert [a["uid"] for a in page.json()] == [a["uid"] for a in r.json()][1:3]
    assert (await mgmt.get("/management/audiences", headers={**TOKEN, "x-project-uid": "other"})).status_code == 404
    assert (await mgmt.get("/management/audiences?limit=0", headers=TOKEN)).status_code == 400


async def test_connections_and_models_are_readable_redacted(mgmt: httpx.AsyncClient) -> None:
    connection, destination = (await mgmt.get("/management/connections", headers=TOKEN)).json()
    assert connection["auth"]["clientSecret"] == "[redacted]"
    assert destination["kind"] == "destination" and destination["signing"] == {"secrets": ["[redacted]"]}
    assert "whsec_" not in (await mgmt.get("/management/connections/demo_webhooks", headers=TOKEN)).text
    assert connection["inputs"] == ["tier"]
    model = (await mgmt.get("/management/decision-models/banner_offer", headers=TOKEN)).json()
    assert [(v["uid"], v["status"]) for v in model["variants"]] == [
        ("tier_by_cart", "PRODUCTION"),
        ("generous_gold", "TEST"),
    ]
    projects = (await mgmt.get("/management/projects", headers=TOKEN)).json()
    assert projects[0]["segmentWriteKeys"] == 1


# --- reload --------------------------------------------------------------------------------------------------

CONFIG = """
management: {tokens: [t]}
projects: [{id: p, clientKey: k}]
experiences:
  - {friendlyId: e, status: active, type: segmented, variants: [{id: v, response: {version: VERSION}}]}
"""


async def test_reload_good_bad_and_under_traffic(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(textwrap.dedent(CONFIG).replace("VERSION", "1"), encoding="utf-8")
    async with app_client(create_app(load_runtime(path, env={}), Metrics(), env={})) as client:
        auth = {"Authorization": "Bearer t"}
        body = {"clientKey": "k", "friendlyId": "e"}
        assert (await client.post("/management/reload")).status_code == 401
        path.write_text(textwrap.dedent(CONFIG).replace("VERSION", "2"), encoding="utf-8")
        stop = False
        seen: list[int] = []
        flowing, switched = asyncio.Event(), asyncio.Event()

        async def traffic() -> None:
            deadline = time.monotonic() + 20  # bounded, whatever happens
            while not stop and time.monotonic() < deadline:
                r = await client.post("/v2/callFlows", json=body)
                assert r.status_code == 200  # no request fails during a reload
                seen.append(r.json()["version"])
                if len(seen) >= 8:
                    flowing.set()
                if seen[-1] == 2 and seen.count(2) >= 8:
                    switched.set()
                await asyncio.sleep(0)  # an in-process request need not yield: let the reload run

        runners = [asyncio.ensure_future(traffic()) for _ in range(4)]
        await asyncio.wait_for(flowing.wait(), 20)  # traffic is flowing on the first config
        r = await client.post("/management/reload", headers=auth)
        await asyncio.wait_for(switched.wait(), 20)  # ...and then on the new one
        stop = True
        await asyncio.gather(*runners)
        assert (r.status_code, r.json()["status"]) == (200, "reloaded")
        assert seen[0] == 1 and seen[-1] == 2 and set(seen) == {1, 2}
        path.write_text(CONFIG.replace("type: segmented", "type: nonsense"), encoding="utf-8")
        r = await client.post("/management/reload", headers=auth)
        assert (r.status_code, r.json()["status"]) == (422, "rejected")
        assert r.json()["errors"][0]["path"] == "experiences[0].type"
        assert (await client.post("/v2/callFlows", json=body)).json() == {"version": 2}  # still serving


async def test_reload_refuses_an_alias_bomb_and_keeps_serving(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(textwrap.dedent(CONFIG).replace("VERSION", "1"), encoding="utf-8")
    async with app_client(create_app(load_runtime(path, env={}), Metrics(), env={})) as client:
        path.write_text(LAUGHS, encoding="utf-8")
        r = await client.post("/management/reload", headers={"Authorization": "Bearer t"})
        assert (r.status_code, r.json()["status"]) == (422, "rejected")
        assert r.json()["errors"][0]["file"] == str(path)
        assert "aliases are expanded" in r.json()["errors"][0]["message"]
        r = await client.post("/v2/callFlows", json={"clientKey": "k", "friendlyId": "e"})
        assert r.json() == {"version": 1}


def _served(path: Path, *extra: str) -> tuple[subprocess.Popen[Any], str]:
    return serve_process("--config", str(path), "--no-access-log", *extra)


def _version(base: str) -> int:
    return int(httpx.post(f"{base}/v2/callFlows", json={"clientKey": "k", "friendlyId": "e"}).json()["version"])


def _eventually(base: str, expected: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if _version(base) == expected:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"never served version {expected}")


@pytest.mark.slow
@pytest.mark.parametrize("how", ["sighup", "watch"])
def test_a_served_config_reloads_on_sighup_or_file_change(tmp_path: Path, how: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(textwrap.dedent(CONFIG).replace("VERSION", "1"), encoding="utf-8")
    proc, base = _served(path, *(["--watch"] if how == "watch" else []))
    try:
        _eventually(base, 1)
        path.write_text(textwrap.dedent(CONFIG).replace("VERSION", "2"), encoding="utf-8")
        if how == "sighup":
            time.sleep(1.5)
            assert _version(base) == 1  # nothing watches the file: the change waits for the signal
            proc.send_signal(signal.SIGHUP)
        _eventually(base, 2)
        assert proc.poll() is None
    finally:
        stop(proc)
    _, err = proc.communicate(timeout=10)
    trigger = "SIGHUP" if how == "sighup" else "file change"
    assert f"config {path} reloaded ({trigger},".encode() in err  # every reload is logged, whatever triggered it
