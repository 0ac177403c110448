"""The Sitecore callFlows body as clients send it, and its normalization into a DecisionRequest.

Tolerant by design (docs/wire-formats.md, "The callFlows body"): `currency` or `currencyCode`, empty strings
for clientKey / pointOfSale / browserId / guestRef, `identifiers` as an object, nested or `_`-flattened
params, any case of language, undocumented `variants` and `guestRef`, the legacy `context` wrapper.
Unknown keys are ignored; known keys of the wrong type are a 400 that names the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from decision_models import Catalog, DecisionRequest, visitor_key

from ..http.json_bodies import body_error, parse


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


def parse_body(raw: bytes) -> CallFlowBody:
    """Parse a callFlows body, or raise ApiError (400) naming the first wrong field."""
    body = parse(CallFlowBody, raw)
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
    body: CallFlowBody,
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
