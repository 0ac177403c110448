"""Runtime wiring: the Starlette application, its routes and middleware."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .config import DEMO_SOURCE, load_runtime
from .demo.sandbox import Sandbox
from .http.access_log import AccessLog
from .http.errors import ApiError, is_stream_path, sitecore_error, stream_error
from .http.metrics import Metrics
from .http.middleware import Observability
from .http.responses import JsonBytes
from .management.api import ManagementApi
from .management.connection_testing import ConnectionsApi
from .management.reloading import Reloader, ReloadOutcome, install_sighup, watching
from .openapi import build_openapi
from .runtime import Runtime, RuntimeRef
from .sitecore.browser import BrowserApi
from .sitecore.callflows import InteractiveApi
from .sitecore.model_testing_api import ModelsApi

# uvicorn configures this logger (stderr, its format): operational events of the server go there.
_server_log = logging.getLogger("uvicorn.error")

Handler = Callable[[Scope, Receive], Awaitable[Response]]


class Endpoint:
    """A handler mounted as a plain ASGI app: no Request object, no per-request exception wrapper (the
    hot path does without ~8 us of them), and one object per route, so metrics label requests by route
    path even where one handler serves several paths."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handler(scope, receive)
        await response(scope, receive, send)


def _route(path: str, handler: Handler, method: str) -> Route:
    return Route(path, Endpoint(handler), methods=[method])


def route_methods(routes: list[Route]) -> list[tuple[str, str]]:
    """Every (method, path) the app answers, HEAD left out."""
    return [(m.lower(), r.path) for r in routes for m in sorted(r.methods or ()) if m != "HEAD"]


def package_version() -> str:
    try:
        return version("personalize")
    except PackageNotFoundError:
        return "0+unknown"


def _json(body: Any) -> Response:
    return JsonBytes(orjson.dumps(body))


