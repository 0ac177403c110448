"""POST /v2/connections/testConnection: run a configured connection once and show the whole exchange."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import Response
from starlette.types import Receive, Scope

from .errors import ApiError, sitecore_error
from .inputs import Incoming, read_body, require_management
from .responses import JsonBytes
from .runtime import Runtime


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
        incoming = Incoming(scope)
        try:
            require_management(incoming, runtime)
            raw = await read_body(receive, incoming, runtime.max_body_bytes)
            try:
                body = TestConnectionBody.model_validate_json(raw)
            except ValidationError as exc:
                error = exc.errors(include_input=False, include_url=False)[0]
                field = ".".join(str(p) for p in error["loc"] if not str(p).startswith(("str", "dict["))) or "(body)"
                raise ApiError(400, f"{field}: {error['msg']}", field) from None
            name = connection_name(body)
            connections = runtime.connections
            if connections is None or name not in connections.connections:
                raise ApiError(404, f"no connection '{name}'", "connection")
            scope["state"]["log"]["connection"] = name
            result = await connections.test(name, body.inputs)
        except ApiError as exc:
            return sitecore_error(exc)
        return JsonBytes(orjson.dumps(result))
