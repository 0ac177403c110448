"""Shared fixtures: the demo app, an in-process HTTP client, config files written to tmp_path."""

from __future__ import annotations

import os
import re
import ssl
import textwrap
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from starlette.applications import Starlette

from service.app import create_app
from service.config import demo_config_path, load_runtime
from service.http.metrics import Metrics
from service.profiles import ProfileStore
from tests.servers.tls import Pki, make_pki
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


@pytest.fixture(scope="session")
def tls_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningUpstream, Pki]]:
    pki = make_pki(tmp_path_factory.mktemp("pki"))
    state = UpstreamState()
    port = free_port()
    tls = {
        "ssl_certfile": str(pki.server_cert),
        "ssl_keyfile": str(pki.server_key),
        "ssl_ca_certs": str(pki.ca),
        "ssl_cert_reqs": ssl.CERT_REQUIRED,
    }
    for _ in serve(build_app(state), port, **tls):
        yield RunningUpstream(f"https://127.0.0.1:{port}", state), pki


@pytest.fixture
def fresh_upstream(upstream: RunningUpstream) -> RunningUpstream:
    upstream.state.reset()
    return upstream


POSTGRES_URL = os.environ.get("PERSONALIZE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


class OpenStore:
    """Opens a ProfileStore on one test's database; every call opens the same one (a reopen, a second process)."""

    def __init__(self, backend: str, tmp_path: Path) -> None:
        self.postgres = backend == "postgresql"
        self.target: str | Path = POSTGRES_URL if self.postgres else tmp_path / "data" / "profiles.sqlite3"
        self.schema = f"test_{uuid.uuid4().hex[:20]}" if self.postgres else "personalize"
        self.opened: list[ProfileStore] = []

    def __call__(self, **options: Any) -> ProfileStore:
        self.opened.append(ProfileStore(self.target, schema=self.schema, **options))
        return self.opened[-1]

    def serve_args(self, tmp_path: Path, config: str = "") -> list[str]:
        """`personalize serve` arguments for a served process on this database (the config given, plus
        settings.storage on PostgreSQL; SQLite is the data directory)."""
        if not self.postgres:
            args = ["--data-dir", str(Path(self.target).parent)]
            if not config:
                return args
        else:
            args = []
            storage = f"settings:\n  storage: {{url: '{POSTGRES_URL}', schema: {self.schema}}}\n"
            config = config or demo_config_path().read_text(encoding="utf-8")
            found = re.search(r"(?m)^settings:[ \t]*\n", config)  # storage joins the config's own settings
            config = config[: found.start()] + storage + config[found.end() :] if found else storage + config
        path = tmp_path / f"served-{uuid.uuid4().hex[:8]}.yaml"
        path.write_text(config, encoding="utf-8")
        return [*args, "--config", str(path)]

    def close(self) -> None:
        for store in self.opened:
            store.close()
        if self.postgres:
            with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
                db.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenStore]:
    """The profile store's two backends. PostgreSQL is the machine's server (trust auth, database `test`;
    PERSONALIZE_TEST_POSTGRES overrides), a schema of its own per test, dropped afterwards. Never skipped:
    .ci/run starts the server when it is down."""
    opener = OpenStore(request.param, tmp_path)
    yield opener
    opener.close()


@pytest.fixture
def store(open_store: OpenStore) -> ProfileStore:
    return open_store()
