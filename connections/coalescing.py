"""Response caching and request coalescing keyed by the rendered request.

N identical concurrent calls make one upstream call. The call runs in its own task, and each caller
awaits it through `asyncio.shield`: a caller that is cancelled or times out leaves, but the shared call
goes on for the others, and its result (if cacheable) is stored for later callers. That is what the
`singleflight` package on PyPI gets wrong (a cancelled leader cancels everyone), hence this small class.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from cachetools import TTLCache

T = TypeVar("T")


class Coalescer(Generic[T]):
    def __init__(self, ttl_seconds: float = 0.0, maxsize: int = 10_000) -> None:
        self.cache: TTLCache[Hashable, T] | None = TTLCache(maxsize, ttl_seconds) if ttl_seconds > 0 else None
        self.inflight: dict[Hashable, asyncio.Task[T]] = {}
        self.waiting: dict[Hashable, int] = {}  # callers awaiting each in-flight call
        self.hits = 0
        self.coalesced = 0

    async def run(self, key: Hashable, call: Callable[[], Awaitable[T]], cacheable: Callable[[T], bool]) -> T:
        if self.cache is not None:
            cached = self.cache.get(key)
            if cached is not None:
                self.hits += 1
                return cached
        task = self.inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._lead(key, call, cacheable))
            self.inflight[key] = task
        else:
            self.coalesced += 1
        self.waiting[key] = self.waiting.get(key, 0) + 1
        try:
            return await asyncio.shield(task)
        finally:
            left = self.waiting.pop(key) - 1
            if left:
                self.waiting[key] = left

    def wanted(self, key: Hashable) -> bool:
        """Whether any caller still awaits the call for `key` (a shared call may stop retrying if not)."""
        return self.waiting.get(key, 0) > 0

    async def _lead(self, key: Hashable, call: Callable[[], Awaitable[T]], cacheable: Callable[[T], bool]) -> T:
        try:
            result = await call()
            if self.cache is not None and cacheable(result):
                self.cache[key] = result
            return result
        finally:
            self.inflight.pop(key, None)
