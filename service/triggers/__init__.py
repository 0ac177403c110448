"""Triggered experiences: what fires when an event is stored (an event type, a segment entered or left, a
new guest, an identity resolved), and the delivery it puts in the outbox in the event's own transaction.
The worker (service/delivery) sends it."""

from .compiled import Kind, Trigger, push_payload
from .firing import TriggerSet, Verdict, evaluate, fire

__all__ = ["Kind", "Trigger", "TriggerSet", "Verdict", "evaluate", "fire", "push_payload"]
