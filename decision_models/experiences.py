"""Compiled, immutable experiences: what config loading builds and the engine evaluates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .decision_model import DecisionModel
from .expressions import Condition
from .templates import Template

# What audience rules may read, and what templates may read.
CONDITION_ROOTS = ("request", "params", "headers", "guest")
TEMPLATE_ROOTS = ("request", "params", "experience", "variant", "decisions", "guest")


class Status(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"


class Kind(StrEnum):
    SEGMENTED = "segmented"
    AB = "ab"


@dataclass(frozen=True, slots=True)
class Audience:
    id: str
    name: str
    condition: Condition
    segment: bool = False  # membership kept current on every stored event (service/profiles/segments.py)


@dataclass(frozen=True, slots=True)
class Variant:
    id: str
    name: str
    response: Template
    weight: int = 0  # basis points, A/B only
    audience: Audience | None = None  # segmented only; None matches everyone
    control: bool = False  # A/B control: returns the experience's fallback
    models: tuple[DecisionModel, ...] = ()
    summary: Mapping[str, Any] = field(default_factory=dict)  # what templates see as `variant`
    models_async: bool = field(init=False)  # some model has plugin or connection nodes: its run may wait

    def __post_init__(self) -> None:
        object.__setattr__(self, "models_async", any(model.has_async for model in self.models))


@dataclass(frozen=True, slots=True)
class ExperienceVersion:
    """One version of an experience: the live one, or a draft beside it."""

    label: str  # "live" or "draft"
    kind: Kind
    variants: tuple[Variant, ...]
    fallback: Template
    channels: frozenset[str] = frozenset()  # empty: every channel
    points_of_sale: frozenset[str] = frozenset()  # empty: every point of sale
    audience: Audience | None = None
    deadline_ms: int | None = None
    bounds: tuple[int, ...] = ()  # cumulative A/B weights, basis points


@dataclass(frozen=True, slots=True)
class Experience:
    id: str  # bucketing salt; defaults to friendlyId
    friendly_id: str
    name: str
    status: Status
    live: ExperienceVersion
    draft: ExperienceVersion | None = None
    tags: frozenset[str] = frozenset()  # lower-case; the Contentstack manifest's `tags[]` filter
    summary: Mapping[str, Any] = field(default_factory=dict)  # what templates see as `experience`
    # Some audience, template or model of its live or draft version reads `guest` (or may: a rule whose
    # paths are only known at run time): a decision for it loads the visitor's profile. Built configs
    # say False where nothing does, so a decision never waits on the store for a profile it ignores.
    reads_guest: bool = True


@dataclass(frozen=True, slots=True)
class Catalog:
    """Every experience of one project, indexed for lookup by friendlyId and by prefix."""

    experiences: Mapping[str, Experience]
    ordered_ids: tuple[str, ...]  # lexicographic, for `prefix*` lookups
    # Nested params paths that config reads, so `_`-flattened params (Engage SDK) can be unflattened.
    param_paths: tuple[tuple[str, ...], ...] = ()
    reads_headers: bool = False
    reads_guest: bool = False  # some audience, template or model reads `guest`: decisions load the profile
    guest_readers: frozenset[str] = field(init=False)  # the friendlyIds whose experience reads `guest`

    def __post_init__(self) -> None:
        readers = (
            frozenset(fid for fid, e in self.experiences.items() if e.reads_guest) if self.reads_guest else frozenset()
        )
        object.__setattr__(self, "guest_readers", readers)

    @classmethod
    def build(
        cls,
        experiences: Mapping[str, Experience],
        param_paths: set[tuple[str, ...]],
        reads_headers: bool,
        reads_guest: bool = False,
    ) -> Catalog:
        return cls(
            experiences=dict(experiences),
            ordered_ids=tuple(sorted(experiences)),
            param_paths=tuple(sorted(param_paths)),
            reads_headers=reads_headers,
            reads_guest=reads_guest,
        )

    def reads_guest_for(self, friendly_id: str) -> bool:
        """Whether deciding `friendly_id` may read the visitor's profile (`guest`)."""
        if not friendly_id.endswith("*"):
            return friendly_id in self.guest_readers
        return any(e.reads_guest for e in self.candidates(friendly_id)) if self.guest_readers else False

    def candidates(self, friendly_id: str) -> list[Experience]:
        """The experience named exactly, or every one whose id starts with the prefix before `*`."""
        if friendly_id.endswith("*"):
            prefix = friendly_id[:-1]
            return [self.experiences[i] for i in self.ordered_ids if i.startswith(prefix)]
        found = self.experiences.get(friendly_id)
        return [found] if found is not None else []
