"""Management reads under /management, mirroring the Contentstack Personalize Management API's paths and
field names (project by the `x-project-uid` header), plus connections, decision models, projects and a
config reload. Every route needs a management bearer token; no response carries a secret."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope

from decision_models import Audience, Experience

from ..http.errors import ApiError
from ..http.request import Incoming
from ..http.responses import JsonBytes
from ..runtime import Project, Runtime
from .reloading import Reloader
from .views import (
    audience_view,
    connection_view,
    experience_view,
    model_view,
    project_view,
    version_uid,
    version_view,
    versions,
)

MAX_LIMIT = 1000


def project_of(incoming: Incoming, runtime: Runtime) -> Project:
    """The project a management call names in `x-project-uid` (optional with one project)."""
    uid = incoming.header(b"x-project-uid")
    if not uid:
        if len(runtime.projects) == 1:
            return next(iter(runtime.projects.values()))
        raise ApiError(400, "x-project-uid is required: several projects are configured", "x-project-uid")
    for project in runtime.projects.values():
        if uid in (project.contentstack_project_uid, project.id):
            return project
    raise ApiError(404, f"no project '{uid}'", "x-project-uid")


def page(items: Sequence[Any], incoming: Incoming) -> Response:
    """A JSON array (as Contentstack lists are), sliced by `skip` and `limit`; the total in a header."""
    try:
        skip = int(incoming.query("skip") or 0)
        limit = int(incoming.query("limit") or 100)
    except ValueError:
        raise ApiError(400, "skip and limit are whole numbers", "limit") from None
    if skip < 0 or not 1 <= limit <= MAX_LIMIT:
        raise ApiError(400, f"skip >= 0 and 1 <= limit <= {MAX_LIMIT}", "limit")
    body = orjson.dumps(list(items[skip : skip + limit]))
    return JsonBytes(body, 200, [(b"x-total-count", str(len(items)).encode())])


class ManagementApi:
    def __init__(self, runtime: Callable[[], Runtime], reloader: Reloader) -> None:
        self.runtime = runtime
        self.reloader = reloader

    def _request(self, scope: Scope) -> tuple[Incoming, Project]:
        incoming = Incoming(scope)
        return incoming, self._project(incoming, self.runtime())

    def _project(self, incoming: Incoming, runtime: Runtime) -> Project:
        return project_of(incoming, runtime)

    # --- Contentstack-shaped reads ---------------------------------------------------------------------

    async def audiences(self, scope: Scope, receive: Receive) -> Response:
        incoming, project = self._request(scope)
        return page([audience_view(a, project) for a in _audiences(project)], incoming)

    async def audience(self, scope: Scope, receive: Receive) -> Response:
        _, project = self._request(scope)
        uid = scope["path_params"]["uid"]
        found = next((a for a in _audiences(project) if a.id == uid), None)
        if found is None:
            raise ApiError(404, f"no audience '{uid}'", "uid")
        return JsonBytes(orjson.dumps(audience_view(found, project)))

    async def experiences(self, scope: Scope, receive: Receive) -> Response:
        incoming, project = self._request(scope)
        items = [experience_view(i, e) for i, e in enumerate(project.catalog.experiences.values())]
        return page(items, incoming)

    def _experience(self, scope: Scope, project: Project) -> tuple[int, Experience]:
        uid = scope["path_params"]["uid"]
        for index, experience in enumerate(project.catalog.experiences.values()):
            if uid in (experience.id, experience.friendly_id):
                return index, experience
        raise ApiError(404, f"no experience '{uid}'", "uid")

    async def experience(self, scope: Scope, receive: Receive) -> Response:
        _, project = self._request(scope)
        index, experience = self._experience(scope, project)
        return JsonBytes(orjson.dumps(experience_view(index, experience)))

    async def experience_versions(self, scope: Scope, receive: Receive) -> Response:
        incoming, project = self._request(scope)
        _, experience = self._experience(scope, project)
        return page([version_view(experience, v) for v in versions(experience)], incoming)

    async def variant_audiences(self, scope: Scope, receive: Receive) -> Response:
        """Get Audience(s) of a Variant: of the active version by default, of the draft with ?version=draft."""
        incoming, project = self._request(scope)
        _, experience = self._experience(scope, project)
        wanted = (incoming.query("version") or "active").lower()
        if wanted not in ("active", "draft"):
            raise ApiError(400, "version is active or draft", "version")
        version = experience.draft if wanted == "draft" else experience.live
        if version is None:
            raise ApiError(404, f"experience '{experience.id}' has no draft version", "version")
        ref = scope["path_params"]["variant"]
        variant = next((v for i, v in enumerate(version.variants) if ref in (v.id, str(i))), None)
        if variant is None:
            raise ApiError(404, f"no variant '{ref}' in {version_uid(experience, version)}", "variant")
        chosen = [variant.audience] if variant.audience else ([version.audience] if version.audience else [])
        return JsonBytes(orjson.dumps([audience_view(a, project) for a in chosen if a is not None]))

    # --- this service's own objects ----------------------------------------------------------------------

    async def connections(self, scope: Scope, receive: Receive) -> Response:
        incoming, project = self._request(scope)
        return page([connection_view(c) for c in project.connections.values()], incoming)

    async def decision_models(self, scope: Scope, receive: Receive) -> Response:
        incoming, project = self._request(scope)
        return page([model_view(m) for m in project.models.values()], incoming)

    async def decision_model(self, scope: Scope, receive: Receive) -> Response:
        _, project = self._request(scope)
        model = project.models.get(scope["path_params"]["uid"])
        if model is None:
            raise ApiError(404, f"no decision model '{scope['path_params']['uid']}'", "uid")
        return JsonBytes(orjson.dumps(model_view(model)))

    async def projects(self, scope: Scope, receive: Receive) -> Response:
        incoming, runtime = Incoming(scope), self.runtime()
        return page([project_view(p) for p in runtime.projects.values()], incoming)

    async def reload(self, scope: Scope, receive: Receive) -> Response:
        outcome = await self.reloader.reload("api")
        return JsonBytes(orjson.dumps(outcome.body()), 200 if outcome.ok else 422)


def _audiences(project: Project) -> list[Audience]:
    return sorted(project.audiences.values(), key=lambda a: a.id)
