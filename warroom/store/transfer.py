"""Moving from one node to several: a SQLite store copied into PostgreSQL, whole, event log
included, and proven by replaying every incident on both sides.

Copying rows is the easy part; trusting the copy is the point. So the copy runs in one
PostgreSQL transaction (all or nothing), refuses a target that already holds incidents, and
is verified by folding each incident's log on both stores and comparing what comes out.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from warroom.errors import StoreError
from warroom.store.port import Store
from warroom.store.postgres import PostgresStore
from warroom.store.sqlite import SqliteStore, unstamp

TABLES: dict[str, tuple[str, ...]] = {
    "incidents": (
        "id", "playbook", "title", "state", "level", "exercise", "opened_at", "updated_at",
        "snapshot",
    ),
    "events": ("seq", "incident", "n", "at", "kind", "body", "notes"),
    "outbox": (
        "id", "incident", "event_seq", "key", "channel", "body", "state", "attempts",
        "not_before", "claimed_by", "claimed_at", "provider_id", "detail", "updated_at",
    ),
    "timers": ("incident", "timer", "token", "due_at", "purpose"),
    "inbound": (
        "id", "at", "channel", "sender", "body", "incident", "outcome", "route", "delivery_id",
        "body_hash", "verdict",
    ),
    "heartbeats": ("worker", "at"),
    "alert_keys": ("key", "incident", "source", "opened_at", "fingerprints", "resolved"),
    "view_links": ("id", "incident", "created_at", "expires_at", "created_by", "revoked_at"),
    "checkpoints": ("incident", "n", "format", "state"),
}  # fmt: skip
"""In the order foreign keys need them."""
TIMES = {
    "opened_at", "updated_at", "at", "not_before", "claimed_at", "due_at", "created_at",
    "expires_at", "revoked_at",
}  # fmt: skip
SEQUENCES = {"events": "seq", "inbound": "id"}


@dataclass(frozen=True)
class Copied:
    rows: dict[str, int]
    incidents_verified: int


def copy_store(
    source: SqliteStore, target: PostgresStore, fold: Callable[[Store, str], object]
) -> Copied:
    """Copy every row, then check that each incident folds to the same state on both
    (`fold(store, incident_id)` is the runtime's replay, passed in by the caller so that
    this module stays below the runtime)."""
    if target.incidents():
        raise StoreError(f"{target.location} already holds incidents; copy into an empty database")
    counts: dict[str, int] = {}
    with target.transaction():
        for table, columns in TABLES.items():
            rows = source.db.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
            values = [
                tuple(_convert(c, v) for c, v in zip(columns, row, strict=True)) for row in rows
            ]
            if values:
                marks = ", ".join(["%s"] * len(columns))
                with target.db.cursor() as cursor:
                    cursor.executemany(
                        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", values
                    )
            counts[table] = len(values)
        for table, column in SEQUENCES.items():
            target.db.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
                f" COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1, false)"
            )
    verified = 0
    for row in source.incidents():
        if fold(source, row.id) != fold(target, row.id):
            raise StoreError(
                f"incident {row.id} does not replay to the same state in {target.location}; "
                "the copy is not to be trusted (drop the target database and report this)"
            )
        verified += 1
    return Copied(counts, verified)


def _convert(column: str, value: object) -> object:
    if value is None:
        return None
    if column in TIMES and isinstance(value, str):
        moment: datetime = unstamp(value)
        return moment
    if column == "exercise":
        return bool(value)
    if column == "snapshot" and isinstance(value, str):
        return json.dumps(json.loads(value))
    return value
