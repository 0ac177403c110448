"""Runtime wiring: the Starlette application, its routes and middleware."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import os
import time
from collections.abc import AsyncIterator, Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .config import DEMO_SOURCE, load_runtime
from .contentstack.edge import EdgeApi
from .delivery.worker import DeliveryWorker
from .demo.sandbox import Sandbox
from .http import server
from .http.access_log import AccessLog
from .http.errors import ApiError, dialect_for_path, render_error
from .http.hot_path import HotPath
from .http.metrics import Metrics
from .http.middleware import Observability
from .http.operations import OperationsApi
from .http.routing import Access, starlette_routes
from .management.api import ManagementApi
from .management.connection_testing import ConnectionsApi
from .management.deliveries import DeliveriesApi
from .management.guests import GuestsApi
from .management.reloading import Reloader, ReloadOutcome, install_sighup, watching
from .management.triggers import TriggersApi
from .openapi import build_openapi
from .profiles import GuestCache, ProfileStore, privacy
from .routes import served
from .runtime import Runtime, RuntimeRef
from .segment.tracking import TrackingApi
from .sitecore.browser import BrowserApi
from .sitecore.callflows import InteractiveApi
from .sitecore.events import EventsApi
from .sitecore.model_testing_api import ModelsApi

# uvicorn configures this logger (stderr, its format): operational events of the server go there.
_server_log = logging.getLogger("uvicorn.error")
RETENTION_INTERVAL = 3600.0  # seconds between retention passes


def route_methods(routes: list[Route]) -> list[tuple[str, str]]:
    """Every (method, path) the app answers, HEAD left out."""
    return [(m.lower(), r.path) for r in routes for m in sorted(r.methods or ()) if m != "HEAD"]


def package_version() -> str:
    try:
        return version("personalize")
    except PackageNotFoundError:
        return "0+unknown"


def _report_reload(log: AccessLog, outcome: ReloadOutcome) -> None:
    """Every reload, whatever triggered it (API, SIGHUP, file change), in the log and on stderr."""
    body = outcome.body()
    log.write({"event": "config_reload", **body})
    errors = "; ".join(f"{e['file']}: {e['path']}: {e['message']}" for e in body["errors"])
    if outcome.ok:
        _server_log.info("config %s reloaded (%s, %.0f ms)", body["config"], outcome.trigger, outcome.ms)
    else:
        _server_log.warning("config %s rejected (%s): %s", body["config"], outcome.trigger, errors)


async def _http_error(request: Request, exc: Exception) -> Response:
    """A 404 or 405 no route answered, in the dialect of its path."""
    assert isinstance(exc, HTTPException)
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (exc.headers or {}).items()]
    error = ApiError(exc.status_code, exc.detail or "error")
    return render_error(dialect_for_path(request.url.path), error, headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    # A bug, never something the client sent; the detail stays in the server log.
    error = ApiError(500, "internal error; see the server log for this X-Decision-Id")
    return render_error(dialect_for_path(request.url.path), error)


async def _retention(ref: RuntimeRef, store: ProfileStore) -> None:
    """Prune old events and guests once an hour (and at start), by the config's settings.profiles."""
    while True:
        days = ref().retention_days
        counts = await privacy.prune(store, before=time.time() - days * 86_400)
        if any(counts.values()):
            _server_log.info(
                "retention (%d days): pruned %d events, %d guests", days, counts["events"], counts["guests"]
            )
        await asyncio.sleep(RETENTION_INTERVAL)


@contextlib.asynccontextmanager
async def _lifespan(
    app: Starlette, ref: RuntimeRef, reloader: Reloader, log: AccessLog, store: ProfileStore, metrics: Metrics
) -> AsyncIterator[None]:
    current = ref().connections
    if current is not None:
        current.warm()
    install_sighup(reloader)
    watcher = asyncio.ensure_future(reloader.watch()) if watching() else None
    retention = asyncio.ensure_future(_retention(ref, store))
    delivering = None
    if ref().run_worker and any(p.triggers is not None for p in ref().projects.values()):
        worker = DeliveryWorker(store, ref, metrics=metrics.deliveries)
        store.on_deliveries.append(worker.wake)
        delivering = asyncio.ensure_future(worker.run())
    yield
    log.flush()  # uvicorn's shutdown runs this; an atexit hook did not run on SIGTERM
    retention.cancel()
    if delivering is not None:
        delivering.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await delivering
    if watcher is not None:
        watcher.cancel()
    current = ref().connections
    if current is not None:
        await current.aclose()


