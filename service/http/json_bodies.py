"""Validating a client's JSON body into a pydantic model, with numbers the rest of the service can hold.

JSON allows integers of any size; orjson (responses) and the condition engine stop at 64 bits, so a
`10^30` in `params` once answered 500. orjson parses the body and already turns an integer beyond 64 bits
into the nearest double; pydantic validates the objects it made. Measured on the callFlows body (~300 B):
2.6 us, against 5.0 us for a scan for runs of 19 digits (2 us, not the 0.1 us once assumed) plus pydantic's
own JSON parser. Whatever orjson refuses (malformed, a number beyond a double) or pydantic rejects goes the
careful way: the standard library's parser with such integers widened, and pydantic's JSON mode, whose
wording of the error ("Input should be an object") is what clients have always been told.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, NoReturn, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from decision_models import widen_numbers

from .errors import ApiError

Model = TypeVar("Model", bound=BaseModel)
_LONG_NUMBER = re.compile(rb"\d{19}")


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity: let pydantic word the error


# Union members and model names appear in pydantic's error locations (`list[Identifier]`, `str`): not fields.
_TYPE_TAG = re.compile(r"^(str|int|float|bool|list|dict|[A-Z]\w*)(\[.*\])?$")


def error_field(loc: Sequence[int | str], prefix: str = "") -> str:
    """The field a pydantic error location names, as a client wrote it (`identifiers.0.id`)."""
    return prefix + ".".join(str(p) for p in loc if not (isinstance(p, str) and _TYPE_TAG.match(p)))


def body_error(exc: ValidationError, prefix: str = "") -> ApiError:
    """The 400 for a body that does not validate, naming its first wrong field (the one such helper)."""
    error = exc.errors(include_input=False, include_url=False)[0]
    if error["type"] == "json_invalid":
        return ApiError(400, f"malformed JSON: {error['msg']}", "(body)")
    field = error_field(error["loc"], prefix)
    if not field:
        return ApiError(400, "the body must be a JSON object", "(body)")
    return ApiError(400, f"{field}: {error['msg']}", field)


NOT_LOADED: Any = object()  # `loaded`'s default: the body has not been parsed yet


def parse(model: type[Model], raw: bytes, loaded: Any = NOT_LOADED) -> Model:
    """`model` from a client's body, or the 400 naming the first wrong field. `loaded`: what orjson made of
    `raw` already, when the caller parsed it (not parsed again)."""
    try:
        return validate_json(model, raw, loaded)
    except ValidationError as exc:
        raise body_error(exc) from None


def validate_json(model: type[Model], raw: bytes, loaded: Any = NOT_LOADED) -> Model:
    """`model` validated from `raw` (pydantic's ValidationError on bad input, as model_validate_json)."""
    if loaded is NOT_LOADED:
        try:
            loaded = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return _validate_carefully(model, raw)
    try:
        return model.model_validate(loaded)
    except ValidationError:  # raised again by the JSON mode, in its words
        return _validate_carefully(model, raw)


def _validate_carefully(model: type[Model], raw: bytes) -> Model:
    if _LONG_NUMBER.search(raw) is None:
        return model.model_validate_json(raw)
    try:
        data = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):  # malformed, not UTF-8, too deep: pydantic's error names it
        return model.model_validate_json(raw)
    return model.model_validate(widen_numbers(data))
