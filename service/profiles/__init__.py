"""Guest profiles: who a visitor is across requests (identities, attributes, event history), stored in the
embedded SQLite database or in PostgreSQL; read by decisions as `guest`, written by the event ingestion
endpoints."""

from . import privacy
from .cache import GuestCache
from .database import StorageError
from .migrations import SchemaError
from .model import Event, Guest, Identity, Write, event_time
from .store import DEDUPE_SECONDS, ProfileStore

__all__ = [
    "DEDUPE_SECONDS",
    "Event",
    "Guest",
    "GuestCache",
    "Identity",
    "ProfileStore",
    "SchemaError",
    "StorageError",
    "Write",
    "event_time",
    "privacy",
]
