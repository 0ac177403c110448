"""The delivery worker: claims due deliveries from the outbox under a lease, pushes each through its
destination connection (connections/push.py), and settles it by the policy (policy.py). It runs inside
`personalize serve` by default and as `personalize worker` on its own; any number of them share one
database (outbox.py explains why no attempt is made twice at once).

One slow or dead destination never delays the others: deliveries run as their own tasks, at most
`delivery.concurrency` per destination, and a destination at its limit is left out of the next claim.
The clocks, the jitter and the rate limit's sleep are injected: tests drive `run_once` with a fake clock
instead of waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import time
from collections.abc import Awaitable, Callable

from connections import FaultKind
from connections.push import PushResult, push

from ..profiles.database import Database, StorageError
from ..profiles.store import ProfileStore
from ..runtime import Runtime
from ..triggers.sessions import SWEEP_SECONDS, close_sessions
from . import outbox
from .deciding import Decided, decide_variants
from .metrics import DeliveryMetrics
from .outbox import Delivery
from .policy import Status, Step, next_step

POLL_SECONDS = 1.0  # a worker looks for deliveries made by other processes (and due retries) this often
AT_CAPACITY_SECONDS = 60.0  # at capacity the loop waits for a finished delivery's wake-up (this at most)
MIN_LEASE = 10.0
_log = logging.getLogger("uvicorn.error")


class DeliveryWorker:
    def __init__(
        self,
        store: ProfileStore,
        runtime: Callable[[], Runtime],
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
        batch: int = 200,
        metrics: DeliveryMetrics | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.store, self.runtime, self.clock, self.jitter, self.batch = store, runtime, clock, jitter, batch
        self.metrics = metrics
        self.monotonic, self.sleep = monotonic, sleep  # the rate limit's pace (injected by tests)
        self.in_flight: dict[str, int] = {}  # destination -> deliveries being attempted
        self._next_start: dict[str, float] = {}  # destination -> earliest start of the next (rate limit)
        self._wake: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        """New deliveries are in the outbox (the store calls this after their commit)."""
        if self._wake is not None:
            self._wake.set()

    async def run_once(self) -> int:
        """Claim what is due now and attempt all of it; returns how many were attempted."""
        claimed = await self._claim(self.batch)
        await asyncio.gather(*(self._deliver(d) for d in claimed))
        return len(claimed)

    async def run(self) -> None:
        """Deliver until cancelled. A database that fails (PostgreSQL restarting) pauses the loop, never
        ends it: the next round opens a new connection."""
        self._wake = asyncio.Event()
        sweeping = asyncio.ensure_future(self._sweep_sessions())
        try:
            while True:
                self._wake.clear()
                try:
                    pause = await self._round()
                except StorageError as exc:
                    _log.warning("delivery worker: %s; trying again in %.0f s", exc, POLL_SECONDS)
                    pause = POLL_SECONDS
                if pause is None:
                    continue
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(pause):
                        await self._wake.wait()
        finally:
            sweeping.cancel()
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _sweep_sessions(self) -> None:
        """Close timed-out touches (sessionClosed triggers) every SWEEP_SECONDS; never ends on a failure."""
        while True:
            if any(p.triggers is not None for p in self.runtime().projects.values()):
                try:
                    _, pending = await asyncio.to_thread(close_sessions, self.store, self.runtime(), self.clock())
                except StorageError as exc:
                    _log.warning("session sweep: %s", exc)
                except Exception:  # a bug: logged, and the next sweep tries again
                    _log.exception("session sweep failed")
                else:
                    if pending:
                        self.wake()
            await asyncio.sleep(SWEEP_SECONDS)

    async def _round(self) -> float | None:
        """Claim what is due, up to the free capacity, and start it; how long to wait for a wake-up before
        the next round (None: go on at once; at capacity, until a delivery finishes)."""
        free = self.batch - sum(self.in_flight.values())
        claimed = await self._claim(free) if free > 0 else []
        for delivery in claimed:
            task = asyncio.create_task(self._deliver(delivery))
            self._tasks.add(task)
            task.add_done_callback(self._done)
        if claimed:
            return None if len(claimed) < free else AT_CAPACITY_SECONDS
        due = await asyncio.to_thread(self._next_due)
        return POLL_SECONDS if due is None else min(POLL_SECONDS, max(0.0, due - self.clock()))

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.error("delivery task failed", exc_info=task.exception())
        self.wake()

    def _lease(self, runtime: Runtime) -> float:
        connections = runtime.connections.connections.values() if runtime.connections else ()
        longest = max((c.timeouts.total for c in connections if c.kind == "destination"), default=0.0)
        return max(MIN_LEASE, 4 * longest)  # outlasts an attempt: a token fetch, the request, settling

    async def _claim(self, limit: int) -> list[Delivery]:
        runtime = self.runtime()
        saturated = {
            name
            for name, count in self.in_flight.items()
            if runtime.connections is not None
            and name in runtime.connections.connections
            and count >= runtime.connections.connections[name].delivery.concurrency
        }
        lease, now = self._lease(runtime), self.clock()

        busy = tuple(sorted(saturated))
        claimed = await self.store.in_group(lambda db: outbox.claim(db, now, limit, lease, busy))
        for delivery in claimed:
            self.in_flight[delivery.destination] = self.in_flight.get(delivery.destination, 0) + 1
        return claimed

    def _next_due(self) -> float | None:
        with self.store.reading() as db:
            return outbox.next_due(db)

    async def _deliver(self, delivery: Delivery) -> None:
        try:
            await self._attempt(delivery)
        finally:
            self.in_flight[delivery.destination] -= 1

    async def _attempt(self, delivery: Delivery) -> None:
        connections = self.runtime().connections
        connection = connections.connections.get(delivery.destination) if connections is not None else None
        if connections is None or connection is None or connection.kind != "destination":
            reason = f"destination '{delivery.destination}' is not in the config; waiting for it"
            await self._postpone(delivery, self.clock() + 60, reason)
            return
        if delivery.context:
            decided = await self._decide(delivery)
            if decided is None:
                return
            delivery = decided
        await self._pace(delivery.destination, connection.delivery.rate_per_s)
        result = await push(connections, delivery.destination, delivery.id, delivery.request, now=self.clock())
        now = self.clock()
        if result.kind == FaultKind.CIRCUIT_OPEN:  # not attempted: due again when the breaker lets a probe out
            await self._postpone(delivery, now + connection.breaker_reset, "the destination's breaker is open")
            self._count(delivery.destination, "postponed")
            return
        attempts = delivery.attempts + 1
        step = next_step(result, attempts, connection.delivery.schedule, now, self.jitter)
        await self._settle(delivery, result, step, attempts, now)
        self._count(delivery.destination, "retry" if step.status == Status.PENDING else step.status)

    async def _decide(self, delivery: Delivery) -> Delivery | None:
        """Decide a triggered experience's variants and fix its body; None when it is not to be sent (the
        A/B control, no variant, or the trigger gone), which is settled here."""
        try:
            decided = await decide_variants(delivery, self.runtime())
        except Exception as exc:  # a model or template that fails for this guest: recorded, nothing else stops
            _log.exception("delivery %s: deciding its variants failed", delivery.id)
            decided = Decided(None, reason=f"deciding the variants failed: {exc}"[:500], status=Status.NOT_RENDERED)
        now = self.clock()
        if decided.body is None:
            status = decided.status
            step = Step(status, reason=decided.reason)

            def skip(db: Database) -> None:
                outbox.rendered(db, delivery, "", decided.variant)
                outbox.settle(db, delivery, step, delivery.attempts, now)

            await self.store.in_group(skip)
            self._count(delivery.destination, status)
            return None
        body = decided.body
        await self.store.in_group(lambda db: outbox.rendered(db, delivery, body, decided.variant))
        return dataclasses.replace(delivery, body=body, variant=decided.variant, context="")

    def _count(self, destination: str, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.count(destination, outcome)

    async def _pace(self, destination: str, rate: float | None) -> None:
        """At most `rate` attempts started per second to this destination."""
        if rate is None:
            return
        now = self.monotonic()
        start = max(now, self._next_start.get(destination, now))
        self._next_start[destination] = start + 1 / rate
        if start > now:
            await self.sleep(start - now)

    async def _postpone(self, delivery: Delivery, until: float, reason: str) -> None:
        now = self.clock()
        await self.store.in_group(lambda db: outbox.postpone(db, delivery, until, reason, now))

    async def _settle(self, delivery: Delivery, result: PushResult, step: Step, attempts: int, now: float) -> None:
        """The attempt logged and the step applied, in the store's next group transaction (one commit for
        every delivery settling meanwhile: measured, a transaction each held the worker to ~700 a second)."""
        text = result.excerpt or result.detail

        def write(db: Database) -> None:
            outbox.log_attempt(db, delivery.id, now, result.status, str(result.kind), result.ms, text)
            outbox.settle(db, delivery, step, attempts, now)

        await self.store.in_group(write)
