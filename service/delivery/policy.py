"""What happens after a delivery attempt (the Standard Webhooks contract; Svix's schedule and jitter):

- a 2xx is success; anything else (a 3xx included: redirects are not followed) is a failure;
- the receiver's `webhook-delivery: abort-message` stops the retries of that message;
- 410 Gone disables the destination (its deliveries wait until it is enabled again);
- a refused address (SSRF) is a configuration problem: dead at once, never retried;
- otherwise the next attempt waits the schedule's pause for this attempt, ±20 % jitter; a `Retry-After`
  answer is honoured, clamped to [pause, 2 * pause] as Svix does; a 429, 502 or 504 also pauses the whole
  destination for that long (throttling);
- after the schedule's last pause, the delivery is dead (the dead-letter state; replay and recover
  bring it back).

Pure: the worker (worker.py) applies the step to the outbox.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from connections.calls import retry_after
from connections.push import PushKind, PushResult

JITTER = 0.2
THROTTLE_STATUSES = frozenset({429, 502, 504})


class Status:
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"  # every attempt failed, or a failure that retrying cannot fix: the dead letters
    ABORTED = "aborted"  # the receiver asked for no more attempts
    NOT_RENDERED = "not_rendered"  # the payload or the request could not be made for this guest: never sent
    SKIPPED = "skipped"  # the triggered experience chose not to push: A/B control, no variant, audience miss

    FINAL = frozenset({DELIVERED, DEAD, ABORTED, NOT_RENDERED, SKIPPED})


@dataclass(frozen=True, slots=True)
class Step:
    status: str
    next_at: float = 0.0
    reason: str = ""
    disable_destination: bool = False
    pause_destination_until: float = 0.0


def next_step(
    result: PushResult, attempts: int, schedule: tuple[float, ...], now: float, jitter: Callable[[], float]
) -> Step:
    """After the `attempts`-th attempt (counting this one) came to `result`."""
    if result.ok:
        return Step(Status.DELIVERED)
    reason = _reason(result)
    if result.headers.get("webhook-delivery", "").strip().lower() == "abort-message":
        return Step(Status.ABORTED, reason=f"{reason}; the receiver asked to abort (webhook-delivery: abort-message)")
    if result.status == 410:
        return Step(Status.DEAD, reason=f"{reason}; the destination is disabled", disable_destination=True)
    if result.kind == PushKind.ADDRESS_REFUSED:
        return Step(Status.DEAD, reason=reason)
    if attempts > len(schedule):
        return Step(Status.DEAD, reason=f"{reason}; no attempts left ({attempts} made)")
    pause = schedule[attempts - 1] * (1 + JITTER * (2 * jitter() - 1))
    asked = retry_after(result.headers, lambda: now)
    if asked is not None:
        base = schedule[attempts - 1]
        pause = min(max(asked, base), 2 * base)
    throttle = now + pause if result.status in THROTTLE_STATUSES else 0.0
    return Step(Status.PENDING, now + pause, reason, pause_destination_until=throttle)


def _reason(result: PushResult) -> str:
    if result.status is not None:
        return f"answered {result.status}"
    return f"{result.kind}: {result.detail}" if result.detail else str(result.kind)
