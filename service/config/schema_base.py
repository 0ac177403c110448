"""The base of every config model: camelCase keys like the Sitecore wire format, unknown keys are errors."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

ID = r"^[A-Za-z0-9_.-]+$"
NODE_ID = r"^[A-Za-z_][A-Za-z0-9_]*$"


class Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=False, frozen=True, hide_input_in_errors=True
    )


def require_unique(ids: Iterable[str], what: str) -> None:
    """A validator's check that no id is given twice (ValueError naming the repeated ones)."""
    repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
    if repeated:
        raise ValueError(f"{what} must be unique, repeated: {', '.join(repeated)}")