class ServiceApp(Starlette):
    """Starlette, with the hot path (service/http/hot_path.py) in front of its routing and middleware."""

    hot_path: HotPath | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.hot_path is None:
            await super().__call__(scope, receive, send)
        else:
            await self.hot_path(scope, receive, send)


def create_app(
    runtime: Runtime,
    metrics: Metrics | None = None,
    access_log: AccessLog | None = None,
    env: Mapping[str, str] | None = None,
    store: ProfileStore | None = None,
) -> Starlette:
    """The service for one compiled config (reloaded from the same source, with `env` or the process's).
    `store` keeps guest profiles across reloads; without one, an in-memory database (tests, `call`)."""
    ref = RuntimeRef(runtime)
    guests = GuestCache(store or ProfileStore(":memory:"))
    metrics = metrics or Metrics()
    log = access_log or AccessLog(enabled=False)
    source = None if runtime.source == DEMO_SOURCE else runtime.source
    reloader = Reloader(ref, source, env, functools.partial(_report_reload, log))
    specs = served(runtime)
    instances: dict[type, Any] = {
        InteractiveApi: InteractiveApi(ref, metrics, guests),
        EventsApi: EventsApi(ref, guests),
        TrackingApi: TrackingApi(ref, guests),
        GuestsApi: GuestsApi(ref, guests),
        DeliveriesApi: DeliveriesApi(ref, guests),
        TriggersApi: TriggersApi(ref, guests),
        EdgeApi: EdgeApi(ref, guests),
        BrowserApi: BrowserApi(ref),
        ModelsApi: ModelsApi(ref),
        ConnectionsApi: ConnectionsApi(ref),
        ManagementApi: ManagementApi(ref, reloader),
        OperationsApi: OperationsApi(ref, metrics, lambda: build_openapi(specs, package_version()), guests.store),
    }
    if runtime.sandbox_secret is not None:
        hooks = runtime.connections.connections.get("demo_webhooks") if runtime.connections else None
        instances[Sandbox] = Sandbox("demo-client", runtime.sandbox_secret, hooks.signing if hooks else ())
    routes = starlette_routes(specs, instances, ref)
    route_names = {route.endpoint: route.path for route in routes}

    app = ServiceApp(
        lifespan=functools.partial(_lifespan, ref=ref, reloader=reloader, log=log, store=guests.store, metrics=metrics),
        routes=routes,
        middleware=[Middleware(Observability, metrics=metrics, access_log=log, routes=route_names, runtime=ref)],
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )
    hot = {
        (spec.method, spec.path): (functools.partial(spec.handler, instances[spec.owner]), spec.dialect)
        for spec in specs
        if spec.hot and spec.access is Access.PUBLIC  # the hot path checks no management token
    }
    edge = Observability(app, metrics=metrics, access_log=log, routes=route_names, runtime=ref)
    app.hot_path = HotPath(functools.partial(Starlette.__call__, app), hot, edge, ref)
    app.state.runtime = ref
    app.state.metrics = metrics
    app.state.reloader = reloader
    return app


def default_data_dir() -> Path:
    """Where `personalize serve` keeps its data without --data-dir: $XDG_DATA_HOME/personalize."""
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "personalize"


def open_profile_store(runtime: Runtime, data_dir: str | None) -> ProfileStore:
    """The configured PostgreSQL schema (settings.storage.url), else profiles.sqlite3 in the data directory."""
    if runtime.storage_url:
        return ProfileStore(runtime.storage_url, runtime.profile_max_events, schema=runtime.storage_schema)
    return ProfileStore(Path(data_dir or default_data_dir()) / "profiles.sqlite3", runtime.profile_max_events)


def app_from_env() -> Starlette:
    """Factory for `uvicorn --factory` workers: PERSONALIZE_CONFIG (unset: the demo), PERSONALIZE_ACCESS_LOG."""
    access_log = AccessLog(enabled=os.environ.get("PERSONALIZE_ACCESS_LOG", "1") == "1")
    runtime = load_runtime(os.environ.get("PERSONALIZE_CONFIG") or None)
    server.BODY_TIMEOUT = runtime.body_timeout  # the protocol's body deadline (read when the worker starts)
    store = open_profile_store(runtime, os.environ.get("PERSONALIZE_DATA_DIR"))
    app = create_app(runtime, access_log=access_log, store=store)
    gc.freeze()  # the compiled config lives as long as the process: keep it out of every GC pass
    return app
