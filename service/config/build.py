"""Compile validated config into the immutable Runtime: audiences, templates, plugins, catalogs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from connections import Connection, Connections
from decision_models import (
    CONDITION_ROOTS,
    TEMPLATE_ROOTS,
    Audience,
    Catalog,
    DecisionModel,
    Experience,
    ExperienceVersion,
    ExpressionError,
    Kind,
    Status,
    TemplateError,
    Variant,
    compile_condition,
    compile_template,
    cumulative,
)

from ..profiles.segments import evaluator
from ..runtime import Project, Runtime
from ..triggers import Trigger, TriggerSet
from ..triggers.compiled import TRIGGER_ROOTS
from . import schema, schema_triggers
from .connections_build import build_connection
from .errors import ConfigError, ConfigIssue
from .loading import LoadedConfig, Origin
from .models_build import build_model
from .triggers_build import build_trigger


@dataclass
class _ProjectParts:
    audiences: dict[str, Audience] = field(default_factory=dict)
    models: dict[str, DecisionModel] = field(default_factory=dict)
    connections: dict[str, Connection] = field(default_factory=dict)
    experiences: dict[str, Experience] = field(default_factory=dict)
    triggers: dict[str, Trigger] = field(default_factory=dict)
    param_paths: set[tuple[str, ...]] = field(default_factory=set)
    reads_headers: bool = False
    reads_guest: bool = False
    guest_models: set[str] = field(default_factory=set)  # ids of the decision models that read `guest`

    def note_reads(self, reads: tuple[tuple[str, ...], ...]) -> None:
        for path in reads:
            if path[0] == "headers":
                self.reads_headers = True
            elif path[0] == "guest":
                self.reads_guest = True
            elif path[0] == "params" and (len(path) > 2 or (len(path) == 2 and "_" in path[1])):
                self.param_paths.add(path[1:])


def _reads_guest(version: ExperienceVersion | None, guest_models: set[str]) -> bool:
    """Whether deciding this version may read `guest`: an audience, a template or a decision model of it."""
    if version is None:
        return False
    audiences = [a for a in (version.audience, *(v.audience for v in version.variants)) if a is not None]
    templates = [t for t in (version.fallback, *(v.response for v in version.variants)) if t is not None]
    return (
        any(not a.condition.complete or any(p[0] == "guest" for p in a.condition.reads) for a in audiences)
        or any(any(p[0] == "guest" for p in t.reads) for t in templates)
        or any(m.id in guest_models for v in version.variants for m in v.models)
    )


class _Builder:
    def __init__(self, loaded: LoadedConfig) -> None:
        self.loaded = loaded
        self.issues: list[ConfigIssue] = []
        self.connection_ids: set[str] = set()

    def issue(self, origin: Origin, sub: str, message: str) -> None:
        self.issues.append(ConfigIssue(origin.file, f"{origin.path}{sub}", message))

    def items(self, section: str) -> list[tuple[Any, Origin]]:
        return list(zip(self.loaded.items[section], self.loaded.origins[section], strict=True))

    def project_of(self, item: Any, origin: Origin, projects: Mapping[str, schema.Project]) -> str | None:
        if item.project is None:
            if len(projects) == 1:
                return next(iter(projects))
            self.issue(origin, ".project", "required when the config defines more or less than one project")
            return None
        if item.project not in projects:
            self.issue(origin, ".project", f"unknown project '{item.project}'")
            return None
        return str(item.project)

    def projects(self) -> dict[str, tuple[schema.Project, Origin]]:
        out: dict[str, tuple[schema.Project, Origin]] = {}
        keys: dict[str, str] = {}
        contexts: dict[str, str] = {}
        for project, origin in self.items("projects"):
            if project.id in out:
                self.issue(origin, ".id", f"project '{project.id}' is defined twice")
                continue
            out[project.id] = (project, origin)
            if project.client_key:
                if project.client_key in keys:
                    self.issue(origin, ".clientKey", f"already used by project '{keys[project.client_key]}'")
                keys[project.client_key] = project.id
            for i, ctx in enumerate(project.context_ids):
                if ctx in contexts:
                    self.issue(origin, f".contextIds[{i}]", f"already used by project '{contexts[ctx]}'")
                contexts[ctx] = project.id
        return out

    def audience(self, item: schema.Audience, origin: Origin, parts: _ProjectParts) -> None:
        if item.id in parts.audiences:
            self.issue(origin, ".id", f"audience '{item.id}' is defined twice in this project")
            return
        try:
            condition = compile_condition(item.rule, roots=CONDITION_ROOTS)
        except ExpressionError as exc:
            self.issue(origin, ".rule", str(exc))
            return
        parts.note_reads(condition.reads)
        parts.audiences[item.id] = Audience(
            id=item.id, name=item.name or item.id, condition=condition, segment=item.segment
        )

    def connection(self, item: schema.Connection, origin: Origin, parts: _ProjectParts) -> None:
        if item.id in self.connection_ids:
            self.issue(origin, ".id", f"connection '{item.id}' is defined twice (connection ids are global)")
            return
        self.connection_ids.add(item.id)
        compiled = build_connection(item, lambda sub, message: self.issue(origin, sub, message))
        if compiled is not None:
            parts.connections[item.id] = compiled

    def model(self, item: schema.DecisionModel, origin: Origin, parts: _ProjectParts) -> None:
        if item.id in parts.models:
            self.issue(origin, ".id", f"decision model '{item.id}' is defined twice in this project")
            return
        data = {cid for cid, c in parts.connections.items() if c.kind == "data"}
        model = build_model(item, lambda sub, message: self.issue(origin, sub, message), data)
        if model is not None:
            parts.models[item.id] = model
            # Over-approximated: a model that names `guest` anywhere, or has plugin nodes (they may receive
            # the whole context), makes decisions load the visitor's profile. (Matching `"plugin"` once
            # matched every model: its `plugin` shorthand field is in the dump, null when unused.)
            spec = item.model_dump_json()
            if '"guest' in spec or item.plugin is not None or '"kind":"plugin"' in spec:
                parts.reads_guest = True
                parts.guest_models.add(model.id)

    def template(
        self, source: Any, origin: Origin, sub: str, parts: _ProjectParts, roots: tuple[str, ...] = TEMPLATE_ROOTS
    ) -> Any:
        try:
            compiled = compile_template(source, roots=roots)
        except TemplateError as exc:
            self.issue(origin, sub, str(exc))
            return None
        if roots == TEMPLATE_ROOTS:  # what callFlows decisions read (a trigger's templates are not theirs)
            parts.note_reads(compiled.reads)
        return compiled

    def ref(self, table: Mapping[str, Any], name: str | None, what: str, origin: Origin, sub: str) -> Any:
        if name is None:
            return None
        if name not in table:
            self.issue(origin, sub, f"unknown {what} '{name}'")
        return table.get(name)

    def version(
        self,
        item: schema.Version,
        label: str,
        origin: Origin,
        sub: str,
        parts: _ProjectParts,
        roots: tuple[str, ...] = TEMPLATE_ROOTS,
    ) -> ExperienceVersion | None:
        before = len(self.issues)
        variants = []
        for i, v in enumerate(item.variants):
            vsub = f"{sub}.variants[{i}]"
            models = tuple(
                self.ref(parts.models, m, "decision model", origin, f"{vsub}.decisionModels[{j}]")
                for j, m in enumerate(v.decision_models)
            )
            for j, model in enumerate(models):
                if model is not None and not model.production:
                    self.issue(
                        origin,
                        f"{vsub}.decisionModels[{j}]",
                        f"decision model '{model.id}' has no production variant to run",
                    )
            if v.response is None and not v.control:
                self.issue(origin, f"{vsub}.response", "required (a JSON template; {} at the least)")
            variants.append(
                Variant(
                    id=v.id,
                    name=v.name or v.id,
                    response=self.template(
                        v.response if v.response is not None else {}, origin, f"{vsub}.response", parts, roots
                    ),
                    weight=v.weight or 0,
                    audience=self.ref(parts.audiences, v.audience, "audience", origin, f"{vsub}.audience"),
                    control=v.control,
                    models=tuple(m for m in models if m is not None),
                    summary={"id": v.id, "name": v.name or v.id},
                )
            )
        audience = self.ref(parts.audiences, item.audience, "audience", origin, f"{sub}.audience")
        fallback = self.template(item.fallback, origin, f"{sub}.fallback", parts, roots)
        if len(self.issues) > before:
            return None
        kind = Kind(item.type)
        return ExperienceVersion(
            label=label,
            kind=kind,
            variants=tuple(variants),
            fallback=fallback,
            channels=frozenset(c.upper() for c in item.targeting.channels),
            points_of_sale=frozenset(item.targeting.points_of_sale),
            audience=audience,
            deadline_ms=item.deadline_ms,
            bounds=cumulative([v.weight for v in variants]) if kind is Kind.AB else (),
        )

    def experience(self, item: schema.Experience, origin: Origin, parts: _ProjectParts) -> None:
        if item.friendly_id in parts.experiences:
            self.issue(origin, ".friendlyId", f"'{item.friendly_id}' is used twice in this project")
            return
        live = self.version(item, "live", origin, "", parts)
        draft = self.version(item.draft, "draft", origin, ".draft", parts) if item.draft else None
        if live is None or (item.draft is not None and draft is None):
            return
        exp_id = item.id or item.friendly_id
        parts.experiences[item.friendly_id] = Experience(
            id=exp_id,
            friendly_id=item.friendly_id,
            name=item.name or item.friendly_id,
            status=Status(item.status),
            live=live,
            draft=draft,
            tags=frozenset(tag.lower() for tag in item.tags),
            summary={"id": exp_id, "friendlyId": item.friendly_id, "name": item.name or item.friendly_id},
            reads_guest=_reads_guest(live, parts.guest_models) or _reads_guest(draft, parts.guest_models),
        )

    def trigger(self, item: schema_triggers.Trigger, origin: Origin, parts: _ProjectParts) -> None:
        if item.id in parts.triggers:
            self.issue(origin, ".id", f"trigger '{item.id}' is defined twice in this project")
            return
        version = None
        if item.experience is not None:
            roots = (*TEMPLATE_ROOTS, *TRIGGER_ROOTS)
            version = self.version(item.experience, "live", origin, ".experience", parts, roots)
            if version is None:
                return
        compiled = build_trigger(
            item, lambda sub, message: self.issue(origin, sub, message), parts.audiences, parts.connections, version
        )
        if compiled is not None:
            parts.triggers[item.id] = compiled

    def trigger_set(self, parts: _ProjectParts) -> TriggerSet | None:
        active = tuple(t for t in parts.triggers.values() if t.active)
        cap = self.loaded.settings.triggers.cap
        if not parts.triggers:
            return None
        return TriggerSet(active, (cap.count, cap.per_s) if cap else None)

    def build(self, source: str) -> Runtime:
        projects = self.projects()
        raw = {pid: p for pid, (p, _) in projects.items()}
        parts = {pid: _ProjectParts() for pid in projects}
        for section, method in (
            ("audiences", self.audience),
            ("connections", self.connection),
            ("decision_models", self.model),
            ("experiences", self.experience),
            ("triggers", self.trigger),
        ):
            for item, origin in self.items(section):
                pid = self.project_of(item, origin, raw)
                if pid is not None:
                    method(item, origin, parts[pid])
        if self.issues:
            raise ConfigError(self.issues)
        built = {
            pid: Project(
                id=pid,
                name=p.name or pid,
                client_key=p.client_key,
                context_ids=tuple(p.context_ids),
                contentstack_project_uid=p.contentstack_project_uid,
                allowed_origins=frozenset(p.allowed_origins),
                segment_write_keys=tuple(k.get_secret_value() for k in p.segment_write_keys),
                catalog=Catalog.build(
                    parts[pid].experiences, parts[pid].param_paths, parts[pid].reads_headers, parts[pid].reads_guest
                ),
                models=dict(parts[pid].models),
                audiences=dict(parts[pid].audiences),
                connections=dict(parts[pid].connections),
                triggers=self.trigger_set(parts[pid]),
                segments=evaluator(parts[pid].audiences.values()),
            )
            for pid, p in raw.items()
        }
        compiled = {cid: c for project in built.values() for cid, c in project.connections.items()}
        settings = self.loaded.settings
        return Runtime(
            projects=built,
            by_client_key={p.client_key: p for p in built.values() if p.client_key},
            by_context_id={c: p for p in built.values() for c in p.context_ids},
            by_write_key=_first_wins((k, p) for p in built.values() for k in p.segment_write_keys),
            by_edge_uid=_first_wins((k, p) for p in built.values() for k in (p.contentstack_project_uid, p.id) if k),
            default_deadline_ms=settings.default_deadline_ms,
            max_body_bytes=settings.max_body_bytes,
            body_timeout=settings.body_timeout_ms / 1000,
            profile_max_events=settings.profiles.max_events,
            retention_days=settings.profiles.retention_days,
            storage_url=settings.storage.url.get_secret_value() if settings.storage.url else None,
            storage_schema=settings.storage.postgres_schema,
            run_worker=settings.triggers.worker,
            session_timeout=settings.triggers.session_timeout_s,
            source=source,
            management_origins=frozenset(self.loaded.management.allowed_origins),
            management_tokens=tuple(
                t.get_secret_value().encode() for t in self.loaded.management.tokens if t.get_secret_value()
            ),
            connections=Connections(compiled),
            sandbox_secret=settings.sandbox_client_secret.get_secret_value() if settings.sandbox else None,
        )


def build_runtime(loaded: LoadedConfig, source: str) -> Runtime:
    """Compile a loaded config, or raise ConfigError listing every semantic problem."""
    return _Builder(loaded).build(source)


def _first_wins(pairs: Iterable[tuple[str, Project]]) -> dict[str, Project]:
    """Key -> project, the first project in config order keeping a key two of them name."""
    found: dict[str, Project] = {}
    for key, project in pairs:
        found.setdefault(key, project)
    return found
