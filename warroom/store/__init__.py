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


def open_store(
    location: str, *, existing: bool = False, reading: bool = False, shared: bool = False
) -> Store:
    """The store a `--db` / `WARROOM_DB` names: a file path or `sqlite:///path` (SQLite, the
    embedded default), or `postgresql://...` (several nodes). `reading` opens an existing
    SQLite database for a command that only looks, even on read-only storage."""
    if location.startswith(("postgresql://", "postgres://")):
        from warroom.store.postgres import PostgresStore  # psycopg only where it is used

        return PostgresStore.open(location)
    from pathlib import Path

    from warroom.store.sqlite import SqliteStore

    path = (
        Path(location.removeprefix("sqlite://"))
        if location.startswith("sqlite://")
        else Path(location)
    )
    if reading:
        return SqliteStore.open_for_reading(path)
    return SqliteStore.open(path, existing=existing, shared=shared)
