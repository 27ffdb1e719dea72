"""The store: event log, outbox and timers. SQLite is the embedded default."""

from warroom.store.port import (
    AlertBinding,
    DueTimer,
    InboundEntry,
    IncidentRow,
    OutboxRow,
    Store,
    StoredEvent,
    ViewLink,
)

__all__ = [
    "AlertBinding",
    "DueTimer",
    "InboundEntry",
    "IncidentRow",
    "OutboxRow",
    "Store",
    "StoredEvent",
    "ViewLink",
]
