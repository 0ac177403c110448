"""The config of triggered experiences and of how destination connections are delivered to."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator

from .schema_base import ID, Model
from .schema_experiences import Version

# Svix's schedule (seconds after the previous attempt): 8 attempts over about 27.6 hours.
DEFAULT_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)


class Signing(Model):
    secrets: list[SecretStr] = Field(
        min_length=1,
        description="Standard Webhooks secrets (whsec_…, by ${env:NAME}); each signs, so a receiver rotating "
        "from one to the next accepts either.",
    )


class Delivery(Model):
    schedule_s: list[float] = Field(
        default_factory=lambda: [float(s) for s in DEFAULT_SCHEDULE],
        max_length=50,
        description="Pause before each retry, in seconds (±20 % jitter); after the last, the delivery is dead.",
    )
    concurrency: int = Field(10, ge=1, le=1000, description="Requests in flight to this destination at most.")
    rate_per_s: float | None = Field(None, gt=0, description="Requests started per second at most (unset: no limit).")
    allow_private_network: bool = Field(
        False, description="Allow link-local and cloud metadata addresses (refused by default: SSRF)."
    )


class Frequency(Model):
    criterion: Literal["event", "touch", "minute", "hour", "day"] = Field(
        "event",
        description="event: every time; touch: the first time in a touch (session); minute / hour / day: at "
        "least `interval` of them after this trigger last fired for the guest.",
    )
    interval: int = Field(1, ge=1, le=1_000_000)


class Cap(Model):
    count: int = Field(ge=1, description="At most this many executions per guest…")
    per_s: float = Field(86_400, gt=0, description="…within this many seconds.")


class When(Model):
    event: str | None = Field(None, description="An event type (Sitecore's type, a Segment track's event name, …).")
    segment_entered: list[str] = Field(default_factory=list, description="Fires when the guest enters any of these.")
    segment_exited: list[str] = Field(default_factory=list, description="Fires when the guest leaves any of these.")
    guest_created: bool = Field(False, description="Fires on a guest's first event.")
    identity_resolved: bool = Field(
        False, description="Fires when an event links a known identity to the guest, or merges two guests."
    )
    session_closed: bool = Field(
        False, description="Fires when a guest's touch ends: no event for settings.triggers.sessionTimeoutS."
    )
    filter: Any = Field(None, description="JSON Logic on `event` and `guest`; the trigger fires when it is true.")

    @model_validator(mode="after")
    def _one_kind(self) -> When:
        kinds = [self.event is not None, bool(self.segment_entered), bool(self.segment_exited)]
        kinds += [self.guest_created, self.identity_resolved, self.session_closed]
        if sum(kinds) != 1:
            raise ValueError(
                "name exactly one of event, segmentEntered, segmentExited, guestCreated, identityResolved, "
                "sessionClosed"
            )
        return self


class Trigger(Model):
    id: str = Field(pattern=ID)
    project: str | None = None
    name: str = ""
    status: Literal["active", "paused"] = "active"
    when: When = Field(description="What fires it (`when`, not `on`: YAML reads a bare on as true).")
    audience: str | None = Field(None, description="The guest must be in this audience (it reads `guest`).")
    frequency: Frequency = Field(default_factory=Frequency)
    cap: Cap | None = Field(None, description="At most this many executions of this trigger per guest.")
    destination: str = Field(description="A connection of kind destination.")
    experience: Version | None = Field(
        None,
        description="Variants (A/B sticky by guest, or segmented), decision models and a fallback, as for an "
        "interactive experience; each variant's `response` is the payload (it reads decisions too).",
    )
    payload: Any = Field(
        None,
        description="JSON template reading guest, event, segment (the change) and trigger; unset: the push "
        "payload (person, identifiers, touch, event, newMatchedSegments, currentMatchedSegments).",
    )

    @model_validator(mode="after")
    def _payload_or_experience(self) -> Trigger:
        if self.experience is not None and self.payload is not None:
            raise ValueError("a trigger has either `payload` or `experience` (whose variants' responses are payloads)")
        return self
