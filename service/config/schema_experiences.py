"""The config of interactive experiences: targeting, variants and versions (triggered experiences reuse
`Version` for their variants)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from .schema_base import ID, Model, require_unique

FRIENDLY_ID = r"^[a-z0-9_]+$"


class Targeting(Model):
    channels: list[str] = Field(default_factory=list, description="Empty: every channel.")
    points_of_sale: list[str] = Field(default_factory=list, description="Empty: every point of sale.")


class Variant(Model):
    id: str = Field(pattern=ID)
    name: str = ""
    weight: int | None = Field(None, ge=0, le=10_000, description="A/B share in basis points (10000 = 100 %).")
    audience: str | None = Field(None, description="Segmented: the audience this variant serves.")
    control: bool = Field(False, description="A/B control: returns the experience's fallback.")
    decision_models: list[str] = Field(default_factory=list)
    response: Any = Field(None, description="JSON template; `${path}` placeholders insert typed values.")


class Version(Model):
    type: Literal["segmented", "ab"]
    targeting: Targeting = Field(default_factory=Targeting)
    audience: str | None = None
    deadline_ms: int | None = Field(None, ge=1, le=60_000)
    fallback: Any = Field(default_factory=dict, description="JSON template returned on failure or control.")
    variants: list[Variant] = Field(min_length=1)

    @model_validator(mode="after")
    def _variants_fit_type(self) -> Version:
        if self.type == "ab":
            total = sum(v.weight or 0 for v in self.variants)
            if total != 10_000:
                raise ValueError(f"A/B variant weights must add up to 10000 basis points, not {total}")
        else:
            for v in self.variants:
                if v.weight is not None or v.control:
                    raise ValueError(f"variant {v.id}: weight and control are for A/B experiences only")
        require_unique((v.id for v in self.variants), "variant ids")
        return self


class Experience(Version):
    friendly_id: str = Field(pattern=FRIENDLY_ID)
    id: str | None = Field(None, pattern=ID, description="Bucketing salt; defaults to friendlyId.")
    project: str | None = None
    name: str = ""
    status: Literal["draft", "active", "paused"] = "draft"
    tags: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] = Field(
        default_factory=list, description="Labels the Contentstack manifest filters on (`tags[]`, case-insensitive)."
    )
    draft: Version | None = Field(None, description="A draft version beside the live one, run only in preview.")
