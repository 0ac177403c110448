"""A decision request as every wire dialect normalizes it, and the roots a decision reads from it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class DecisionRequest:
    """A normalized request: what every wire dialect is turned into before deciding."""

    friendly_id: str
    channel: str = "WEB"
    language: str | None = None
    currency: str | None = None
    point_of_sale: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    visitor_key: str | None = None
    visitor_source: str | None = None
    headers: Mapping[str, str] | None = None
    guest: dict[str, Any] = field(default_factory=dict)
    page_variants: tuple[str, ...] = ()
    preview: bool = False
    timeout_ms: int | None = None  # the client's own timeout, when it sends one
    extra: Mapping[str, Any] | None = None  # more roots for templates (a triggered experience's event, segment)


def visitor_key(
    browser_id: str | None, identifier: tuple[str, str] | None, email: str | None, guest_ref: str | None
) -> tuple[str | None, str | None]:
    """The bucketing key and where it came from: browserId, else identifiers, else email, else guestRef."""
    if browser_id:
        return browser_id, "browserId"
    if identifier is not None and identifier[0]:
        provider, ident = identifier[1], identifier[0]
        return f"{provider}:{ident}", "identifiers"
    if email:
        return email.strip().lower(), "email"
    if guest_ref:
        return guest_ref, "guestRef"
    return None, None


def request_context(request: DecisionRequest) -> dict[str, Any]:
    """The roots audiences, templates and models read, built from a request: the one builder, shared by
    every decision and by the decision-model test endpoint, so a model sees the same either way."""
    return {
        "request": {
            "friendlyId": request.friendly_id,
            "channel": request.channel,
            "language": request.language,
            "currency": request.currency,
            "pointOfSale": request.point_of_sale,
            "variants": list(request.page_variants),
        },
        "params": request.params,
        "headers": request.headers or {},
        "guest": request.guest,
        **(request.extra or {}),
    }
