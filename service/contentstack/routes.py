"""The Edge API's routes, declared once (service/http/routing.py)."""

from __future__ import annotations

from ..http.errors import Dialect
from ..http.routing import Example, RouteSpec, has, status
from .edge import EdgeApi

HEADERS = (
    ("x-project-uid", "The project: its contentstackProjectUid (or id)"),
    ("x-cs-personalize-user-uid", "The user (also x-cs-eclipse-user-uid); minted by /manifest when absent"),
)
PROJECT = {"x-project-uid": "demo", "x-cs-personalize-user-uid": "postman-user"}
TAG = "Contentstack Edge API"

EDGE_ROUTES: tuple[RouteSpec, ...] = (
    RouteSpec(
        "GET", "/manifest", EdgeApi, EdgeApi.manifest,
        "The experiences in priority order with the user's active variant; returns the user uid",
        TAG, Dialect.CONTENTSTACK, query=(("tags[]", "Experience tags (repeatable)"),), headers=HEADERS,
        statuses=(400, 404), hot=True,
        examples=lambda f: [
            Example("Manifest", "/manifest", headers=PROJECT, tests=(status(200), has("experiences"))),
            Example("Manifest for an unknown project: 404", "/manifest", headers={"x-project-uid": "nope"},
                    tests=(status(404), has("error", "message"))),
        ],
    ),
    RouteSpec(
        "POST", "/events", EdgeApi, EdgeApi.events, "Impressions (once per user) and events", TAG,
        Dialect.CONTENTSTACK, headers=HEADERS, statuses=(400, 404, 413), hot=True,
        examples=lambda f: [
            Example("Edge events", "/events", [{"experienceShortUid": "0", "variantShortUid": "0",
                    "type": "IMPRESSION"}, {"eventKey": "clickCTA", "type": "EVENT"}], headers=PROJECT),
        ],
    ),
    RouteSpec(
        "PATCH", "/user-attributes", EdgeApi, EdgeApi.user_attributes, "A partial upsert of the user's attributes",
        TAG, Dialect.CONTENTSTACK, headers=HEADERS, statuses=(400, 404, 413), hot=True,
        examples=lambda f: [Example("Edge user attributes", "/user-attributes", {"plan": "gold"}, headers=PROJECT)],
    ),
    RouteSpec(
        "POST", "/user-attributes/actions/merge", EdgeApi, EdgeApi.merge,
        "Merge a user into another; the source's values win", TAG, Dialect.CONTENTSTACK,
        headers=HEADERS[:1], statuses=(400, 404, 413), hot=True,
        examples=lambda f: [
            Example("Edge merge", "/user-attributes/actions/merge",
                    {"sourceUserUid": "postman-anonymous", "targetUserUid": "postman-user"},
                    headers={"x-project-uid": "demo"}),
        ],
    ),
)  # fmt: skip
