"""The README stays true: its config example loads, its tour answers what it says."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from connections import OAuth2ClientCredentials
from service.config import ConfigError, load_runtime
from tests.servers.tls import make_pki

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def test_config_reference_example_loads(tmp_path: Path) -> None:
    section = README[README.index("## Config reference") :]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None
    text = block.group(1).replace("my_package.models:score", "tests.plugins:score")
    path = tmp_path / "readme.yaml"
    path.write_text(text, encoding="utf-8")
    runtime = load_runtime(path, env={"PERSONALIZE_MANAGEMENT_TOKEN": "t", "SEGMENT_WRITE_KEY": "w"})
    experience = runtime.projects["shop"].catalog.experiences["home_banner"]
    assert [v.id for v in experience.live.variants] == ["a", "b", "holdout"]


def _tour(pattern: str) -> list[tuple[str, str]]:
    """(request body, expected body) pairs of the tour's `curl ... -d '...'` + `# {...}` lines."""
    return re.findall(pattern, README)


async def test_tour_answers_match(client: httpx.AsyncClient) -> None:
    pairs = _tour(r"curl -X POST http://127\.0\.0\.1:8000/v2/callFlows -d '(\{.*?\})'\n# (\{.*\})\n")
    assert len(pairs) == 5
    for body, expected in pairs:
        if "tour-visitor" in body and "Welcome back" in expected:  # after the tour's three page views
            for page in ("home", "shoes", "cart"):
                event = {"type": "VIEW", "browser_id": "tour-visitor", "client_key": "demo", "channel": "WEB"}
                assert (await client.post("/v1.2/events", json={**event, "page": page})).status_code == 201
        r = await client.post("/v2/callFlows", content=body)
        assert r.json() == json.loads(expected)


async def test_tour_first_call(client: httpx.AsyncClient) -> None:
    body = (
        '{"channel":"WEB","clientKey":"","currencyCode":"EUR","friendlyId":"home_banner","language":"EN",'
        '"params":{"firstName":"Ana"},"pointOfSale":"","browserId":"visitor-1"}'
    )
    r = await client.post("/v1/personalize?sitecoreContextId=demo", content=body)
    shown = re.search(r"\n(\{\"banner\".*\})\n```", README)
    assert shown is not None
    assert r.json() == json.loads(shown.group(1))
    assert r.headers["x-personalize-variant"] == "hero_free_shipping"


async def test_decision_model_example_runs(tmp_path: Path) -> None:
    from decision_models import RunContext

    section = README[README.index("## Decision models") :]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None
    path = tmp_path / "model.yaml"
    path.write_text("projects: [{id: p}]\n" + block.group(1), encoding="utf-8")
    model = load_runtime(path, env={}).projects["p"].models["banner_offer"]
    run = await model.run({"params": {"loyalty": {"tier": "gold"}, "cartValue": 120}}, RunContext("v", 1.0))
    assert run.outputs["offer"]["code"] == "GOLD20"
    run = await model.run({"params": {"cartValue": 200}}, RunContext("v", 1.0))
    assert run.outputs["offer"]["code"] == "BIGCART15"


def test_connection_example_loads(tmp_path: Path) -> None:
    section = README[README.index("## Connections") :]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None
    pki = make_pki(tmp_path)
    pki.client_cert.rename(tmp_path / "client.pem")
    pki.client_key.rename(tmp_path / "client.key")
    pki.ca.rename(tmp_path / "corp-ca.pem")
    text = block.group(1).replace("/etc/personalize/", f"{tmp_path}/").replace("/etc/ssl/", f"{tmp_path}/")
    path = tmp_path / "c.yaml"
    path.write_text("projects: [{id: p}]\n" + text, encoding="utf-8")
    runtime = load_runtime(path, env={"RECS_CLIENT_SECRET": "s"})
    assert runtime.connections is not None
    recs = runtime.connections.connections["recs"]
    assert isinstance(recs.auth, OAuth2ClientCredentials)
    assert (recs.auth.scope, recs.auth.form_items, recs.cache_ttl) == ("recs:read", {"resource": "recs"}, 30)
    assert recs.inputs == ["userId", "limit", "channel"]
    missing = path.read_text(encoding="utf-8").replace(f"{tmp_path}/client.pem", "/nowhere/client.pem")
    path.write_text(missing, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape("connections[0].tls.cert: no such file: /nowhere/client.pem")):
        load_runtime(path, env={"RECS_CLIENT_SECRET": "s"})
