"""The Sitecore callFlows body as clients send it, and its normalization into a DecisionRequest.

Tolerant by design (docs/wire-formats.md, "The callFlows body"): `currency` or `currencyCode`, empty strings
for clientKey / pointOfSale / browserId / guestRef, `identifiers` as an object, nested or `_`-flattened
params, any case of language, undocumented `variants` and `guestRef`, the legacy `context` wrapper.
Unknown keys are ignored; known keys of the wrong type are a 400 that names the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from decision_models import Catalog, DecisionRequest, visitor_key

from ..http.json_bodies import NOT_LOADED, body_error, parse


class Identifier(BaseModel):
    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True)
    id: str = ""
    provider: str = ""


class CallFlowBody(BaseModel):
    """Every key any supported client sends to callFlows (all optional at this layer)."""

    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True)

    clientKey: str | None = None
    friendlyId: str | None = None
    channel: str | None = None
    language: str | None = None
    currencyCode: str | None = None
    currency: str | None = None
    pointOfSale: str | None = None
    browserId: str | None = None
    email: str | None = None
    identifiers: Identifier | list[Identifier] | None = None
    guestRef: str | None = None
    params: dict[str, Any] | None = None
    variants: list[str] | None = None
    timeout: int | None = Field(None, ge=0)
    # Legacy Boxever wraps the fields in `context`; JSS getAudience sends geo/utm/referrer/ua there.
    context: dict[str, Any] | None = None


_LEGACY_CONTEXT_KEYS = frozenset(CallFlowBody.model_fields) - {"context", "params"}


@dataclass(slots=True)
class PlainBody:
    """A body whose every field already has its type, as nearly every SDK sends it: checked by `_plain` in
    ~1.2 us where pydantic's validation of the same objects took ~1.9 us; anything else goes to pydantic."""

    clientKey: str | None
    friendlyId: str | None
    channel: str | None
    language: str | None
    currencyCode: str | None
    currency: str | None
    pointOfSale: str | None
    browserId: str | None
    email: str | None
    guestRef: str | None
    params: dict[str, Any] | None
    variants: list[str] | None
    timeout: int | None
    context: dict[str, Any] | None
    identifiers: None = None  # a body with identifiers goes to pydantic


Body = CallFlowBody | PlainBody  # what the rest of the service reads of a callFlows body
_STRINGS = frozenset(name for name, f in CallFlowBody.model_fields.items() if f.annotation == str | None)
_OBJECTS = frozenset(name for name, f in CallFlowBody.model_fields.items() if f.annotation == dict[str, Any] | None)


def _plain(data: Any) -> PlainBody | None:
    """The body when every known field is null or exactly of its type, else None (pydantic then decides:
    coercions such as "5" for timeout, identifiers, errors, and the legacy context wrapper)."""
    if type(data) is not dict:
        return None
    for key, value in data.items():
        if value is None:
            continue
        if key in _STRINGS:
            if type(value) is not str:
                return None
        elif key in _OBJECTS:
            if type(value) is not dict:
                return None
        elif key == "variants":
            if type(value) is not list or any(type(v) is not str for v in value):
                return None
        elif key == "timeout":
            if type(value) is not int or value < 0:
                return None
        elif key == "identifiers":
            return None
    context = data.get("context")
    if context and _LEGACY_CONTEXT_KEYS.intersection(context):
        return None
    get = data.get
    return PlainBody(
        get("clientKey"), get("friendlyId"), get("channel"), get("language"), get("currencyCode"), get("currency"),
        get("pointOfSale"), get("browserId"), get("email"), get("guestRef"), get("params"), get("variants"),
        get("timeout"), context,
    )  # fmt: skip


def parse_body(raw: bytes) -> Body:
    """Parse a callFlows body, or raise ApiError (400) naming the first wrong field."""
    try:
        loaded = orjson.loads(raw)
    except orjson.JSONDecodeError:  # malformed, or a number beyond a double: json_bodies' careful way
        loaded = NOT_LOADED
    else:
        plain = _plain(loaded)
        if plain is not None:
            return plain
    body = parse(CallFlowBody, raw, loaded)
    context = body.context
    if context and _LEGACY_CONTEXT_KEYS.intersection(context):
        # Legacy wrapper {"context": {browserId, clientKey, channel, ...}}: lift the fields to the top.
        merged = {
            **{k: v for k, v in context.items() if k in _LEGACY_CONTEXT_KEYS},
            **body.model_dump(exclude_none=True, exclude={"context"}),
        }
        try:
            return CallFlowBody.model_validate(merged)
        except ValidationError as exc:
            raise body_error(exc, prefix="context.") from None
    return body


def _unflatten(params: dict[str, Any], paths: tuple[tuple[str, ...], ...]) -> dict[str, Any]:
    """Make each config-read path available both nested and `_`-flattened (Engage SDK flattens)."""
    out = params
    for path in paths:
        if len(path) == 1:  # config reads `a_b`: the client may have sent {"a": {"b": ...}}
            if path[0] in out:
                continue
            value: Any = out
            for step in path[0].split("_"):
                value = value.get(step) if isinstance(value, dict) else None
            if value is not None:
                out = out if out is not params else dict(params)
                out[path[0]] = value
            continue
        node: Any = out
        for step in path:
            node = node.get(step) if isinstance(node, dict) else None
        if node is not None:
            continue
        flat = "_".join(path)
        if flat not in out:
            continue
        if out is params:
            out = dict(params)
        target = out
        for step in path[:-1]:
            child = target.get(step)
            child = dict(child) if isinstance(child, dict) else {}
            target[step] = child
            target = child
        target[path[-1]] = out[flat]
    return out


def to_decision_request(
    body: Body,
    catalog: Catalog,
    *,
    friendly_id: str,
    headers: Mapping[str, str] | None = None,
    preview: bool = False,
) -> DecisionRequest:
    """Normalize a parsed body for the engine: upper-case channel/language/currency, params unflattened."""
    identifier = body.identifiers
    if isinstance(identifier, list):
        identifier = identifier[0] if identifier else None
    ident = (identifier.id, identifier.provider) if identifier is not None and identifier.id else None
    key, source = visitor_key(body.browserId, ident, body.email, body.guestRef)
    params = body.params or {}
    if body.context and not body.params:
        params = body.context  # JSS getAudience: geo, utm, referrer, ua
    if catalog.param_paths:
        params = _unflatten(params, catalog.param_paths)
    currency = body.currencyCode or body.currency
    return DecisionRequest(
        friendly_id=friendly_id,
        channel=(body.channel or "WEB").upper(),
        language=body.language.upper() if body.language else None,
        currency=currency.upper() if currency else None,
        point_of_sale=body.pointOfSale or "",
        params=params,
        visitor_key=key,
        visitor_source=source,
        headers=headers if catalog.reads_headers else None,
        page_variants=tuple(body.variants or ()),
        preview=preview,
        timeout_ms=body.timeout or None,
    )
