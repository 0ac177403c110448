"""Validating a client's JSON body into a pydantic model, with numbers the rest of the service can hold.

JSON allows integers of any size; orjson (responses) and the condition engine stop at 64 bits, so a
`10^30` in `params` once answered 500. A body holding a run of 19 or more digits (the shortest integer
outside 64 bits) is parsed by the standard library and such integers become floats; every other body
takes pydantic's own JSON parser, so the common case pays one regex scan (~0.1 us for 200 bytes).
"""

from __future__ import annotations

import json
import re
from typing import NoReturn, TypeVar

from pydantic import BaseModel

from decision_models import widen_numbers

Model = TypeVar("Model", bound=BaseModel)
_LONG_NUMBER = re.compile(rb"\d{19}")


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity: let pydantic word the error


def validate_json(model: type[Model], raw: bytes) -> Model:
    """`model` validated from `raw` (pydantic's ValidationError on bad input, as model_validate_json)."""
    if _LONG_NUMBER.search(raw) is None:
        return model.model_validate_json(raw)
    try:
        data = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):  # malformed, not UTF-8, too deep: pydantic's error names it
        return model.model_validate_json(raw)
    return model.model_validate(widen_numbers(data))
