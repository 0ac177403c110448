"""POST /v2/connections/testConnection: run a configured connection once and show the whole exchange."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response
from starlette.types import Receive, Scope

from ..http.errors import ApiError
from ..http.request import read_json_body
from ..http.responses import JsonBytes
from ..runtime import Runtime


class TestConnectionBody(BaseModel):
    """`connection` names a configured connection (or is Sitecore's object with its `id`/`name`)."""

    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True)
    connection: str | dict[str, Any]
    inputs: dict[str, Any] = Field(default_factory=dict)


def connection_name(body: TestConnectionBody) -> str:
    if isinstance(body.connection, str):
        return body.connection
    name = body.connection.get("id") or body.connection.get("name")
    if not isinstance(name, str) or not name:
        raise ApiError(400, "connection: give the connection's id", "connection")
    return name


class ConnectionsApi:
    def __init__(self, runtime: Callable[[], Runtime]) -> None:
        self.runtime = runtime

    async def test_connection(self, scope: Scope, receive: Receive) -> Response:
        runtime = self.runtime()
        body = await read_json_body(scope, receive, runtime, TestConnectionBody)
        name = connection_name(body)
        connections = runtime.connections
        if connections is None or name not in connections.connections:
            raise ApiError(404, f"no connection '{name}'", "connection")
        scope["state"]["log"]["connection"] = name
        result = await connections.test(name, body.inputs)
        return JsonBytes(orjson.dumps(result))
