"""What the runtime needs from a store: the `Store` protocol and the rows it returns.

The runtime depends on this, never on a database. SQLite (`sqlite.SqliteStore`) implements it
for one host; PostgreSQL will for several. Every method that writes is called inside
`transaction()`, except the claims and `log_inbound`, which hold their own.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from warroom.engine.effects import Effect, SendMessage
from warroom.engine.events import Event
from warroom.engine.lifecycles import OutboxPhase


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    incident: str
    n: int
    at: datetime
    event: Event
    notes: tuple[str, ...]


@dataclass(frozen=True)
class IncidentRow:
    id: str
    playbook: str
    title: str
    state: str
    level: str
    exercise: bool
    opened_at: datetime
    updated_at: datetime
    snapshot: dict[str, object]
    """The playbook and roster as they were at activation: JSON, as `Snapshot.to_json` wrote it."""


@dataclass(frozen=True)
class OutboxRow:
    id: str
    incident: str
    key: str
    channel: str
    message: SendMessage
    state: str
    attempts: int
    detail: str


INBOUND_BODY_KEPT = 2000
"""Enough of a reply or payload to read what it said; a 1 MiB body is not kept whole."""


@dataclass(frozen=True)
class InboundEntry:
    """One request to a webhook or link, or one reply: what came, and what warroom made of
    it. `verdict` is one of `received` (logged, not yet judged), `accepted`, `duplicate`,
    `unauthenticated`, `malformed`, `no-effect`."""

    at: datetime
    route: str
    channel: str
    sender: str
    body: str
    verdict: str
    outcome: str = ""
    incident: str | None = None
    delivery_id: str | None = None
    body_hash: str = ""
    id: int = 0


@dataclass(frozen=True)
class AlertBinding:
    incident: str
    fingerprints: frozenset[str]
    resolved: frozenset[str]
    state: str
    updated_at: datetime


@dataclass(frozen=True)
class ViewLink:
    """A shared, expiring, revocable read-only view of one incident's war-room page."""

    id: str
    incident: str
    created_at: datetime
    expires_at: datetime
    created_by: str
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class DueTimer:
    incident: str
    timer: str
    """As stored: `kind:step` (see `engine.effects.Timer`)."""
    token: int
    due_at: datetime


class Store(Protocol):
    @property
    def location(self) -> str:
        """Where the data lives, for messages (a file, a database URL without secrets)."""
        ...

    def transaction(self) -> AbstractContextManager[object]: ...

    def close(self) -> None: ...

    def wait_for_work(self, timeout: float, wake: threading.Event) -> None:
        """An idle worker's wait: until `wake` is set (a nudge, a stop), or another node
        announces work (a queued message, a new timer), or `timeout` seconds pass."""
        ...

    # -- incidents and the event log

    def create_incident(
        self,
        incident_id: str,
        playbook: str,
        title: str,
        level: str,
        exercise: bool,
        snapshot: dict[str, object],
        now: datetime,
    ) -> None: ...

    def incident_exists(self, incident_id: str) -> bool: ...

    def incident(self, incident_id: str) -> IncidentRow: ...

    def incidents(self, *, open_only: bool = False) -> list[IncidentRow]: ...

    def events(self, incident_id: str, *, after: int = 0) -> list[StoredEvent]: ...

    def last_n(self, incident_id: str) -> int: ...

    def recent_events(self, incident_id: str, limit: int) -> list[StoredEvent]: ...

    def events_except(self, incident_id: str, kind: str) -> list[StoredEvent]: ...

    def delivery_counts(self, incident_id: str) -> list[tuple[str, str, str, int, str, str]]: ...

    def outbox_counts(self, incident_id: str) -> dict[str, int]: ...

    # -- checkpoints: the folded state, so reopening folds only the events after it

    def checkpoint(self, incident_id: str) -> tuple[int, str, bytes] | None: ...

    def save_checkpoint(self, incident_id: str, n: int, form: str, state: bytes) -> None: ...

    def append(
        self,
        incident_id: str,
        n: int,
        event: Event,
        at: datetime,
        notes: Sequence[str],
        effects: Sequence[Effect],
        *,
        state: str,
        level: str,
    ) -> None: ...

    # -- what came in: replies, webhooks, links (the audit trail keeps the ignored too)

    def log_inbound(self, entry: InboundEntry) -> int: ...

    def judge_inbound(
        self, entry_id: int, verdict: str, outcome: str, incident: str | None = None
    ) -> None: ...

    def delivered_before(self, route: str, delivery_id: str, before: int | None = None) -> bool: ...

    def inbound(
        self, *, since: datetime | None = None, verdict: str | None = None, limit: int = 1000
    ) -> list[InboundEntry]: ...

    # -- alerts: one open incident per (source, dedupe key)

    def alert_incident(self, key: str) -> AlertBinding | None: ...

    def bind_alert(
        self, key: str, incident: str, source: str, at: datetime, fingerprint: str
    ) -> None: ...

    def mark_alert(
        self, key: str, incident: str, *, firing: str = "", resolved: str = ""
    ) -> None: ...

    # -- workers' health

    def add_view_link(self, link: ViewLink) -> None: ...

    def view_link(self, link_id: str) -> ViewLink | None: ...

    def view_links(self, incident: str) -> list[ViewLink]: ...

    def revoke_view_links(
        self, now: datetime, *, link_id: str | None = None, incident: str | None = None
    ) -> int: ...

    def beat(self, worker: str, at: datetime) -> None: ...

    def last_heartbeat(self) -> tuple[str, datetime] | None: ...

    def ping(self) -> None: ...

    # -- timers

    def drop_timer(self, incident_id: str, timer: str, token: int) -> None: ...

    def due_timers(self, now: datetime, limit: int = 100) -> list[DueTimer]: ...

    def next_timer(self) -> DueTimer | None: ...

    # -- the outbox (see `engine.lifecycles.OUTBOX_LIFECYCLE`)

    def outbox(self, incident_id: str | None = None) -> list[OutboxRow]: ...

    def next_send_at(self) -> datetime | None: ...

    def claim(self, worker: str, now: datetime, limit: int = 100) -> list[OutboxRow]: ...

    def claim_unknown(self, worker: str, now: datetime, limit: int = 100) -> list[OutboxRow]: ...

    def claimed_at(self, message_id: str) -> datetime | None: ...

    def postpone(
        self,
        message_id: str,
        state: OutboxPhase,
        not_before: datetime,
        detail: str,
        now: datetime,
    ) -> None: ...

    def requeue_abandoned(self, older_than: datetime, owners: Sequence[str] = ()) -> int: ...

    def in_flight_owners(self) -> set[str]: ...

    def heartbeats(self) -> list[tuple[str, datetime]]: ...

    def holdings(self) -> dict[str, int]: ...

    def settle(
        self,
        message_id: str,
        state: str,
        now: datetime,
        *,
        provider_id: str | None = None,
        detail: str = "",
        not_before: datetime | None = None,
    ) -> None: ...
