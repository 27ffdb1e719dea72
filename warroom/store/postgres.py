"""The store for several nodes: PostgreSQL (psycopg 3), behind the same `Store` protocol as
SQLite. Nothing above this module knows which one it has.

What SQLite gets from one writer at a time, PostgreSQL gets from locks that only serialise
what must be: the first read of an incident inside a transaction takes a transaction-scoped
advisory lock on it, so two nodes deciding on one incident take turns and each sees the
other's event, while different incidents go on in parallel; `(incident, n)` is unique
besides, so an append at a stale position fails instead of forking the log. Messages are
claimed with `FOR UPDATE SKIP LOCKED`, so two workers never take the same row.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from warroom.engine.effects import CancelTimer, Effect, SendMessage, StartTimer
from warroom.engine.events import Event, event_from_json
from warroom.engine.lifecycles import INCIDENT_IN_HAND, OutboxPhase
from warroom.errors import NotFound, StoreError, UnreadableEvent, masked_url
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

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE incidents (
        id          TEXT PRIMARY KEY,
        playbook    TEXT NOT NULL,
        title       TEXT NOT NULL,
        state       TEXT NOT NULL,
        level       TEXT NOT NULL,
        exercise    BOOLEAN NOT NULL DEFAULT FALSE,
        opened_at   TIMESTAMPTZ NOT NULL,
        updated_at  TIMESTAMPTZ NOT NULL,
        snapshot    JSONB NOT NULL
    );
    CREATE TABLE events (
        seq         BIGSERIAL PRIMARY KEY,
        incident    TEXT NOT NULL REFERENCES incidents(id),
        n           INTEGER NOT NULL,
        at          TIMESTAMPTZ NOT NULL,
        kind        TEXT NOT NULL,
        body        TEXT NOT NULL,
        notes       TEXT NOT NULL,
        UNIQUE (incident, n)
    );
    CREATE TABLE outbox (
        id              TEXT PRIMARY KEY,
        incident        TEXT NOT NULL REFERENCES incidents(id),
        event_seq       BIGINT NOT NULL REFERENCES events(seq),
        key             TEXT NOT NULL UNIQUE,
        channel         TEXT NOT NULL,
        body            TEXT NOT NULL,
        state           TEXT NOT NULL DEFAULT 'queued',
        attempts        INTEGER NOT NULL DEFAULT 0,
        not_before      TIMESTAMPTZ,
        claimed_by      TEXT,
        claimed_at      TIMESTAMPTZ,
        provider_id     TEXT,
        detail          TEXT NOT NULL DEFAULT '',
        updated_at      TIMESTAMPTZ NOT NULL
    );
    CREATE INDEX outbox_due ON outbox (state, not_before);
    CREATE INDEX outbox_claim ON outbox (state, event_seq);
    CREATE INDEX outbox_incident ON outbox (incident);
    CREATE TABLE timers (
        incident    TEXT NOT NULL REFERENCES incidents(id),
        timer       TEXT NOT NULL,
        token       INTEGER NOT NULL,
        due_at      TIMESTAMPTZ NOT NULL,
        purpose     TEXT NOT NULL,
        PRIMARY KEY (incident, timer)
    );
    CREATE INDEX timers_due ON timers (due_at);
    CREATE TABLE inbound (
        id          BIGSERIAL PRIMARY KEY,
        at          TIMESTAMPTZ NOT NULL,
        channel     TEXT NOT NULL,
        sender      TEXT NOT NULL,
        body        TEXT NOT NULL,
        incident    TEXT,
        outcome     TEXT NOT NULL,
        route       TEXT NOT NULL DEFAULT '',
        delivery_id TEXT,
        body_hash   TEXT NOT NULL DEFAULT '',
        verdict     TEXT NOT NULL DEFAULT 'accepted'
    );
    CREATE INDEX inbound_delivery ON inbound (route, delivery_id);
    CREATE INDEX inbound_at ON inbound (at);
    CREATE TABLE heartbeats (
        worker      TEXT PRIMARY KEY,
        at          TIMESTAMPTZ NOT NULL
    );
    CREATE TABLE alert_keys (
        key             TEXT NOT NULL,
        incident        TEXT NOT NULL REFERENCES incidents(id),
        source          TEXT NOT NULL,
        opened_at       TIMESTAMPTZ NOT NULL,
        fingerprints    TEXT NOT NULL DEFAULT '[]',
        resolved        TEXT NOT NULL DEFAULT '[]',
        PRIMARY KEY (key, incident)
    );
    CREATE INDEX alert_keys_latest ON alert_keys (key, opened_at);
    CREATE TABLE view_links (
        id          TEXT PRIMARY KEY,
        incident    TEXT NOT NULL REFERENCES incidents(id),
        created_at  TIMESTAMPTZ NOT NULL,
        expires_at  TIMESTAMPTZ NOT NULL,
        created_by  TEXT NOT NULL,
        revoked_at  TIMESTAMPTZ
    );
    CREATE INDEX view_links_incident ON view_links (incident);
    CREATE TABLE checkpoints (
        incident    TEXT PRIMARY KEY REFERENCES incidents(id),
        n           INTEGER NOT NULL,
        format      TEXT NOT NULL,
        state       BYTEA NOT NULL
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
MIGRATION_LOCK = 0x77617272  # "warr": one node migrates at a time
FINAL = ("delivered", "failed", "undeliverable")
WORK_CHANNEL = "warroom_work"
"""NOTIFY'd when a message is queued or a timer set: idle workers on every node wake."""
EVENTS_CHANNEL = "warroom_events"
"""NOTIFY'd with the incident's id when its log grows: for live pages on other nodes."""


