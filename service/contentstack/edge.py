"""Contentstack Personalize's Edge API (docs/wire-formats.md, "Contentstack Edge API"): the four calls its
edge SDK makes, so `Personalize.setEdgeApiUrl("http://<this service>")` points the SDK here unchanged.

  GET   /manifest                         the experiences in priority order, each with its active variant,
                                          assigned by the same engine as callFlows; mints the user uid
  POST  /events                           impressions (once per user, experience and variant) and events
  PATCH /user-attributes                  a partial upsert of the user's attributes
  POST  /user-attributes/actions/merge    source user into target user; the source's values win

The project is the `x-project-uid` header (a project's contentstackProjectUid, or its id); the user is
`x-cs-personalize-user-uid` (the Segment destinations send `x-cs-eclipse-user-uid`). Bodies are JSON
whatever their Content-Type: the SDK sends none. Errors are `{error, message}`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope

from decision_models import DecisionRequest, assign

from ..http.errors import ApiError
from ..http.request import Incoming, read_body
from ..http.responses import JsonBytes
from ..profiles import Event, GuestCache, Identity, Write
from ..runtime import Project, Runtime

USER_HEADERS = (b"x-cs-personalize-user-uid", b"x-cs-eclipse-user-uid")
MAX_TAGS = 10  # as Contentstack's manifest


def _tags(query_string: bytes) -> frozenset[str]:
    """`?tags[]=a&tags[]=b`: OR-ed, case-insensitive, at most ten (blank values are ignored)."""
    if not query_string:
        return frozenset()
    query = query_string.decode("latin-1")
    tags = {v.strip().lower() for k, v in parse_qsl(query, keep_blank_values=True) if k == "tags[]" and v.strip()}
    if len(tags) > MAX_TAGS:
        raise ApiError(400, f"at most {MAX_TAGS} tags, not {len(tags)}", "tags[]")
    return frozenset(tags)


def _user(incoming: Incoming) -> str | None:
    for name in USER_HEADERS:
        value = incoming.header(name)
        if value and value.strip():
            return value.strip()
    return None


def _identity(user: str) -> Identity:
    return ("contentstack", user)


class EdgeApi:
    def __init__(self, runtime: Callable[[], Runtime], guests: GuestCache) -> None:
        self.runtime = runtime
        self.guests = guests

    def _project(self, scope: Scope, incoming: Incoming) -> Project:
        uid = incoming.header(b"x-project-uid") or ""
        project = self.runtime().by_edge_uid.get(uid)
        if project is not None:
            scope["state"]["project"] = project
            return project
        missing = f"Project not found: {uid or '(no x-project-uid header)'}"
        raise ApiError(404, missing, "x-project-uid", code="personalize.MANIFEST.PROJECT_NOT_FOUND")

    async def manifest(self, scope: Scope, receive: Receive) -> Response:
        """GET /manifest: every live experience, in priority (config) order, with the user's variant.

        With `tags[]`, only the experiences carrying one of the tags; short uids stay the experience's place in
        the whole project, so a filtered manifest names the same experiences as an unfiltered one."""
        incoming = Incoming(scope)
        project = self._project(scope, incoming)
        tags = _tags(incoming.query_string)
        user = _user(incoming) or str(uuid.uuid4())
        guest = await self.guests.view(project.id, _identity(user)) if project.catalog.reads_guest else {}
        experiences = []
        for index, experience in enumerate(project.catalog.experiences.values()):
            if tags and tags.isdisjoint(experience.tags):
                continue
            request = DecisionRequest(friendly_id=experience.friendly_id, visitor_key=user, visitor_source="user",
                                      guest=guest)  # fmt: skip
            # The variant callFlows would serve this user; its models and template are not run: the manifest
            # names variants only, and must not wait on an experience's connections.
            variant = assign(project.catalog, request)
            active = None if variant is None else str(experience.live.variants.index(variant))
            experiences.append({"shortUid": str(index), "activeVariantShortUid": active})
        body = orjson.dumps({"experiences": experiences})
        return JsonBytes(body, 200, [(b"x-cs-personalize-user-uid", user.encode("latin-1"))])  # its own bytes back

    async def events(self, scope: Scope, receive: Receive) -> Response:
        """POST /events: `[{type: IMPRESSION, experienceShortUid, variantShortUid} | {type: EVENT, eventKey}]`."""
        incoming = Incoming(scope)
        project = self._project(scope, incoming)
        user = self._required_user(incoming)
        items = self._json(await read_body(receive, incoming, self.runtime().max_body_bytes))
        if not isinstance(items, list):
            raise ApiError(400, "the body must be a JSON array of events", "(body)")
        now, writes = time.time(), []
        for index, item in enumerate(items):
            if not isinstance(item, dict) or item.get("type") not in ("IMPRESSION", "EVENT"):
                raise ApiError(400, f"[{index}]: an event is {{type: IMPRESSION | EVENT, ...}}", f"[{index}].type")
            if item["type"] == "EVENT":
                key = item.get("eventKey")
                if not isinstance(key, str) or not key:
                    raise ApiError(400, f"[{index}]: eventKey is required", f"[{index}].eventKey")
                writes.append(Write((_identity(user),), Event(key, now, item)))
                continue
            experience, variant = item.get("experienceShortUid"), item.get("variantShortUid")
            if not isinstance(experience, str) or not isinstance(variant, str):
                raise ApiError(400, f"[{index}]: experienceShortUid and variantShortUid are required", f"[{index}]")
            once = f"impression:{user}:{experience}:{variant}"
            impression = Event("IMPRESSION", now, item)
            writes.append(Write((_identity(user),), impression, message_id=once, message_forever=True))
        await self.guests.record(project, writes)
        return JsonBytes(orjson.dumps({"status": "ok", "received": len(writes)}))

    async def user_attributes(self, scope: Scope, receive: Receive) -> Response:
        """PATCH /user-attributes: creates missing keys, overwrites present ones, leaves the others."""
        incoming = Incoming(scope)
        project = self._project(scope, incoming)
        user = self._required_user(incoming)
        attributes = self._json(await read_body(receive, incoming, self.runtime().max_body_bytes))
        if not isinstance(attributes, dict):
            raise ApiError(400, "the body must be a JSON object of attributes", "(body)")
        write = Write((_identity(user),), Event("USER_ATTRIBUTES", time.time(), attributes), attributes)
        await self.guests.record(project, [write])
        return Response("User Attributes added successfully", 200, media_type="text/plain")

    async def merge(self, scope: Scope, receive: Receive) -> Response:
        """POST /user-attributes/actions/merge `{sourceUserUid, targetUserUid}`: one guest; source wins."""
        incoming = Incoming(scope)
        project = self._project(scope, incoming)
        body = self._json(await read_body(receive, incoming, self.runtime().max_body_bytes))
        source, target = (body.get(k) if isinstance(body, dict) else None for k in ("sourceUserUid", "targetUserUid"))
        if not isinstance(source, str) or not source or not isinstance(target, str) or not target:
            raise ApiError(400, "sourceUserUid and targetUserUid are required", "sourceUserUid")
        previous = await self.guests.store.guest(project.id, _identity(source))
        # The target survives; the source's attributes, written with the merge, win over the target's.
        winning = dict(previous.attributes) if previous is not None else {}
        event = Event("MERGE", time.time(), {"sourceUserUid": source, "targetUserUid": target})
        write = Write((_identity(target), _identity(source)), event, winning)
        await self.guests.record(project, [write])
        return Response("User Attributes merged successfully", 200, media_type="text/plain")

    @staticmethod
    def _required_user(incoming: Incoming) -> str:
        user = _user(incoming)
        if user is None:
            raise ApiError(400, "the x-cs-personalize-user-uid header is required", "x-cs-personalize-user-uid")
        return user

    @staticmethod
    def _json(raw: bytes) -> Any:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, f"invalid JSON: {exc}", "(body)") from None
