"""Every route of the service, each declared once in its dialect's package; the app, the OpenAPI document
and the Postman collection are three views of this table (tests/test_routes.py checks they agree)."""

from __future__ import annotations

from .contentstack.routes import EDGE_ROUTES
from .demo.sandbox import SANDBOX_ROUTES
from .http.operations import OPERATIONS_ROUTES
from .http.routing import RouteSpec
from .management.deliveries import DELIVERY_ROUTES
from .management.guests import GUEST_ROUTES
from .management.routes import MANAGEMENT_ROUTES
from .management.triggers import TRIGGER_ROUTES
from .runtime import Runtime
from .segment.routes import SEGMENT_ROUTES
from .sitecore.events import EVENTS_ROUTES
from .sitecore.routes import SITECORE_ROUTES

# The SDKs' hot paths first: Starlette tries routes in order.
ROUTES: tuple[RouteSpec, ...] = (
    *SITECORE_ROUTES,
    *EVENTS_ROUTES,
    *SEGMENT_ROUTES,
    *EDGE_ROUTES,
    *MANAGEMENT_ROUTES,
    *GUEST_ROUTES,
    *DELIVERY_ROUTES,
    *TRIGGER_ROUTES,
    *OPERATIONS_ROUTES,
    *SANDBOX_ROUTES,
)


def served(runtime: Runtime) -> tuple[RouteSpec, ...]:
    """The routes a config serves (the demo sandbox only where it is configured)."""
    return tuple(spec for spec in ROUTES if spec.enabled(runtime))