class PostgresStore:
    """One PostgreSQL database shared by every node. Open it with `PostgresStore.open(url)`."""

    def __init__(self, url: str, connection: psycopg.Connection[dict[str, Any]]) -> None:
        self.url = url
        self._db = connection
        self.backend_pid = connection.info.backend_pid
        """The server process of this store's connection: its own NOTIFYs wake nobody here."""
        self._depth = 0
        self._locked: set[str] = set()
        """Locks this transaction holds already: taking one again is a round trip for nothing."""
        self._last: dict[str, int] = {}
        """The last event number of each incident locked in this transaction: nobody else
        can append while the lock is held, so it is known without asking again."""
        self._touched: dict[str, tuple[str, str, datetime]] = {}
        """Each incident's state after this transaction's appends, written once at commit."""
        self._listener: _Listener | None = None
        self._notices: dict[str, None] = {}
        """Channels and payloads to NOTIFY at commit, once each (PostgreSQL delivers them
        only when the transaction commits anyway)."""

    @property
    def connection(self) -> psycopg.Connection[dict[str, Any]]:
        """The connection, opened again if the server dropped it (a restart, a failover,
        an administrator's `pg_terminate_backend`): the next statement finds a live one,
        and the transaction that was cut is simply not there, as if it never began."""
        if self._db.closed and not self._depth:
            self._db = _reconnect(self.url)
            self.backend_pid = self._db.info.backend_pid
        return self._db

    @property
    def db(self) -> _Guarded:
        """Statements through here fail as `StoreError`, never as a driver's exception:
        a connection cut mid-statement is the database's trouble, said in warroom's words."""
        return _Guarded(self)

    @classmethod
    def open(cls, url: str) -> PostgresStore:
        try:
            connection = psycopg.connect(url, autocommit=True, row_factory=dict_row)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to {masked_url(url)} ({_first_line(exc)})") from None
        store = cls(url, connection)
        try:
            store._migrate()
        except BaseException:
            connection.close()
            raise
        return store

    @property
    def location(self) -> str:
        return masked_url(self.url)

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
        self._db.close()

    def wait_for_work(self, timeout: float, wake: threading.Event) -> None:
        """Until `wake` is set, or another node (or process) queues a message or sets a
        timer, or `timeout` passes. A connection of its own LISTENs, from the first call
        on; while it is down (a restart) the timeout is the fallback, and on reconnecting
        it wakes the worker once for whatever it may have missed. `wake` is left set."""
        if self._listener is None:
            self._listener = _Listener(self.url, self)
        self._listener.wait(timeout, wake)

    # -- schema ----------------------------------------------------------------------------

    def _migrate(self) -> None:
        with self.transaction(pipeline=False):
            self.db.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            self.db.execute("CREATE TABLE IF NOT EXISTS warroom_schema (version INTEGER NOT NULL)")
            row = self.db.execute("SELECT version FROM warroom_schema").fetchone()
            version = int(row["version"]) if row else 0
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"database {self.location} has schema version {version}, written by a "
                    f"newer warroom; this one knows up to version {SCHEMA_VERSION}: upgrade "
                    "warroom on this node"
                )
            for script in MIGRATIONS[version:]:
                self.db.execute(script.encode())
            if row is None:
                self.db.execute("INSERT INTO warroom_schema VALUES (%s)", (SCHEMA_VERSION,))
            else:
                self.db.execute("UPDATE warroom_schema SET version = %s", (SCHEMA_VERSION,))

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except psycopg.Error as exc:
            raise StoreError(f"database {self.location}: {_first_line(exc)}") from None

    @contextmanager
    def transaction(self, *, pipeline: bool = True) -> Iterator[object]:
        """A transaction; nested ones are savepoints. Serialisation is per incident: see
        `_lock`.

        The outermost one runs in pipeline mode: writes go out without waiting for their
        answers, and only a read (or the commit) waits for the server. Recording a batch of
        200 receipts is two round trips instead of a thousand; an error in any statement
        still fails the whole transaction, at the next read or at the commit. (A script of
        several statements, a migration, needs `pipeline=False`.)"""
        if self._depth:
            with self._errors(), self.connection.transaction():
                saved = (
                    set(self._locked),
                    dict(self._last),
                    dict(self._touched),
                    dict(self._notices),
                )
                self._depth += 1
                try:
                    yield self.db
                except BaseException:
                    # a savepoint rolled back: what it wrote, and the locks it took, are gone
                    self._locked, self._last, self._touched, self._notices = saved
                    raise
                finally:
                    self._depth -= 1
            return
        connection = self.connection
        try:
            piped = connection.pipeline() if pipeline else nullcontext()
            with self._errors(), piped, connection.transaction():
                self._depth += 1
                try:
                    yield self.db
                    self._write_touched()
                finally:
                    self._depth -= 1
        finally:
            self._locked.clear()
            self._last.clear()
            self._touched.clear()
            self._notices.clear()

    def _write_touched(self) -> None:
        """Before the commit: each incident's row once, and the notifications once each."""
        touched, self._touched = self._touched, {}
        for incident_id, (state, level, at) in touched.items():
            self.db.execute(
                "UPDATE incidents SET state = %s, level = %s, updated_at = %s WHERE id = %s",
                (state, level, at, incident_id),
            )
        notices, self._notices = self._notices, {}
        for notice in notices:
            channel, _, payload = notice.partition(" ")
            self.db.execute("SELECT pg_notify(%s, %s)", (channel, payload))

    def _notify(self, channel: str, payload: str = "") -> None:
        """Wake the other nodes when this transaction commits (see `wait_for_work`)."""
        if self._depth:
            self._notices[f"{channel} {payload}"] = None
        else:
            self.db.execute("SELECT pg_notify(%s, %s)", (channel, payload))

    def _count(self, update: str, params: Sequence[object]) -> int:
        """Rows an UPDATE changed, read from the server: in pipeline mode a cursor's
        `rowcount` is not known until the results come back."""
        row = self.db.execute(
            f"WITH changed AS ({update} RETURNING 1) SELECT COUNT(*) AS n FROM changed", params
        ).fetchone()
        return int(row["n"]) if row else 0

    def _lock(self, name: str) -> None:
        """Inside a transaction: wait for, then hold until commit, the lock on one incident
        (or alert key), so decisions on it are serial across nodes."""
        if self._depth and name not in self._locked:
            self.db.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (name,))
            self._locked.add(name)

    # -- incidents and events --------------------------------------------------------------

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
        self.db.execute(
            "INSERT INTO incidents (id, playbook, title, state, level, exercise, opened_at,"
            " updated_at, snapshot) VALUES (%s, %s, %s, 'new', %s, %s, %s, %s, %s)",
            (incident_id, playbook, title, level, exercise, now, now, json.dumps(snapshot)),
        )

    def incident_exists(self, incident_id: str) -> bool:
        self._lock(f"incident:{incident_id}")
        found = self.db.execute("SELECT 1 FROM incidents WHERE id = %s", (incident_id,))
        return found.fetchone() is not None

    def incident(self, incident_id: str) -> IncidentRow:
        with self._errors():
            row = self.db.execute(
                "SELECT * FROM incidents WHERE id = %s", (incident_id,)
            ).fetchone()
        if row is None:
            known = [r.id for r in self.incidents()]
            raise NotFound(
                f"unknown incident {incident_id!r} (known: {', '.join(known[-5:]) or 'none'})"
            )
        return _incident(row)

    def incidents(self, *, open_only: bool = False) -> list[IncidentRow]:
        query = "SELECT * FROM incidents"
        if open_only:
            query += " WHERE state = ANY(%s)"
        with self._errors():
            rows = self.db.execute(
                query + " ORDER BY opened_at, id",
                (sorted(INCIDENT_IN_HAND),) if open_only else (),
            ).fetchall()
        return [_incident(row) for row in rows]

    def events(self, incident_id: str, *, after: int = 0) -> list[StoredEvent]:
        with self._errors():
            rows = self.db.execute(
                "SELECT * FROM events WHERE incident = %s AND n > %s ORDER BY n",
                (incident_id, after),
            ).fetchall()
        return [self._stored(row) for row in rows]

    def _event(self, body: str) -> Event:
        try:
            return event_from_json(json.loads(body))
        except UnreadableEvent as exc:
            raise StoreError(f"database {self.location}: the event log holds {exc}") from exc

    def recent_events(self, incident_id: str, limit: int) -> list[StoredEvent]:
        """The last `limit` events that left notes, oldest first: what `status` shows."""
        with self._errors():
            rows = self.db.execute(
                "SELECT * FROM events WHERE incident = %s AND notes != '[]'"
                " ORDER BY n DESC LIMIT %s",
                (incident_id, limit),
            ).fetchall()
        return [self._stored(row) for row in reversed(rows)]

    def events_except(self, incident_id: str, kind: str) -> list[StoredEvent]:
        with self._errors():
            rows = self.db.execute(
                "SELECT * FROM events WHERE incident = %s AND (kind != %s OR notes != '[]')"
                " ORDER BY n",
                (incident_id, kind),
            ).fetchall()
        return [self._stored(row) for row in rows]

    def _stored(self, row: dict[str, Any]) -> StoredEvent:
        return StoredEvent(
            seq=row["seq"],
            incident=row["incident"],
            n=row["n"],
            at=row["at"],
            event=self._event(row["body"]),
            notes=tuple(json.loads(row["notes"])),
        )

    def delivery_counts(self, incident_id: str) -> list[tuple[str, str, str, int, str, str]]:
        with self._errors():
            rows = self.db.execute(
                "SELECT COALESCE(body::jsonb->>'audience', body::jsonb->>'purpose') AS who,"
                " channel, state, COUNT(*) AS n, MIN(updated_at) AS first,"
                " MAX(updated_at) AS last FROM outbox WHERE incident = %s"
                " GROUP BY who, channel, state ORDER BY MIN(event_seq), who, channel, state",
                (incident_id,),
            ).fetchall()
        return [
            (
                r["who"] or "",
                r["channel"],
                r["state"],
                int(r["n"]),
                r["first"].isoformat(),
                r["last"].isoformat(),
            )
            for r in rows
        ]

    def outbox_counts(self, incident_id: str) -> dict[str, int]:
        with self._errors():
            rows = self.db.execute(
                "SELECT state, COUNT(*) AS n FROM outbox WHERE incident = %s GROUP BY state",
                (incident_id,),
            ).fetchall()
        return {row["state"]: int(row["n"]) for row in rows}

    def checkpoint(self, incident_id: str) -> tuple[int, str, bytes] | None:
        with self._errors():
            row = self.db.execute(
                "SELECT n, format, state FROM checkpoints WHERE incident = %s", (incident_id,)
            ).fetchone()
        return (int(row["n"]), str(row["format"]), bytes(row["state"])) if row else None

    def save_checkpoint(self, incident_id: str, n: int, form: str, state: bytes) -> None:
        self.db.execute(
            "INSERT INTO checkpoints (incident, n, format, state) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (incident) DO UPDATE SET n = excluded.n, format = excluded.format,"
            " state = excluded.state",
            (incident_id, n, form, state),
        )

    def last_n(self, incident_id: str) -> int:
        known = self._last.get(incident_id)
        if known is not None:
            return known
        self._lock(f"incident:{incident_id}")
        row = self.db.execute(
            "SELECT COALESCE(MAX(n), 0) AS n FROM events WHERE incident = %s", (incident_id,)
        ).fetchone()
        last = int(row["n"]) if row else 0
        if self._depth:
            self._last[incident_id] = last
        return last

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
        """Append one event and its effects; call inside `transaction()`.

        Nothing here waits for an answer (see `transaction`): the outbox rows take the
        event's sequence number from `currval` on the server, and the incident's row and the
        notifications are written once per transaction, at its end."""
        self.db.execute(
            "INSERT INTO events (incident, n, at, kind, body, notes)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (
                incident_id,
                n,
                at,
                event.kind,
                json.dumps(event.to_json(), ensure_ascii=False),
                json.dumps(list(notes), ensure_ascii=False),
            ),
        )
        if self._depth:
            self._last[incident_id] = n
        messages = [
            (
                e.message,
                incident_id,
                e.key,
                e.channel,
                json.dumps(e.to_json(), ensure_ascii=False),
                at,
            )
            for e in effects
            if isinstance(e, SendMessage)
        ]
        if messages:
            with self.db.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO outbox (id, incident, event_seq, key, channel, body, updated_at)"
                    " VALUES (%s, %s, currval('events_seq_seq'), %s, %s, %s, %s)"
                    " ON CONFLICT (key) DO NOTHING",
                    messages,
                )
            self._notify(WORK_CHANNEL, "outbox")
        for effect in effects:
            if isinstance(effect, StartTimer):
                self.db.execute(
                    "INSERT INTO timers (incident, timer, token, due_at, purpose)"
                    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (incident, timer) DO UPDATE SET"
                    " token = excluded.token, due_at = excluded.due_at, purpose = excluded.purpose",
                    (incident_id, str(effect.timer), effect.token, effect.at, effect.purpose),
                )
                self._notify(WORK_CHANNEL, "timer")
            elif isinstance(effect, CancelTimer):
                self.db.execute(
                    "DELETE FROM timers WHERE incident = %s AND timer = %s",
                    (incident_id, str(effect.timer)),
                )
        self._touched[incident_id] = (state, level, at)
        if not self._depth:
            self._write_touched()
        self._notify(EVENTS_CHANNEL, incident_id)

    # -- the inbound log -------------------------------------------------------------------

    def log_inbound(self, entry: InboundEntry) -> int:
        with self.transaction():
            row = self.db.execute(
                "INSERT INTO inbound (at, channel, sender, body, incident, outcome, route,"
                " delivery_id, body_hash, verdict) VALUES (%s, %s, %s, %s, %s, %s, %s, %s,"
                " %s, %s) RETURNING id",
                (
                    entry.at,
                    entry.channel,
                    entry.sender,
                    entry.body[:INBOUND_BODY_KEPT].replace("\x00", "\ufffd"),
                    entry.incident,
                    entry.outcome,
                    entry.route,
                    entry.delivery_id,
                    entry.body_hash,
                    entry.verdict,
                ),
            ).fetchone()
        return int(row["id"]) if row else 0

    def judge_inbound(
        self, entry_id: int, verdict: str, outcome: str, incident: str | None = None
    ) -> None:
        with self._errors():
            self.db.execute(
                "UPDATE inbound SET verdict = %s, outcome = %s,"
                " incident = COALESCE(%s, incident) WHERE id = %s",
                (verdict, outcome[:INBOUND_BODY_KEPT], incident, entry_id),
            )

    def delivered_before(self, route: str, delivery_id: str, before: int | None = None) -> bool:
        with self._errors():
            row = self.db.execute(
                "SELECT 1 FROM inbound WHERE route = %s AND delivery_id = %s AND id < %s"
                " AND verdict IN ('accepted', 'no-effect') LIMIT 1",
                (route, delivery_id, before if before is not None else 2**62),
            ).fetchone()
        return row is not None

    def inbound(
        self, *, since: datetime | None = None, verdict: str | None = None, limit: int = 1000
    ) -> list[InboundEntry]:
        query, args = "SELECT * FROM inbound WHERE TRUE", list[Any]()
        if since is not None:
            query, args = query + " AND at >= %s", [*args, since]
        if verdict is not None:
            query, args = query + " AND verdict = %s", [*args, verdict]
        with self._errors():
            rows = self.db.execute(
                f"SELECT * FROM ({query} ORDER BY id DESC LIMIT %s) AS newest ORDER BY id",
                (*args, limit),
            ).fetchall()
        return [
            InboundEntry(
                at=r["at"],
                route=r["route"] or r["channel"],
                channel=r["channel"],
                sender=r["sender"],
                body=r["body"],
                verdict=r["verdict"],
                outcome=r["outcome"],
                incident=r["incident"],
                delivery_id=r["delivery_id"],
                body_hash=r["body_hash"],
                id=r["id"],
            )
            for r in rows
        ]

    # -- view links ------------------------------------------------------------------------

    def add_view_link(self, link: ViewLink) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO view_links (id, incident, created_at, expires_at, created_by)"
                " VALUES (%s, %s, %s, %s, %s)",
                (link.id, link.incident, link.created_at, link.expires_at, link.created_by),
            )

    def view_link(self, link_id: str) -> ViewLink | None:
        with self._errors():
            row = self.db.execute("SELECT * FROM view_links WHERE id = %s", (link_id,)).fetchone()
        return ViewLink(**row) if row is not None else None

    def view_links(self, incident: str) -> list[ViewLink]:
        with self._errors():
            rows = self.db.execute(
                "SELECT * FROM view_links WHERE incident = %s ORDER BY created_at, id",
                (incident,),
            ).fetchall()
        return [ViewLink(**row) for row in rows]

    def revoke_view_links(
        self, now: datetime, *, link_id: str | None = None, incident: str | None = None
    ) -> int:
        column, value = ("id", link_id) if link_id is not None else ("incident", incident)
        with self.transaction():
            return self._count(
                f"UPDATE view_links SET revoked_at = %s WHERE {column} = %s AND revoked_at IS NULL",
                (now, value),
            )

    # -- alert keys ------------------------------------------------------------------------

    def alert_incident(self, key: str) -> AlertBinding | None:
        self._lock(f"alert:{key}")
        with self._errors():
            row = self.db.execute(
                "SELECT a.incident, a.fingerprints, a.resolved, i.state, i.updated_at"
                " FROM alert_keys a JOIN incidents i ON i.id = a.incident"
                " WHERE a.key = %s ORDER BY a.opened_at DESC, a.incident DESC LIMIT 1",
                (key,),
            ).fetchone()
        if row is None:
            return None
        return AlertBinding(
            incident=row["incident"],
            fingerprints=frozenset(json.loads(row["fingerprints"])),
            resolved=frozenset(json.loads(row["resolved"])),
            state=row["state"],
            updated_at=row["updated_at"],
        )

    def bind_alert(
        self, key: str, incident: str, source: str, at: datetime, fingerprint: str
    ) -> None:
        self.db.execute(
            "INSERT INTO alert_keys (key, incident, source, opened_at, fingerprints)"
            " VALUES (%s, %s, %s, %s, %s)",
            (key, incident, source, at, json.dumps([fingerprint] if fingerprint else [])),
        )

    def mark_alert(self, key: str, incident: str, *, firing: str = "", resolved: str = "") -> None:
        found = self.alert_incident(key)
        if found is None:
            return
        firing_set = found.fingerprints | ({firing} if firing else set())
        resolved_set = found.resolved | ({resolved} if resolved else set())
        self.db.execute(
            "UPDATE alert_keys SET fingerprints = %s, resolved = %s"
            " WHERE key = %s AND incident = %s",
            (json.dumps(sorted(firing_set)), json.dumps(sorted(resolved_set)), key, incident),
        )

    # -- workers ---------------------------------------------------------------------------

    def beat(self, worker: str, at: datetime) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO heartbeats (worker, at) VALUES (%s, %s)"
                " ON CONFLICT (worker) DO UPDATE SET at = excluded.at",
                (worker, at),
            )

    def last_heartbeat(self) -> tuple[str, datetime] | None:
        with self._errors():
            row = self.db.execute(
                "SELECT worker, at FROM heartbeats ORDER BY at DESC LIMIT 1"
            ).fetchone()
        return (row["worker"], row["at"]) if row else None

    def ping(self) -> None:
        with self._errors():
            self.db.execute("SELECT COUNT(*) FROM incidents").fetchone()

    # -- timers and outbox -----------------------------------------------------------------

    def drop_timer(self, incident_id: str, timer: str, token: int) -> None:
        self.db.execute(
            "DELETE FROM timers WHERE incident = %s AND timer = %s AND token = %s",
            (incident_id, timer, token),
        )

    def due_timers(self, now: datetime, limit: int = 100) -> list[DueTimer]:
        with self._errors():
            rows = self.db.execute(
                "SELECT * FROM timers WHERE due_at <= %s ORDER BY due_at, incident, timer LIMIT %s",
                (now, limit),
            ).fetchall()
        return [DueTimer(r["incident"], r["timer"], r["token"], r["due_at"]) for r in rows]

    def next_timer(self) -> DueTimer | None:
        with self._errors():
            row = self.db.execute(
                "SELECT * FROM timers ORDER BY due_at, incident, timer LIMIT 1"
            ).fetchone()
        if row is None:
            return None
        return DueTimer(row["incident"], row["timer"], row["token"], row["due_at"])

    def next_send_at(self) -> datetime | None:
        with self._errors():
            row = self.db.execute(
                "SELECT MIN(not_before) AS at FROM outbox WHERE state IN (%s, %s)"
                " AND not_before IS NOT NULL",
                (OutboxPhase.QUEUED, OutboxPhase.UNKNOWN),
            ).fetchone()
        found: datetime | None = row["at"] if row else None
        return found

    def claim(self, worker: str, now: datetime, limit: int = 100) -> list[OutboxRow]:
        """Up to `limit` queued messages, oldest first, that no other node holds: one
        statement, a transaction of its own, one round trip."""
        with self._errors():
            rows = self.db.execute(
                "UPDATE outbox SET state = %s, claimed_by = %s, claimed_at = %s,"
                " attempts = attempts + 1, updated_at = %s WHERE id IN ("
                " SELECT id FROM outbox WHERE state = %s"
                " AND (not_before IS NULL OR not_before <= %s) ORDER BY event_seq, id"
                " LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING *",
                (
                    OutboxPhase.SENDING,
                    worker,
                    now,
                    now,
                    OutboxPhase.QUEUED,
                    now,
                    limit,
                ),
            ).fetchall()
        return [_outbox_row(r) for r in sorted(rows, key=lambda r: (r["event_seq"], r["id"]))]

    def postpone(
        self,
        message_id: str,
        state: OutboxPhase,
        not_before: datetime,
        detail: str,
        now: datetime,
    ) -> None:
        self.db.execute(
            "UPDATE outbox SET state = %s, not_before = %s, detail = %s, claimed_by = NULL,"
            " updated_at = %s WHERE id = %s AND state NOT IN ('delivered', 'undeliverable')",
            (state, not_before, detail, now, message_id),
        )

    def claim_unknown(self, worker: str, now: datetime, limit: int = 100) -> list[OutboxRow]:
        with self._errors():
            rows = self.db.execute(
                "UPDATE outbox SET state = %s, claimed_by = %s, updated_at = %s"
                " WHERE id IN (SELECT id FROM outbox WHERE state = %s AND not_before <= %s"
                " ORDER BY event_seq, id LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING *",
                (
                    OutboxPhase.RECONCILING,
                    worker,
                    now,
                    OutboxPhase.UNKNOWN,
                    now,
                    limit,
                ),
            ).fetchall()
        return [_outbox_row(r) for r in sorted(rows, key=lambda r: (r["event_seq"], r["id"]))]

    def claimed_at(self, message_id: str) -> datetime | None:
        row = self.db.execute(
            "SELECT claimed_at FROM outbox WHERE id = %s", (message_id,)
        ).fetchone()
        found: datetime | None = row["claimed_at"] if row else None
        return found

    def requeue_abandoned(self, older_than: datetime, owners: Sequence[str] = ()) -> int:
        """As on SQLite: a lease is its claim, or its owner's heartbeat since (a node that
        works renews all it holds with one), whichever is later."""
        with self.transaction():
            return self._count(
                "UPDATE outbox SET state = %s, not_before = claimed_at, claimed_by = NULL"
                " WHERE state IN (%s, %s) AND (claimed_by = ANY(%s) OR (claimed_at <= %s"
                " AND NOT EXISTS (SELECT 1 FROM heartbeats h"
                " WHERE h.worker = outbox.claimed_by AND h.at > %s)))",
                (
                    OutboxPhase.UNKNOWN,
                    OutboxPhase.SENDING,
                    OutboxPhase.RECONCILING,
                    list(owners),
                    older_than,
                    older_than,
                ),
            )

    def heartbeats(self) -> list[tuple[str, datetime]]:
        with self._errors():
            rows = self.db.execute("SELECT worker, at FROM heartbeats ORDER BY at DESC").fetchall()
        return [(row["worker"], row["at"]) for row in rows]

    def holdings(self) -> dict[str, int]:
        with self._errors():
            rows = self.db.execute(
                "SELECT claimed_by, COUNT(*) AS n FROM outbox WHERE state IN (%s, %s)"
                " AND claimed_by IS NOT NULL GROUP BY claimed_by",
                (OutboxPhase.SENDING, OutboxPhase.RECONCILING),
            ).fetchall()
        return {row["claimed_by"]: int(row["n"]) for row in rows}

    def in_flight_owners(self) -> set[str]:
        with self._errors():
            rows = self.db.execute(
                "SELECT DISTINCT claimed_by FROM outbox WHERE state IN (%s, %s)"
                " AND claimed_by IS NOT NULL",
                (OutboxPhase.SENDING, OutboxPhase.RECONCILING),
            ).fetchall()
        return {row["claimed_by"] for row in rows}

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
        # forward only, as on SQLite: nothing reopens a final state
        self.db.execute(
            "UPDATE outbox SET state = CASE WHEN state = ANY(%s)"
            " OR (state = 'sent' AND NOT %s = ANY(%s)) THEN state ELSE %s END,"
            " provider_id = COALESCE(%s, provider_id),"
            " detail = CASE WHEN %s = '' THEN detail ELSE %s END,"
            " not_before = %s, updated_at = %s WHERE id = %s",
            (
                list(FINAL),
                state,
                list(FINAL),
                state,
                provider_id,
                detail,
                detail,
                not_before,
                now,
                message_id,
            ),
        )

    def outbox(self, incident_id: str | None = None) -> list[OutboxRow]:
        query, args = "SELECT * FROM outbox", tuple[str, ...]()
        if incident_id is not None:
            query, args = query + " WHERE incident = %s", (incident_id,)
        with self._errors():
            rows = self.db.execute(query + " ORDER BY event_seq, id", args).fetchall()
        return [_outbox_row(r) for r in rows]


