"""The store: event log, outbox and timers. SQLite is the embedded default."""

from warroom.store.port import DueTimer, IncidentRow, OutboxRow, Store, StoredEvent

__all__ = ["DueTimer", "IncidentRow", "OutboxRow", "Store", "StoredEvent"]
