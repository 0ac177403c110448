"""The profiles decisions read, cached in the process: a decision for a known visitor reads `guest` without
a database round trip; an event stored by this process drops its guest's entry at once, and entries of
events stored by other processes age out within `ttl` seconds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cachetools import TTLCache

from .store import Identity, ProfileStore


class GuestCache:
    def __init__(self, store: ProfileStore, ttl: float = 1.0, maxsize: int = 100_000) -> None:
        self.store = store
        self._views: TTLCache[tuple[str, Identity], dict[str, Any]] = TTLCache(maxsize, ttl)

    async def view(self, project: str, identity: Identity) -> dict[str, Any]:
        """`guest` as decisions read it: the stored profile, or {} for a visitor never seen."""
        key = (project, identity)
        cached = self._views.get(key)
        if cached is not None:
            return cached
        guest = await self.store.guest(project, identity)
        view = guest.view() if guest is not None else {}
        self._views[key] = view
        return view

    def forget(self, project: str, identities: Sequence[Identity]) -> None:
        for identity in identities:
            self._views.pop((project, identity), None)