def _incident(row: dict[str, Any]) -> IncidentRow:
    snapshot = row["snapshot"]
    return IncidentRow(
        id=row["id"],
        playbook=row["playbook"],
        title=row["title"],
        state=row["state"],
        level=row["level"],
        exercise=bool(row["exercise"]),
        opened_at=row["opened_at"],
        updated_at=row["updated_at"],
        snapshot=snapshot if isinstance(snapshot, dict) else json.loads(snapshot),
    )


def _outbox_row(row: dict[str, Any]) -> OutboxRow:
    return OutboxRow(
        row["id"],
        row["incident"],
        row["key"],
        row["channel"],
        SendMessage(**json.loads(row["body"])),
        row["state"],
        row["attempts"],
        row["detail"],
    )


class _Guarded:
    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    def execute(self, query: Any, params: Any = None) -> psycopg.Cursor[dict[str, Any]]:
        with self._store._errors():
            return self._store.connection.execute(query, params)

    def cursor(self) -> psycopg.Cursor[dict[str, Any]]:
        return self._store.connection.cursor()


class _Listener:
    """A thread on its own connection, LISTENing for work queued by others; it sets the
    events of whoever waits (see `PostgresStore.wait_for_work`)."""

    def __init__(self, url: str, store: PostgresStore) -> None:
        self.url = url
        self.store = store
        self.lock = threading.Lock()
        self.waiting: set[threading.Event] = set()
        self.pending = False
        """Work was announced while nobody waited: the next wait returns at once."""
        self.closing = threading.Event()
        self.thread = threading.Thread(target=self._listen, name="warroom-listen", daemon=True)
        self.thread.start()

    def wait(self, timeout: float, wake: threading.Event) -> None:
        with self.lock:
            if self.pending:
                self.pending = False
                return
            self.waiting.add(wake)
        try:
            wake.wait(timeout)
        finally:
            with self.lock:
                self.waiting.discard(wake)
                self.pending = False

    def _arrived(self) -> None:
        with self.lock:
            self.pending = True
            for wake in self.waiting:
                wake.set()

    def _listen(self) -> None:
        while not self.closing.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as db:
                    db.execute(f"LISTEN {WORK_CHANNEL}")
                    self._arrived()  # whatever was queued while nobody listened
                    while not self.closing.is_set():
                        for notice in db.notifies(timeout=0.5):
                            if notice.pid != self.store.backend_pid:  # not our own writes
                                self._arrived()
            except psycopg.Error:
                self.closing.wait(1.0)  # the server is away: polling covers it meanwhile

    def close(self) -> None:
        self.closing.set()
        self.thread.join(timeout=5)


RECONNECT_WAITS = (0.1, 0.5, 1.0, 2.0, 5.0)
"""Back-off between attempts to reach a server that dropped us: about 9 s in all, enough
for a restart or a failover, short enough that a worker says so instead of hanging."""


def _reconnect(url: str) -> psycopg.Connection[dict[str, Any]]:
    for wait in (0.0, *RECONNECT_WAITS):
        time.sleep(wait)
        try:
            return psycopg.connect(url, autocommit=True, row_factory=dict_row)
        except psycopg.OperationalError as exc:
            failure = exc
    raise StoreError(f"lost the connection to {masked_url(url)} ({_first_line(failure)})")


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
