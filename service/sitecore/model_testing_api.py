"""POST /v2/testDecisionModel: run a decision model variant on a context, every node's result in the answer."""

from __future__ import annotations

from collections.abc import Callable

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope

from ..http.errors import ApiError
from ..http.request import read_json_body
from ..http.responses import JsonBytes
from ..runtime import Runtime
from .model_testing import TestModelBody, find_model, result_body, run_test


class ModelsApi:
    def __init__(self, runtime: Callable[[], Runtime]) -> None:
        self.runtime = runtime

    async def test_decision_model(self, scope: Scope, receive: Receive) -> Response:
        runtime = self.runtime()
        body = await read_json_body(scope, receive, runtime, TestModelBody)
        project = None
        if body.clientKey:
            project = runtime.by_client_key.get(body.clientKey)
            if project is None:
                raise ApiError(401, "unknown clientKey", "clientKey")
        project, model = find_model(runtime, body, project)
        scope["state"]["project"] = project
        scope["state"]["log"].update({"project": project.id, "model": model.id})
        run = await run_test(model, body, runtime.default_deadline_ms / 1000, runtime.connections)
        return JsonBytes(orjson.dumps(result_body(run)))
