"""`personalize postman connection`: the exported items replay the connections' requests under newman,
against the real local upstream."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from connections.postman import collection
from tests.servers.connections import OAUTH, make
from tests.servers.newman import newman
from tests.servers.upstream import CLIENT_ID, CLIENT_SECRET, RunningUpstream


def exported(upstream: RunningUpstream) -> dict[str, Any]:
    c = make(
        upstream,
        recs_header={
            "path": "/secure/${user}",
            "auth": {**OAUTH, "scope": "recs:read", "formItems": {"resource": "r"}},
        },
        recs_body={"path": "/secure/${user}", "auth": {**OAUTH, "credentialsIn": "body"}},
        basic={"path": "/echo/b", "auth": {"type": "basic", "username": "u", "password": "p"}},
        keyed={"path": "/echo/k", "query": {"q": "${q}"}, "auth": {"type": "header", "headers": {"X-Api-Key": "k"}}},
        posted={
            "method": "POST",
            "path": "/echo/p",
            "headers": {"X-Note": "${note}"},
            "body": {"user": "${user}", "count": "${count}", "greeting": "hi ${user}"},
        },
    )
    return collection(list(c.connections.values()))


def test_export_shape(fresh_upstream: RunningUpstream) -> None:
    doc = exported(fresh_upstream)
    assert doc["info"]["schema"].endswith("/v2.1.0/collection.json")
    items = {i["name"]: i for i in doc["item"][0]["item"]}
    oauth = {p["key"]: p["value"] for p in items["recs_header"]["request"]["auth"]["oauth2"]}
    assert oauth["grant_type"] == "client_credentials"
    assert oauth["clientSecret"] == "{{recs_header_clientSecret}}"
    assert oauth["client_authentication"] == "header"
    assert items["recs_header"]["request"]["url"] == "{{recs_header_baseUrl}}/secure/{{user}}"
    posted = items["posted"]["request"]
    assert json.loads(posted["body"]["raw"]) == {"user": "{{user}}", "count": "{{count}}", "greeting": "hi {{user}}"}
    assert {"key": "x-note", "value": "{{note}}"} in posted["header"]
    variables = {v["key"]: v["value"] for v in doc["variable"]}
    assert variables["recs_body_clientSecret"] == "" and variables["keyed_x_api_key"] == ""
    assert CLIENT_SECRET not in json.dumps(doc)


@pytest.mark.slow
def test_newman_replays_every_exported_connection(fresh_upstream: RunningUpstream, tmp_path: Path) -> None:
    path = tmp_path / "connections.postman_collection.json"
    path.write_text(json.dumps(exported(fresh_upstream)), encoding="utf-8")
    env = {
        "user": "ana",
        "q": "a&b",
        "note": "n",
        "count": "3",
        "recs_header_clientSecret": CLIENT_SECRET,
        "recs_body_clientSecret": CLIENT_SECRET,
        "basic_username": "u",
        "basic_password": "p",
        "keyed_x_api_key": "k",
    }
    args = [newman(), "run", str(path), "--reporters", "cli", "--timeout-request", "5000"]
    for key, value in env.items():
        args += ["--env-var", f"{key}={value}"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert fresh_upstream.state.issued == 2  # one token per OAuth item, fetched by the pre-request script
    forms = [r["form"] for r in fresh_upstream.state.token_requests]
    assert {"grant_type": "client_credentials", "scope": "recs:read", "resource": "r"}.items() <= forms[0].items()
    assert forms[1]["client_id"] == CLIENT_ID
