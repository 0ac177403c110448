"""Connections built from config specs and pointed at the local upstream (tests/servers/upstream.py)."""

from __future__ import annotations

import json
from typing import Any

import yaml

from connections import Connections
from service.config import schema
from service.config.connections_build import build_connection

from .upstream import CLIENT_ID, CLIENT_SECRET, RunningUpstream

OAUTH = {
    "type": "oauth2_client_credentials",
    "tokenUrl": "{url}/token",
    "clientId": CLIENT_ID,
    "clientSecret": CLIENT_SECRET,
}


def make(upstream: RunningUpstream, **specs: dict[str, Any]) -> Connections:
    built = {}
    for name, spec in specs.items():
        text = json.dumps({"id": name, "baseUrl": upstream.url, **spec}).replace("{url}", upstream.url)
        item = schema.Connection.model_validate(yaml.safe_load(text))
        issues: list[str] = []

        def report(sub: str, message: str, issues: list[str] = issues) -> None:
            issues.append(f"{sub}: {message}")

        connection = build_connection(item, report)
        assert connection is not None, issues
        built[name] = connection
    return Connections(built)
