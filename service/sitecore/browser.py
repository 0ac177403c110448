"""Browser identity calls the Sitecore Cloud SDK makes before it personalizes.

A guest ref is derived from the project and the browser id (UUID v5), so it is stable for its browser
id on every process and machine without storage; the profiles issue replaces derivation by lookup.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope

from ..http.errors import ApiError
from ..http.request import Incoming, resolve_project
from ..http.responses import JsonBytes
from ..runtime import Project, Runtime

_NAMESPACE = uuid.UUID("6f1f5b0e-3c1a-5d3e-9a51-7a1e0c2b9d40")
_BROWSER_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


def guest_ref(project_id: str, browser_id: str) -> str:
    """The guest ref of a browser id within a project: deterministic, opaque."""
    return str(uuid.uuid5(_NAMESPACE, f"{project_id}\x1f{browser_id}"))


class BrowserApi:
    def __init__(self, runtime: Callable[[], Runtime]) -> None:
        self.runtime = runtime

    def _project(self, scope: Scope) -> Project:
        incoming = Incoming(scope)
        project = resolve_project(self.runtime(), incoming.query("client_key"), incoming.context_id())
        scope["state"]["project"] = project
        return project

    async def create(self, scope: Scope, receive: Receive) -> Response:
        """GET /v1/events/v1.2/browser/create.json: a new browser id and its guest ref."""
        project = self._project(scope)
        browser_id = str(uuid.uuid4())
        body = {
            "status": "OK",
            "version": "1.2",
            "client_key": project.client_key,
            "ref": browser_id,
            "customer_ref": guest_ref(project.id, browser_id),
        }
        return JsonBytes(orjson.dumps(body))

    async def show(self, scope: Scope, receive: Receive) -> Response:
        """GET /v1/events/v1.2/browser/{browserId}/show.json: `{customer: {ref}}`."""
        project = self._project(scope)
        browser_id = scope["path_params"]["browser_id"]
        if not _BROWSER_ID.match(browser_id):
            raise ApiError(400, "browserId must be 1-128 characters of A-Z a-z 0-9 _ . : -", "browserId")
        return JsonBytes(orjson.dumps({"customer": {"ref": guest_ref(project.id, browser_id)}}))
