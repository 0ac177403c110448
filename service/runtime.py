"""The compiled runtime: projects with their catalogs, settings and management credentials.

Built once per config load (service/config/build.py); immutable; swapped whole on reload.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from connections import Connection, Connections
from decision_models import Audience, Catalog, DecisionModel

if TYPE_CHECKING:
    from .profiles.model import Segments
    from .triggers import TriggerSet


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    name: str
    client_key: str
    context_ids: tuple[str, ...]
    contentstack_project_uid: str
    catalog: Catalog
    models: Mapping[str, DecisionModel] = field(default_factory=dict)
    audiences: Mapping[str, Audience] = field(default_factory=dict)
    connections: Mapping[str, Connection] = field(default_factory=dict, repr=False)
    allowed_origins: frozenset[str] = frozenset()
    # Segment write keys are secrets: kept out of repr so they never reach a log or a trace.
    segment_write_keys: tuple[str, ...] = field(default=(), repr=False)
    triggers: TriggerSet | None = None  # the active triggered experiences; None when there are none
    # The segments a guest view is in (audiences marked segment: true); None when there is none.
    segments: Segments | None = None

    def allows_origin(self, origin: str) -> bool:
        return "*" in self.allowed_origins or origin in self.allowed_origins


@dataclass(frozen=True, slots=True)
class Runtime:
    projects: Mapping[str, Project]
    by_client_key: Mapping[str, Project]
    by_context_id: Mapping[str, Project]
    default_deadline_ms: int
    max_body_bytes: int
    source: str  # the config path, or "(embedded demo)"
    by_write_key: Mapping[str, Project] = field(default_factory=dict, repr=False)  # Segment write keys: secrets
    by_edge_uid: Mapping[str, Project] = field(default_factory=dict)  # Contentstack project uid, or the id
    management_tokens: tuple[bytes, ...] = field(default=(), repr=False)
    connections: Connections | None = None  # every outbound call of this config's connections
    sandbox_secret: str | None = field(default=None, repr=False)  # set: mount the demo's sandbox API
    body_timeout: float = 10.0  # seconds for a request body to arrive in full
    management_origins: frozenset[str] = frozenset()  # CORS for the management-token endpoints
    profile_max_events: int = 1000  # events kept per guest
    retention_days: int = 365  # events and guests older than this are pruned
    storage_url: str | None = field(default=None, repr=False)  # postgresql://…; None: SQLite in the data dir
    storage_schema: str = "personalize"
    run_worker: bool = True  # deliver triggered pushes from `personalize serve` (settings.triggers.worker)
    session_timeout: float = 1800.0  # seconds without an event that close a touch (sessionClosed triggers)

    def is_management_token(self, token: str) -> bool:
        """Constant-time check of a bearer token against every configured management token."""
        candidate = token.encode()
        matched = False
        for known in self.management_tokens:
            matched |= hmac.compare_digest(candidate, known)
        return matched and bool(candidate)

    def any_origin_allowed(self, origin: str) -> bool:
        return any(p.allows_origin(origin) for p in self.projects.values())


class RuntimeRef:
    """The config being served; replaced whole (never mutated) when config is reloaded."""

    def __init__(self, runtime: Runtime) -> None:
        self.current = runtime

    def __call__(self) -> Runtime:
        return self.current
