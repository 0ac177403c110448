"""Shared fixtures: the demo app, an in-process HTTP client, config files written to tmp_path."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from service.app import create_app
from service.config import load_runtime
from service.http.metrics import Metrics
from tests.servers.upstream import RunningUpstream, UpstreamState, build_app, free_port, serve

MANAGEMENT_TOKEN = "demo-management-token"
REFERENCE = Path(__file__).with_name("reference.yaml")  # matches the reference's request bodies


@pytest.fixture
def demo_app() -> Starlette:
    return create_app(load_runtime(env={}), Metrics())


@pytest.fixture
async def client(demo_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=demo_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def ref_client() -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app on tests/reference.yaml."""
    async with app_client(create_app(load_runtime(REFERENCE, env={}), Metrics())) as c:
        yield c


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a YAML file (dedented) under tmp_path and return its path."""

    def write(text: str, name: str = "config.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


def app_client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


@pytest.fixture(scope="session")
def upstream() -> Iterator[RunningUpstream]:
    """A real HTTP upstream + OAuth2 token server on 127.0.0.1 (tests/servers/upstream.py)."""
    state = UpstreamState()
    port = free_port()
    for _ in serve(build_app(state), port):
        yield RunningUpstream(f"http://127.0.0.1:{port}", state)


@pytest.fixture
def fresh_upstream(upstream: RunningUpstream) -> RunningUpstream:
    upstream.state.reset()
    return upstream