def create_app(
    runtime: Runtime,
    metrics: Metrics | None = None,
    access_log: AccessLog | None = None,
    env: Mapping[str, str] | None = None,
) -> Starlette:
    """The service for one compiled config (reloaded from the same source, with `env` or the process's)."""
    ref = RuntimeRef(runtime)
    metrics = metrics or Metrics()
    access_log = access_log or AccessLog(enabled=False)
    log = access_log

    def report_reload(outcome: ReloadOutcome) -> None:
        """Every reload, whatever triggered it (API, SIGHUP, file change), in the log and on stderr."""
        body = outcome.body()
        log.write({"event": "config_reload", **body})
        errors = "; ".join(f"{e['file']}: {e['path']}: {e['message']}" for e in body["errors"])
        if outcome.ok:
            _server_log.info("config %s reloaded (%s, %.0f ms)", body["config"], outcome.trigger, outcome.ms)
        else:
            _server_log.warning("config %s rejected (%s): %s", body["config"], outcome.trigger, errors)

    reloader = Reloader(ref, None if runtime.source == DEMO_SOURCE else runtime.source, env, report_reload)
    management = ManagementApi(ref, reloader)
    interactive = InteractiveApi(ref, metrics)
    browser = BrowserApi(ref)
    models = ModelsApi(ref)
    connections_api = ConnectionsApi(ref)

    async def healthz(scope: Scope, receive: Receive) -> Response:
        return _json({"status": "ok"})

    async def readyz(scope: Scope, receive: Receive) -> Response:
        current = ref()
        return _json({"status": "ready", "config": current.source, "projects": sorted(current.projects)})

    async def metrics_endpoint(scope: Scope, receive: Receive) -> Response:
        connections = ref().connections
        body, content_type = metrics.exposition(*([connections.registry] if connections is not None else []))
        return Response(body, 200, media_type=content_type)

    routes = [  # the SDKs' hot paths first: routing tries them in order
        _route("/v1/personalize", interactive.call_flows, "POST"),
        _route("/v2/callFlows", interactive.call_flows, "POST"),
        _route("/personalize/v2/callFlows", interactive.call_flows, "POST"),
        _route("/v2/callFlows/explain", interactive.explain, "POST"),
        _route("/v2/callFlows/getAudience/{friendly_id}", interactive.get_audience, "POST"),
        _route("/v2/callFlows/{flow_ref}", interactive.call_flows, "POST"),
        _route("/v1/events/v1.2/browser/create.json", browser.create, "GET"),
        _route("/events/v1.2/browser/create.json", browser.create, "GET"),  # Cloud SDK 0.1.x
        _route("/v1.2/browser/create.json", browser.create, "GET"),
        _route("/v1/events/v1.2/browser/{browser_id}/show.json", browser.show, "GET"),
        _route("/v1.2/browser/{browser_id}/show.json", browser.show, "GET"),  # Engage getGuestId
        _route("/v2/testDecisionModel", models.test_decision_model, "POST"),
        _route("/v2/connections/testConnection", connections_api.test_connection, "POST"),
        *(
            _route(f"/management{path}", management.handler(view), "GET")
            for path, view in (
                ("/audiences", management.audiences),
                ("/audiences/{uid}", management.audience),
                ("/experiences", management.experiences),
                ("/experiences/{uid}", management.experience),
                ("/experiences/{uid}/versions", management.experience_versions),
                ("/experiences/{uid}/variants/{variant}/audiences", management.variant_audiences),
                ("/connections", management.connections),
                ("/decision-models", management.decision_models),
                ("/decision-models/{uid}", management.decision_model),
                ("/projects", management.projects),
            )
        ),
        _route("/management/reload", management.reload, "POST"),
        _route("/healthz", healthz, "GET"),
        _route("/readyz", readyz, "GET"),
        _route("/metrics", metrics_endpoint, "GET"),
    ]
    if runtime.sandbox_secret is not None:
        routes.extend(Sandbox("demo-client", runtime.sandbox_secret).routes())
    spec: dict[str, Any] = {}

    async def openapi(scope: Scope, receive: Receive) -> Response:
        if not spec:
            spec.update(build_openapi(route_methods(routes), package_version()))
        return _json(spec)

    routes.append(_route("/openapi.json", openapi, "GET"))
    route_names = {route.endpoint: route.path for route in routes}

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (exc.headers or {}).items()]
        error = ApiError(exc.status_code, exc.detail or "error")
        if is_stream_path(request.url.path):  # Engage reads `error_msg` from these, even on a 404
            return stream_error(error, headers)
        return sitecore_error(error, headers)

    async def server_error(request: Request, exc: Exception) -> Response:
        # A bug, never something the client sent; the detail stays in the server log.
        return sitecore_error(ApiError(500, "internal error; see the server log for this X-Decision-Id"))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        current = ref().connections
        if current is not None:
            current.warm()
        install_sighup(reloader)
        watcher = asyncio.ensure_future(reloader.watch()) if watching() else None
        yield
        access_log.flush()  # uvicorn's shutdown runs this; an atexit hook did not run on SIGTERM
        if watcher is not None:
            watcher.cancel()
        current = ref().connections
        if current is not None:
            await current.aclose()

    app = Starlette(
        lifespan=lifespan,
        routes=routes,
        middleware=[
            Middleware(Observability, metrics=metrics, access_log=access_log, routes=route_names, runtime=ref),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )
    app.state.runtime = ref
    app.state.metrics = metrics
    app.state.reloader = reloader
    return app


def app_from_env() -> Starlette:
    """Factory for `uvicorn --factory` workers: PERSONALIZE_CONFIG (unset: the demo), PERSONALIZE_ACCESS_LOG."""
    access_log = AccessLog(enabled=os.environ.get("PERSONALIZE_ACCESS_LOG", "1") == "1")
    app = create_app(load_runtime(os.environ.get("PERSONALIZE_CONFIG") or None), access_log=access_log)
    gc.freeze()  # the compiled config lives as long as the process: keep it out of every GC pass
    return app
