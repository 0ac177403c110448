"""One declaration per route: the ASGI routing, the OpenAPI document and the Postman collection are all
generated from the same `RouteSpec`s (service/routes.py collects them from each dialect's package).

A handler raises `ApiError` and never renders it: the route's dialect does (Sitecore's callFlows shape,
the browser/stream shape, Contentstack's management shape). A route with `Access.MANAGEMENT` checks the
management token before its handler runs, in one place. Handlers stay plain ASGI callables
`(scope, receive) -> Response`: no Request object and no exception middleware on the hot path.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ..profiles.database import StorageUnavailable
from .errors import ApiError, Dialect, render_error, render_unavailable
from .request import Incoming, require_management

if TYPE_CHECKING:
    from ..runtime import Runtime

JSON = "application/json"
Handler = Callable[[Scope, Receive], Awaitable[Response]]


class Access(StrEnum):
    PUBLIC = "public"
    MANAGEMENT = "management"  # a management bearer token (Authorization: Bearer ...)


@dataclass(frozen=True, slots=True)
class Facts:
    """What the Postman examples of a config name: its experiences, model, connection, audience."""

    has_experiences: bool = False
    ab_friendly_id: str = "example"
    ab_id: str = "example"
    segmented_friendly_id: str = "example"
    segmented_id: str = "example"
    model_id: str | None = None
    connection_id: str | None = None
    connection_inputs: tuple[str, ...] = ()
    audience_id: str | None = None


@dataclass(frozen=True, slots=True)
class Example:
    """One request of the Postman collection for a route: `path` may hold a query and `{{variables}}`."""

    name: str
    path: str
    body: Any = None
    raw_body: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    tests: tuple[str, ...] = ()  # Postman test lines; empty: the status is 200
    authorized: bool | None = None  # None: as the route's access says


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """A route: where it is, what answers it, how it is described, and how to try it."""

    method: str
    path: str
    owner: type  # the API class whose instance answers
    handler: Callable[..., Awaitable[Response]]  # an unbound method of `owner`: (self, scope, receive)
    summary: str
    tag: str
    dialect: Dialect = Dialect.SITECORE
    access: Access = Access.PUBLIC
    body: type[BaseModel] | None = None
    query: tuple[tuple[str, str], ...] = ()  # (name, description)
    headers: tuple[tuple[str, str], ...] = ()
    statuses: tuple[int, ...] = ()  # error statuses it may answer
    content: str = JSON
    examples: Callable[[Facts], list[Example]] = lambda facts: []
    enabled: Callable[[Runtime], bool] = lambda runtime: True  # e.g. the demo sandbox only when configured
    hot: bool = False  # dispatched by exact path before Starlette's routing (service/http/hot_path.py)


class Endpoint:
    """A route's handler as a plain ASGI app; one object per route, so metrics label by route path."""

    __slots__ = ("access", "dialect", "handler", "runtime")

    def __init__(self, handler: Handler, dialect: Dialect, access: Access, runtime: Callable[[], Runtime]) -> None:
        self.handler, self.dialect, self.access, self.runtime = handler, dialect, access, runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            if self.access is Access.MANAGEMENT:
                require_management(Incoming(scope), self.runtime())
            response = await self.handler(scope, receive)
        except ApiError as exc:
            response = render_error(self.dialect, exc)
        except StorageUnavailable as exc:
            response = render_unavailable(self.dialect, exc)
        await response(scope, receive, send)


def starlette_routes(
    specs: tuple[RouteSpec, ...], instances: Mapping[type, Any], runtime: Callable[[], Runtime]
) -> list[Route]:
    """The Starlette routes of `specs`, each handler bound to its owner's instance."""
    routes = []
    for spec in specs:
        bound: Handler = functools.partial(spec.handler, instances[spec.owner])
        routes.append(Route(spec.path, Endpoint(bound, spec.dialect, spec.access, runtime), methods=[spec.method]))
    return routes


def status(code: int) -> str:
    """A Postman test line: the answer has this status."""
    return f"pm.test('status {code}', () => pm.response.to.have.status({code}));"


def has(*fields: str) -> str:
    """A Postman test line: the JSON answer has these top-level fields."""
    checks = " ".join(f"pm.expect(body).to.have.property('{f}');" for f in fields)
    return f"pm.test('fields: {', '.join(fields)}', () => {{ const body = pm.response.json(); {checks} }});"
