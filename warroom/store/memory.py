"""A store that lives in memory: the `Store` protocol without a file, for simulations.

A readiness run (`warroom exercise readiness`) plays a thousand simulated incidents; each
needs its own event log, outbox and timers, and none of them needs to survive the process.
This store keeps exactly what SQLite keeps, with the same ordering and the same
forward-only rules, so the runtime drives it through the same code path; what it saves is
the SQL, the JSON round trip of every event and effect, and the file. A transaction that
fails is undone from a journal, as SQLite would roll it back. One thread, one process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any

from warroom.engine.effects import CancelTimer, Effect, SendMessage, StartTimer
from warroom.engine.events import Event
from warroom.engine.lifecycles import INCIDENT_IN_HAND, OutboxPhase
from warroom.errors import NotFound, StoreError
from warroom.store.port import (
    INBOUND_BODY_KEPT,
    AlertBinding,
    DueTimer,
    InboundEntry,
    IncidentRow,
    OutboxRow,
    StoredEvent,
    ViewLink,
)

FINAL = frozenset({"delivered", "failed", "undeliverable"})
WAITING = frozenset({OutboxPhase.QUEUED.value, OutboxPhase.UNKNOWN.value})
"""Outbox states a worker may still pick up: kept in an index, so a claim never scans a
day's worth of delivered statements."""


@dataclass(slots=True)
class _Outbox:
    id: str
    incident: str
    event_seq: int
    rowid: int
    key: str
    channel: str
    message: SendMessage
    state: str = OutboxPhase.QUEUED.value
    attempts: int = 0
    not_before: datetime | None = None
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    provider_id: str | None = None
    detail: str = ""
    updated_at: datetime | None = None

    def public(self) -> OutboxRow:
        return OutboxRow(
            self.id,
            self.incident,
            self.key,
            self.channel,
            self.message,
            self.state,
            self.attempts,
            self.detail,
        )


@dataclass(frozen=True)
class _Timer:
    token: int
    due_at: datetime
    purpose: str


@dataclass(frozen=True)
class _Alert:
    key: str
    incident: str
    source: str
    opened_at: datetime
    fingerprints: frozenset[str]
    resolved: frozenset[str]
    order: int


class MemoryStore:
    """The `Store` protocol in plain dictionaries. Create one per simulated run."""

    def __init__(self) -> None:
        self.incidents_by_id: dict[str, IncidentRow] = {}
        self.log: dict[str, list[StoredEvent]] = {}
        self.seq = 0
        self.outbox_rows: dict[str, _Outbox] = {}
        self.keys: set[str] = set()
        self.waiting: dict[str, None] = {}
        self.timers: dict[tuple[str, str], _Timer] = {}
        self.inbound_log: list[InboundEntry] = []
        self.alerts: list[_Alert] = []
        self.beats: dict[str, datetime] = {}
        self.links: dict[str, ViewLink] = {}
        self._depth = 0
        self._undo: list[Callable[[], object]] = []

    # -- transactions ----------------------------------------------------------------------

    @property
    def location(self) -> str:
        return "memory"

    @contextmanager
    def transaction(self) -> Iterator[MemoryStore]:
        """All or nothing, like SQLite's: a failure undoes every change made inside."""
        outer = self._depth == 0
        if outer:
            self._undo = []
        self._depth += 1
        try:
            yield self
        except BaseException:
            if outer:
                for undo in reversed(self._undo):
                    undo()
                self._undo = []
            raise
        finally:
            self._depth -= 1

    def _journal(self, undo: Callable[[], object]) -> None:
        if self._depth:
            self._undo.append(undo)

    def close(self) -> None:
        """Nothing to release: the data goes with the object."""

    def wait_for_work(self, timeout: float, wake: threading.Event) -> None:
        """One process: nobody else queues work unseen, so only the timeout or `wake`."""
        wake.wait(timeout)

    # -- incidents and the event log -------------------------------------------------------

    def create_incident(
        self,
        incident_id: str,
        playbook: str,
        title: str,
        level: str,
        exercise: bool,
        snapshot: dict[str, object],
        now: datetime,
    ) -> None:
        if incident_id in self.incidents_by_id:
            raise StoreError(f"incident {incident_id} already exists")
        row = IncidentRow(incident_id, playbook, title, "new", level, exercise, now, now, snapshot)
        self.incidents_by_id[incident_id] = row
        self.log[incident_id] = []

        def undo() -> None:
            self.incidents_by_id.pop(incident_id, None)
            self.log.pop(incident_id, None)

        self._journal(undo)

    def incident_exists(self, incident_id: str) -> bool:
        return incident_id in self.incidents_by_id

    def incident(self, incident_id: str) -> IncidentRow:
        row = self.incidents_by_id.get(incident_id)
        if row is None:
            known = list(self.incidents_by_id)[-5:]
            raise NotFound(
                f"unknown incident {incident_id!r} (known: {', '.join(known) or 'none'})"
            )
        return row

    def incidents(self, *, open_only: bool = False) -> list[IncidentRow]:
        rows = [
            r for r in self.incidents_by_id.values() if not open_only or r.state in INCIDENT_IN_HAND
        ]
        return sorted(rows, key=lambda r: (r.opened_at, r.id))

    def events(self, incident_id: str, *, after: int = 0) -> list[StoredEvent]:
        log = self.log.get(incident_id, [])
        return log[after:] if after >= 0 else list(log)

    def last_n(self, incident_id: str) -> int:
        return len(self.log.get(incident_id, ()))

    def recent_events(self, incident_id: str, limit: int) -> list[StoredEvent]:
        noted = [e for e in self.log.get(incident_id, []) if e.notes]
        return noted[-limit:] if limit > 0 else []

    def events_except(self, incident_id: str, kind: str) -> list[StoredEvent]:
        return [e for e in self.log.get(incident_id, []) if e.event.kind != kind or e.notes]

    def delivery_counts(self, incident_id: str) -> list[tuple[str, str, str, int, str, str]]:
        groups: dict[tuple[str, str, str], list[_Outbox]] = {}
        for row in sorted(self.outbox_rows.values(), key=lambda r: (r.event_seq, r.rowid)):
            if row.incident == incident_id:
                who = row.message.audience or row.message.purpose
                groups.setdefault((who, row.channel, row.state), []).append(row)
        found = []
        for (who, channel, state), rows in groups.items():
            times = [r.updated_at for r in rows if r.updated_at is not None]
            first = min(times).isoformat() if times else ""
            last = max(times).isoformat() if times else ""
            found.append((who, channel, state, len(rows), first, last))
        return found

    def outbox_counts(self, incident_id: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.outbox_rows.values():
            if row.incident == incident_id:
                counts[row.state] = counts.get(row.state, 0) + 1
        return counts

    def checkpoint(self, incident_id: str) -> tuple[int, str, bytes] | None:
        return None  # a simulated run never reopens an incident: nothing to save time on

    def save_checkpoint(self, incident_id: str, n: int, form: str, state: bytes) -> None:
        """Not kept, as `checkpoint` says."""

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
    ) -> None:
        log = self.log.get(incident_id)
        if log is None:
            raise StoreError(f"append to unknown incident {incident_id!r}")
        if n != len(log) + 1:  # SQLite's UNIQUE (incident, n): a lost race, never a gap
            raise StoreError(f"incident {incident_id}: event {n} already exists")
        self.seq += 1
        seq = self.seq
        log.append(StoredEvent(seq, incident_id, n, at, event, tuple(notes)))
        self._journal(log.pop)
        for effect in effects:
            if isinstance(effect, SendMessage):
                if effect.key in self.keys or effect.message in self.outbox_rows:
                    continue
                row = _Outbox(
                    effect.message,
                    incident_id,
                    seq,
                    len(self.outbox_rows) + 1,
                    effect.key,
                    effect.channel,
                    effect,
                    updated_at=at,
                )
                self.keys.add(effect.key)
                self._journal(partial(self.keys.discard, effect.key))
                self._insert(row)
            elif isinstance(effect, StartTimer):
                self._set_timer(
                    (incident_id, str(effect.timer)),
                    _Timer(effect.token, effect.at, effect.purpose),
                )
            elif isinstance(effect, CancelTimer):
                self._set_timer((incident_id, str(effect.timer)), None)
        old = self.incidents_by_id[incident_id]
        self.incidents_by_id[incident_id] = replace(old, state=state, level=level, updated_at=at)
        self._journal(lambda: self.incidents_by_id.__setitem__(incident_id, old))

    # -- outbox and timers, with their undo ------------------------------------------------

    def _insert(self, row: _Outbox) -> None:
        self.outbox_rows[row.id] = row
        self._index(row)

        def undo() -> None:
            self.outbox_rows.pop(row.id, None)
            self.waiting.pop(row.id, None)

        self._journal(undo)

    def _change(self, row: _Outbox, **changes: Any) -> None:
        """Change a row in place (the outbox is the hot path of a simulation: no copies),
        keeping its old values to undo."""
        old = {name: getattr(row, name) for name in changes}
        for name, value in changes.items():
            setattr(row, name, value)
        self._index(row)

        def undo() -> None:
            for name, value in old.items():
                setattr(row, name, value)
            self._index(row)

        self._journal(undo)

    def _index(self, row: _Outbox) -> None:
        if row.state in WAITING:
            self.waiting[row.id] = None
        else:
            self.waiting.pop(row.id, None)

    def _set_timer(self, key: tuple[str, str], timer: _Timer | None) -> None:
        old = self.timers.get(key)
        if timer is None:
            self.timers.pop(key, None)
        else:
            self.timers[key] = timer

        def undo() -> None:
            if old is None:
                self.timers.pop(key, None)
            else:
                self.timers[key] = old

        self._journal(undo)

    def drop_timer(self, incident_id: str, timer: str, token: int) -> None:
        found = self.timers.get((incident_id, timer))
        if found is not None and found.token == token:
            self._set_timer((incident_id, timer), None)

    def due_timers(self, now: datetime, limit: int = 100) -> list[DueTimer]:
        due = sorted(
            (t.due_at, incident, name, t.token)
            for (incident, name), t in self.timers.items()
            if t.due_at <= now
        )
        return [DueTimer(i, name, token, at) for at, i, name, token in due[:limit]]

    def next_timer(self) -> DueTimer | None:
        if not self.timers:
            return None
        (incident, name), t = min(self.timers.items(), key=lambda kv: (kv[1].due_at, kv[0]))
        return DueTimer(incident, name, t.token, t.due_at)

    def outbox(self, incident_id: str | None = None) -> list[OutboxRow]:
        rows = [r for r in self.outbox_rows.values() if incident_id in (None, r.incident)]
        return [r.public() for r in sorted(rows, key=lambda r: (r.event_seq, r.rowid))]

    def next_send_at(self) -> datetime | None:
        moments = [
            row.not_before
            for row in (self.outbox_rows[i] for i in self.waiting)
            if row.not_before is not None
        ]
        return min(moments) if moments else None

    def _claimable(self, state: str, now: datetime, limit: int, open_ended: bool) -> list[_Outbox]:
        rows = [
            row
            for row in (self.outbox_rows[i] for i in self.waiting)
            if row.state == state
            and (
                (row.not_before is None and open_ended)
                or (row.not_before is not None and row.not_before <= now)
            )
        ]
        rows.sort(key=lambda r: (r.event_seq, r.rowid))
        return rows[:limit]

    def claim(self, worker: str, now: datetime, limit: int = 100) -> list[OutboxRow]:
        """Mark up to `limit` queued messages `sending` for this worker, oldest first."""
        out = []
        with self.transaction():
            for row in self._claimable(OutboxPhase.QUEUED, now, limit, open_ended=True):
                self._change(
                    row,
                    state=OutboxPhase.SENDING.value,
                    claimed_by=worker,
                    claimed_at=now,
                    attempts=row.attempts + 1,
                    updated_at=now,
                )
                out.append(row)
        return [r.public() for r in sorted(out, key=lambda r: (r.event_seq, r.id))]

    def claim_unknown(self, worker: str, now: datetime, limit: int = 100) -> list[OutboxRow]:
        out = []
        with self.transaction():
            for row in self._claimable(OutboxPhase.UNKNOWN, now, limit, open_ended=False):
                self._change(
                    row, state=OutboxPhase.RECONCILING.value, claimed_by=worker, updated_at=now
                )
                out.append(row)
        return [r.public() for r in sorted(out, key=lambda r: (r.event_seq, r.id))]

    def claimed_at(self, message_id: str) -> datetime | None:
        row = self.outbox_rows.get(message_id)
        return row.claimed_at if row else None

    def postpone(
        self,
        message_id: str,
        state: OutboxPhase,
        not_before: datetime,
        detail: str,
        now: datetime,
    ) -> None:
        row = self.outbox_rows.get(message_id)
        if row is None or row.state in ("delivered", "undeliverable"):
            return
        self._change(
            row,
            state=str(state),
            not_before=not_before,
            detail=detail,
            claimed_by=None,
            updated_at=now,
        )

    def requeue_abandoned(self, older_than: datetime, owners: Sequence[str] = ()) -> int:
        count = 0
        with self.transaction():
            for row in list(self.outbox_rows.values()):
                beat = self.beats.get(row.claimed_by or "")
                renewed = beat is not None and beat > older_than
                if row.state in (OutboxPhase.SENDING, OutboxPhase.RECONCILING) and (
                    (row.claimed_at is not None and row.claimed_at <= older_than and not renewed)
                    or row.claimed_by in owners
                ):
                    self._change(
                        row,
                        state=OutboxPhase.UNKNOWN.value,
                        not_before=row.claimed_at,
                        claimed_by=None,
                    )
                    count += 1
        return count

    def heartbeats(self) -> list[tuple[str, datetime]]:
        return sorted(self.beats.items(), key=lambda item: item[1], reverse=True)

    def holdings(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for owner in (
            row.claimed_by
            for row in self.outbox_rows.values()
            if row.state in (OutboxPhase.SENDING, OutboxPhase.RECONCILING) and row.claimed_by
        ):
            counts[owner] = counts.get(owner, 0) + 1
        return counts

    def in_flight_owners(self) -> set[str]:
        in_flight = (OutboxPhase.SENDING, OutboxPhase.RECONCILING)
        return {
            row.claimed_by
            for row in self.outbox_rows.values()
            if row.state in in_flight and row.claimed_by is not None
        }

    def settle(
        self,
        message_id: str,
        state: str,
        now: datetime,
        *,
        provider_id: str | None = None,
        detail: str = "",
        not_before: datetime | None = None,
    ) -> None:
        """Forward only, as in SQLite: nothing reopens a final state, and a late `sent`
        never undoes `delivered`."""
        row = self.outbox_rows.get(message_id)
        if row is None:
            return
        keep = row.state in FINAL or (row.state == "sent" and state not in FINAL)
        self._change(
            row,
            state=row.state if keep else str(state),
            provider_id=provider_id if provider_id is not None else row.provider_id,
            detail=detail or row.detail,
            not_before=not_before,
            updated_at=now,
        )

    # -- what came in ----------------------------------------------------------------------

    def log_inbound(self, entry: InboundEntry) -> int:
        kept = replace(entry, body=entry.body[:INBOUND_BODY_KEPT], id=len(self.inbound_log) + 1)
        self.inbound_log.append(kept)
        return kept.id

    def judge_inbound(
        self, entry_id: int, verdict: str, outcome: str, incident: str | None = None
    ) -> None:
        index = entry_id - 1
        if not 0 <= index < len(self.inbound_log):
            return
        old = self.inbound_log[index]
        self.inbound_log[index] = replace(
            old,
            verdict=verdict,
            outcome=outcome[:INBOUND_BODY_KEPT],
            incident=incident or old.incident,
        )
        self._journal(lambda: self.inbound_log.__setitem__(index, old))

    def delivered_before(self, route: str, delivery_id: str, before: int | None = None) -> bool:
        limit = before if before is not None else 2**62
        return any(
            e.route == route
            and e.delivery_id == delivery_id
            and e.id < limit
            and e.verdict in ("accepted", "no-effect")
            for e in self.inbound_log
        )

    def inbound(
        self, *, since: datetime | None = None, verdict: str | None = None, limit: int = 1000
    ) -> list[InboundEntry]:
        rows = [
            e
            for e in self.inbound_log
            if (since is None or e.at >= since) and (verdict is None or e.verdict == verdict)
        ]
        return rows[-limit:] if limit > 0 else []

    # -- alerts ----------------------------------------------------------------------------

    def alert_incident(self, key: str) -> AlertBinding | None:
        found = [a for a in self.alerts if a.key == key]
        if not found:
            return None
        latest = max(found, key=lambda a: (a.opened_at, a.order))
        row = self.incidents_by_id[latest.incident]
        return AlertBinding(
            latest.incident, latest.fingerprints, latest.resolved, row.state, row.updated_at
        )

    def bind_alert(
        self, key: str, incident: str, source: str, at: datetime, fingerprint: str
    ) -> None:
        prints = frozenset([fingerprint] if fingerprint else [])
        self.alerts.append(
            _Alert(key, incident, source, at, prints, frozenset(), len(self.alerts) + 1)
        )
        self._journal(self.alerts.pop)

    def mark_alert(self, key: str, incident: str, *, firing: str = "", resolved: str = "") -> None:
        for index, alert in enumerate(self.alerts):
            if alert.key == key and alert.incident == incident:
                self.alerts[index] = replace(
                    alert,
                    fingerprints=alert.fingerprints | ({firing} if firing else set()),
                    resolved=alert.resolved | ({resolved} if resolved else set()),
                )
                self._journal(partial(self.alerts.__setitem__, index, alert))

    # -- workers' health -------------------------------------------------------------------

    def add_view_link(self, link: ViewLink) -> None:
        self.links[link.id] = link

    def view_link(self, link_id: str) -> ViewLink | None:
        return self.links.get(link_id)

    def view_links(self, incident: str) -> list[ViewLink]:
        return sorted(
            (link for link in self.links.values() if link.incident == incident),
            key=lambda link: (link.created_at, link.id),
        )

    def revoke_view_links(
        self, now: datetime, *, link_id: str | None = None, incident: str | None = None
    ) -> int:
        live = [
            link
            for link in self.links.values()
            if link.revoked_at is None
            and (link.id == link_id if link_id is not None else link.incident == incident)
        ]
        for link in live:
            self.links[link.id] = replace(link, revoked_at=now)
        return len(live)

    def beat(self, worker: str, at: datetime) -> None:
        self.beats[worker] = at

    def last_heartbeat(self) -> tuple[str, datetime] | None:
        if not self.beats:
            return None
        worker, at = max(self.beats.items(), key=lambda kv: kv[1])
        return worker, at

    def ping(self) -> None:
        """Always answers: the data is in this process."""
