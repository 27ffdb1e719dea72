"""The embedded store: one SQLite file in WAL mode holding the event log, outbox and timers.

The event log is the truth; the outbox and timers are the engine's effects, written in the
same transaction as the event that caused them, so a crash between "decided" and "sent" loses
nothing. Writers take the database's write lock *before* they read the incident, so two
terminals acting on one incident are serialised and neither loses the other's event.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from warroom.engine.effects import CancelTimer, Effect, SendMessage, StartTimer
from warroom.engine.events import Event, event_from_json
from warroom.engine.lifecycles import INCIDENT_IN_HAND, OutboxPhase
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

__all__ = [
    "INBOUND_BODY_KEPT",
    "AlertBinding",
    "DueTimer",
    "InboundEntry",
    "IncidentRow",
    "OutboxRow",
    "SqliteStore",
    "Store",
    "StoredEvent",
]
from warroom.errors import NotFound, StoreError, UnreadableEvent

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE incidents (
        id          TEXT PRIMARY KEY,
        playbook    TEXT NOT NULL,
        title       TEXT NOT NULL,
        state       TEXT NOT NULL,
        level       TEXT NOT NULL,
        exercise    INTEGER NOT NULL DEFAULT 0,
        opened_at   TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        snapshot    TEXT NOT NULL
    );
    CREATE TABLE events (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        incident    TEXT NOT NULL REFERENCES incidents(id),
        n           INTEGER NOT NULL,
        at          TEXT NOT NULL,
        kind        TEXT NOT NULL,
        body        TEXT NOT NULL,
        notes       TEXT NOT NULL,
        UNIQUE (incident, n)
    );
    CREATE TABLE outbox (
        id              TEXT PRIMARY KEY,
        incident        TEXT NOT NULL REFERENCES incidents(id),
        event_seq       INTEGER NOT NULL REFERENCES events(seq),
        key             TEXT NOT NULL UNIQUE,
        channel         TEXT NOT NULL,
        body            TEXT NOT NULL,
        state           TEXT NOT NULL DEFAULT 'queued',
        attempts        INTEGER NOT NULL DEFAULT 0,
        not_before      TEXT,
        claimed_by      TEXT,
        claimed_at      TEXT,
        provider_id     TEXT,
        detail          TEXT NOT NULL DEFAULT '',
        updated_at      TEXT NOT NULL
    );
    CREATE INDEX outbox_due ON outbox (state, not_before);
    CREATE TABLE timers (
        incident    TEXT NOT NULL REFERENCES incidents(id),
        timer       TEXT NOT NULL,
        token       INTEGER NOT NULL,
        due_at      TEXT NOT NULL,
        purpose     TEXT NOT NULL,
        PRIMARY KEY (incident, timer)
    );
    CREATE INDEX timers_due ON timers (due_at);
    """,
    """
    CREATE TABLE inbound (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        at          TEXT NOT NULL,
        channel     TEXT NOT NULL,
        sender      TEXT NOT NULL,
        body        TEXT NOT NULL,
        incident    TEXT,
        outcome     TEXT NOT NULL
    );
    """,
    # warroom serve: every request to a webhook or a link is logged before it is acted on,
    # with a verdict; workers leave a heartbeat so that `/readyz` can say when one last ran
    """
    ALTER TABLE inbound ADD COLUMN route TEXT NOT NULL DEFAULT '';
    ALTER TABLE inbound ADD COLUMN delivery_id TEXT;
    ALTER TABLE inbound ADD COLUMN body_hash TEXT NOT NULL DEFAULT '';
    ALTER TABLE inbound ADD COLUMN verdict TEXT NOT NULL DEFAULT 'accepted';
    CREATE INDEX inbound_delivery ON inbound (route, delivery_id);
    CREATE INDEX inbound_at ON inbound (at);
    CREATE TABLE heartbeats (
        worker      TEXT PRIMARY KEY,
        at          TEXT NOT NULL
    );
    CREATE TABLE alert_keys (
        key             TEXT NOT NULL,
        incident        TEXT NOT NULL REFERENCES incidents(id),
        source          TEXT NOT NULL,
        opened_at       TEXT NOT NULL,
        fingerprints    TEXT NOT NULL DEFAULT '[]',
        resolved        TEXT NOT NULL DEFAULT '[]',
        PRIMARY KEY (key, incident)
    );
    CREATE INDEX alert_keys_latest ON alert_keys (key, opened_at);
    """,
    # the war-room page: view links shared per incident, each revocable on its own
    """
    CREATE TABLE view_links (
        id          TEXT PRIMARY KEY,
        incident    TEXT NOT NULL REFERENCES incidents(id),
        created_at  TEXT NOT NULL,
        expires_at  TEXT NOT NULL,
        created_by  TEXT NOT NULL,
        revoked_at  TEXT
    );
    CREATE INDEX view_links_incident ON view_links (incident);
    """,
    # the dispatcher claims in log order among queued rows, and status reads one incident's
    # outbox: without these, each claim sorted every queued row (18 ms per claim at 50k)
    """
    CREATE INDEX outbox_claim ON outbox (state, event_seq);
    CREATE INDEX outbox_incident ON outbox (incident, state);
    """,
    # the folded state of an incident every so many events: reopening a 10,000-message
    # incident loads it and folds what came after, instead of the whole log
    """
    CREATE TABLE checkpoints (
        incident    TEXT PRIMARY KEY REFERENCES incidents(id),
        n           INTEGER NOT NULL,
        format      TEXT NOT NULL,
        state       BLOB NOT NULL
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
BUSY_TIMEOUT = 60.0
"""How long a command waits for another's write to finish: a hundred terminals and webhooks
acting at once queue up (each write takes milliseconds) instead of failing as locked."""


def stamp(moment: datetime) -> str:
    """UTC, fixed width: such strings sort in time order, so SQL can compare them."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def unstamp(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _outbox_row(row: sqlite3.Row) -> OutboxRow:
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


class SqliteStore:
    """One SQLite database. Open it with `SqliteStore.open(path)`; it is safe across processes."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self.db = connection
        self._touched: dict[str, tuple[str, str, str]] = {}
        """Incidents whose row `append` changed in this transaction: (state, level, at),
        written once at commit, not once per event (a batch of receipts is one update)."""

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        busy_timeout: float = BUSY_TIMEOUT,
        durable: bool = True,
        shared: bool = False,
        existing: bool = False,
    ) -> SqliteStore:
        """`durable=False` skips waiting for the disk: only for a database that can be rebuilt
        from scratch, such as a simulated exercise's. `shared=True` lets several threads use
        the connection, one at a time: the server serialises its requests on it.
        `existing=True` refuses to create a database: a mistyped `--db` for a command that
        only reads must say so, not show an empty one."""
        path = Path(path)
        if path.exists() and path.is_dir():
            raise StoreError(f"database {path} is a folder; expected a file (--db / WARROOM_DB)")
        if not path.parent.exists():
            raise StoreError(f"database folder {path.parent} does not exist")
        if existing and not path.exists():
            raise StoreError(
                f"no such database {path} (give --db or WARROOM_DB the file that "
                "`warroom activate` wrote)"
            )
        try:
            db = sqlite3.connect(
                path, timeout=busy_timeout, isolation_level=None, check_same_thread=not shared
            )
        except sqlite3.Error as exc:
            raise store_error(path, exc) from None
        store = cls(path, db)
        try:
            with store._errors():
                db.row_factory = sqlite3.Row
                db.execute("PRAGMA foreign_keys = ON")
                store._refuse_foreign()
                mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if mode != "wal":
                    raise StoreError(f"database {path} cannot use WAL mode (got {mode})")
                db.execute(f"PRAGMA synchronous = {'NORMAL' if durable else 'OFF'}")
                store._migrate()
        except BaseException:
            db.close()
            raise
        return store

    @classmethod
    def open_for_reading(cls, path: Path) -> SqliteStore:
        """An existing database for a command that only reads (`status`, `timeline`): opened
        as usual where possible, else read-only, so a database on read-only storage (a
        mounted backup, an immutable file) can still be looked at."""
        try:
            return cls.open(path, existing=True)
        except StoreError as exc:
            text = str(exc)
            if "read-only" not in text and "cannot open" not in text:
                raise
        mode = "ro" if Path(f"{path}-wal").exists() else "ro&immutable=1"
        try:
            db = sqlite3.connect(
                f"{Path(path).resolve().as_uri()}?mode={mode}", uri=True, isolation_level=None
            )
        except sqlite3.Error as exc:
            raise store_error(Path(path), exc) from None
        store = cls(Path(path), db)
        try:
            with store._errors():
                db.row_factory = sqlite3.Row
                version = int(db.execute("PRAGMA user_version").fetchone()[0])
                if version != SCHEMA_VERSION:
                    raise StoreError(
                        f"database {path} is read-only and has schema version {version}; "
                        f"this warroom reads version {SCHEMA_VERSION} (open it writable once "
                        "to upgrade it)"
                    )
        except BaseException:
            db.close()
            raise
        return store

    def _refuse_foreign(self) -> None:
        """Never turn another program's SQLite file into a warroom database."""
        version = int(self.db.execute("PRAGMA user_version").fetchone()[0])
        tables = [
            row[0]
            for row in self.db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        if version == 0 and tables:
            shown = ", ".join(sorted(tables)[:5])
            raise StoreError(
                f"{self.path} is not a warroom database (it holds other tables: {shown}); "
                "give --db a new file"
            )

    def close(self) -> None:
        self.db.close()

    def wait_for_work(self, timeout: float, wake: threading.Event) -> None:
        """One host, no one to hear from: the timeout (or `wake`, set by a nudge or a stop)."""
        wake.wait(timeout)

    # -- schema ----------------------------------------------------------------------------

    def _migrate(self) -> None:
        version = int(self.db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"database {self.path} has schema version {version}, written by a newer "
                f"warroom; this one knows up to version {SCHEMA_VERSION}: upgrade warroom"
            )
        if version == SCHEMA_VERSION:
            return
        with self.transaction():
            for script in MIGRATIONS[version:]:
                for statement in script.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise store_error(self.path, exc) from None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction holding the lock from its start (BEGIN IMMEDIATE)."""
        with self._errors():
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
                self._write_touched()
            except BaseException:
                self._touched.clear()
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def _write_touched(self) -> None:
        touched, self._touched = self._touched, {}
        for incident_id, (state, level, at) in touched.items():
            self.db.execute(
                "UPDATE incidents SET state = ?, level = ?, updated_at = ? WHERE id = ?",
                (state, level, at, incident_id),
            )

    @property
    def location(self) -> str:
        return str(self.path)

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
            " updated_at, snapshot) VALUES (?, ?, ?, 'new', ?, ?, ?, ?, ?)",
            (
                incident_id,
                playbook,
                title,
                level,
                int(exercise),
                stamp(now),
                stamp(now),
                json.dumps(snapshot),
            ),
        )

    def incident_exists(self, incident_id: str) -> bool:
        found = self.db.execute("SELECT 1 FROM incidents WHERE id = ?", (incident_id,))
        return found.fetchone() is not None

    def incident(self, incident_id: str) -> IncidentRow:
        with self._errors():
            self._write_touched()  # reads inside a transaction see its appends
            row = self.db.execute("SELECT * FROM incidents WHERE id = ?", (incident_id,)).fetchone()
        if row is None:
            known = [r.id for r in self.incidents()]
            raise NotFound(
                f"unknown incident {incident_id!r} (known: {', '.join(known[-5:]) or 'none'})"
            )
        return self._incident(row)

    def incidents(self, *, open_only: bool = False) -> list[IncidentRow]:
        query, args = "SELECT * FROM incidents", tuple(sorted(INCIDENT_IN_HAND))
        if open_only:
            query += f" WHERE state IN ({', '.join('?' * len(args))})"
        with self._errors():
            self._write_touched()
            rows = self.db.execute(
                query + " ORDER BY opened_at, id", args if open_only else ()
            ).fetchall()
        return [self._incident(row) for row in rows]

    @staticmethod
    def _incident(row: sqlite3.Row) -> IncidentRow:
        return IncidentRow(
            id=row["id"],
            playbook=row["playbook"],
            title=row["title"],
            state=row["state"],
            level=row["level"],
            exercise=bool(row["exercise"]),
            opened_at=unstamp(row["opened_at"]),
            updated_at=unstamp(row["updated_at"]),
            snapshot=json.loads(row["snapshot"]),
        )

    def events(self, incident_id: str, *, after: int = 0) -> list[StoredEvent]:
        with self._errors():
            rows = self.db.execute(
                "SELECT * FROM events WHERE incident = ? AND n > ? ORDER BY n",
                (incident_id, after),
            ).fetchall()
        return [self._stored(row) for row in rows]

    def _event(self, body: str) -> Event:
        try:
            return event_from_json(json.loads(body))
        except UnreadableEvent as exc:
            raise StoreError(f"database {self.path}: the event log holds {exc}") from exc

    def recent_events(self, incident_id: str, limit: int) -> list[StoredEvent]:
        """The last `limit` events that left notes, oldest first: what `status` shows."""
        with self._errors():
            rows = self.db.execute(
                "SELECT * FROM events WHERE incident = ? AND notes != '[]' ORDER BY n DESC LIMIT ?",
                (incident_id, limit),
            ).fetchall()
        return [self._stored(row) for row in reversed(rows)]

    def _stored(self, row: sqlite3.Row) -> StoredEvent:
        return StoredEvent(
            seq=row["seq"],
            incident=row["incident"],
            n=row["n"],
            at=unstamp(row["at"]),
            event=self._event(row["body"]),
            notes=tuple(json.loads(row["notes"])),
        )

    def events_except(self, incident_id: str, kind: str) -> list[StoredEvent]:
        """Every event but those of one kind that left no notes: `timeline` counts delivery
        reports, and shows the few that did something (a release to the next audience)."""
        with self._errors():
            rows = self.db.execute(
                "SELECT * FROM events WHERE incident = ? AND (kind != ? OR notes != '[]')"
                " ORDER BY n",
                (incident_id, kind),
            ).fetchall()
        return [self._stored(row) for row in rows]

    def delivery_counts(self, incident_id: str) -> list[tuple[str, str, str, int, str, str]]:
        """(audience or purpose, channel, state, count, first at, last at) of the outbox:
        one line per audience and outcome instead of one per receipt."""
        with self._errors():
            rows = self.db.execute(
                "SELECT COALESCE(json_extract(body, '$.audience'), json_extract(body,"
                " '$.purpose')) AS who, channel, state, COUNT(*), MIN(updated_at),"
                " MAX(updated_at) FROM outbox WHERE incident = ?"
                " GROUP BY who, channel, state ORDER BY MIN(event_seq), who, channel, state",
                (incident_id,),
            ).fetchall()
        return [(r[0] or "", r[1], r[2], int(r[3]), r[4], r[5]) for r in rows]

    def outbox_counts(self, incident_id: str) -> dict[str, int]:
        """How many messages are in each outbox state, counted by the database."""
        with self._errors():
            rows = self.db.execute(
                "SELECT state, COUNT(*) FROM outbox WHERE incident = ? GROUP BY state",
                (incident_id,),
            ).fetchall()
        return {row[0]: int(row[1]) for row in rows}

    def checkpoint(self, incident_id: str) -> tuple[int, str, bytes] | None:
        """The latest folded state saved for an incident: (event n, format, bytes)."""
        with self._errors():
            row = self.db.execute(
                "SELECT n, format, state FROM checkpoints WHERE incident = ?", (incident_id,)
            ).fetchone()
        return (int(row[0]), str(row[1]), bytes(row[2])) if row else None

    def save_checkpoint(self, incident_id: str, n: int, form: str, state: bytes) -> None:
        """Call inside `transaction()`, with the events up to `n` already appended."""
        self.db.execute(
            "INSERT INTO checkpoints (incident, n, format, state) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (incident) DO UPDATE SET n = excluded.n, format = excluded.format,"
            " state = excluded.state",
            (incident_id, n, form, state),
        )

    def last_n(self, incident_id: str) -> int:
        row = self.db.execute(
            "SELECT COALESCE(MAX(n), 0) FROM events WHERE incident = ?", (incident_id,)
        ).fetchone()
        return int(row[0])

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
        """Append one event and its effects; call inside `transaction()`."""
        cursor = self.db.execute(
            "INSERT INTO events (incident, n, at, kind, body, notes) VALUES (?, ?, ?, ?, ?, ?)",
            (
                incident_id,
                n,
                stamp(at),
                event.kind,
                json.dumps(event.to_json(), ensure_ascii=False),
                json.dumps(list(notes), ensure_ascii=False),
            ),
        )
        seq = int(cursor.lastrowid or 0)
        for effect in effects:
            if isinstance(effect, SendMessage):
                self.db.execute(
                    "INSERT INTO outbox (id, incident, event_seq, key, channel, body, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
                    (
                        effect.message,
                        incident_id,
                        seq,
                        effect.key,
                        effect.channel,
                        json.dumps(effect.to_json(), ensure_ascii=False),
                        stamp(at),
                    ),
                )
            elif isinstance(effect, StartTimer):
                self.db.execute(
                    "INSERT INTO timers (incident, timer, token, due_at, purpose)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (incident, timer) DO UPDATE SET"
                    " token = excluded.token, due_at = excluded.due_at, purpose = excluded.purpose",
                    (
                        incident_id,
                        str(effect.timer),
                        effect.token,
                        stamp(effect.at),
                        effect.purpose,
                    ),
                )
            elif isinstance(effect, CancelTimer):
                self.db.execute(
                    "DELETE FROM timers WHERE incident = ? AND timer = ?",
                    (incident_id, str(effect.timer)),
                )
        self._touched[incident_id] = (state, level, stamp(at))
        if not self.db.in_transaction:  # a caller outside `transaction()`: write it now
            self._write_touched()

    def log_inbound(self, entry: InboundEntry) -> int:
        """Keep one request or reply, understood or not, in its own transaction: the audit
        trail includes the forged and the ignored, and it is written before anything acts."""
        with self.transaction():
            cursor = self.db.execute(
                "INSERT INTO inbound (at, channel, sender, body, incident, outcome, route,"
                " delivery_id, body_hash, verdict) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    stamp(entry.at),
                    entry.channel,
                    entry.sender,
                    entry.body[:INBOUND_BODY_KEPT],
                    entry.incident,
                    entry.outcome,
                    entry.route,
                    entry.delivery_id,
                    entry.body_hash,
                    entry.verdict,
                ),
            )
        return int(cursor.lastrowid or 0)

    def judge_inbound(
        self, entry_id: int, verdict: str, outcome: str, incident: str | None = None
    ) -> None:
        """The verdict on a logged request, once it is known; inside or outside a
        transaction (the caller's, when it must commit with the event it caused)."""
        with self._errors():
            self.db.execute(
                "UPDATE inbound SET verdict = ?, outcome = ?, incident = COALESCE(?, incident)"
                " WHERE id = ?",
                (verdict, outcome[:INBOUND_BODY_KEPT], incident, entry_id),
            )

    def delivered_before(self, route: str, delivery_id: str, before: int | None = None) -> bool:
        """Whether a delivery with this id was already taken (accepted or judged to have no
        effect) on this route, before log line `before`: senders retry, and a retry must not
        act twice."""
        with self._errors():
            row = self.db.execute(
                "SELECT 1 FROM inbound WHERE route = ? AND delivery_id = ? AND id < ?"
                " AND verdict IN ('accepted', 'no-effect') LIMIT 1",
                (route, delivery_id, before if before is not None else 2**62),
            ).fetchone()
        return row is not None

    def inbound(
        self, *, since: datetime | None = None, verdict: str | None = None, limit: int = 1000
    ) -> list[InboundEntry]:
        """The inbound log, oldest first (the newest `limit` entries)."""
        query, args = "SELECT * FROM inbound WHERE 1 = 1", list[str]()
        if since is not None:
            query, args = query + " AND at >= ?", [*args, stamp(since)]
        if verdict is not None:
            query, args = query + " AND verdict = ?", [*args, verdict]
        with self._errors():
            rows = self.db.execute(
                f"SELECT * FROM ({query} ORDER BY id DESC LIMIT ?) ORDER BY id", (*args, limit)
            ).fetchall()
        return [
            InboundEntry(
                at=unstamp(r["at"]),
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
                " VALUES (?, ?, ?, ?, ?)",
                (
                    link.id,
                    link.incident,
                    stamp(link.created_at),
                    stamp(link.expires_at),
                    link.created_by,
                ),
            )

    def view_link(self, link_id: str) -> ViewLink | None:
        with self._errors():
            row = self.db.execute("SELECT * FROM view_links WHERE id = ?", (link_id,)).fetchone()
        return _view_link(row) if row is not None else None

    def view_links(self, incident: str) -> list[ViewLink]:
        with self._errors():
            rows = self.db.execute(
                "SELECT * FROM view_links WHERE incident = ? ORDER BY created_at, id", (incident,)
            ).fetchall()
        return [_view_link(row) for row in rows]

    def revoke_view_links(
        self, now: datetime, *, link_id: str | None = None, incident: str | None = None
    ) -> int:
        """Revoke one link, or every link of an incident; returns how many were live."""
        column, value = ("id", link_id) if link_id is not None else ("incident", incident)
        with self.transaction():
            cursor = self.db.execute(
                f"UPDATE view_links SET revoked_at = ? WHERE {column} = ? AND revoked_at IS NULL",
                (stamp(now), value),
            )
        return cursor.rowcount

    # -- alert keys ------------------------------------------------------------------------

    def alert_incident(self, key: str) -> AlertBinding | None:
        """The latest incident an alert key opened, with its state: one open incident per
        key, and the cooldown counts from when the last one was closed."""
        with self._errors():
            self._write_touched()
            row = self.db.execute(
                "SELECT a.incident, a.fingerprints, a.resolved, i.state, i.updated_at"
                " FROM alert_keys a JOIN incidents i ON i.id = a.incident"
                " WHERE a.key = ? ORDER BY a.opened_at DESC, a.rowid DESC LIMIT 1",
                (key,),
            ).fetchone()
        if row is None:
            return None
        return AlertBinding(
            incident=row[0],
            fingerprints=frozenset(json.loads(row[1])),
            resolved=frozenset(json.loads(row[2])),
            state=row[3],
            updated_at=unstamp(row[4]),
        )

    def bind_alert(
        self, key: str, incident: str, source: str, at: datetime, fingerprint: str
    ) -> None:
        """Call inside `transaction()`, with the activation."""
        self.db.execute(
            "INSERT INTO alert_keys (key, incident, source, opened_at, fingerprints)"
            " VALUES (?, ?, ?, ?, ?)",
            (key, incident, source, stamp(at), json.dumps([fingerprint] if fingerprint else [])),
        )

    def mark_alert(self, key: str, incident: str, *, firing: str = "", resolved: str = "") -> None:
        """Remember a fingerprint seen firing or resolved; call inside `transaction()`."""
        found = self.alert_incident(key)
        if found is None:
            return
        firing_set = found.fingerprints | ({firing} if firing else set())
        resolved_set = found.resolved | ({resolved} if resolved else set())
        self.db.execute(
            "UPDATE alert_keys SET fingerprints = ?, resolved = ? WHERE key = ? AND incident = ?",
            (json.dumps(sorted(firing_set)), json.dumps(sorted(resolved_set)), key, incident),
        )

    def beat(self, worker: str, at: datetime) -> None:
        """A worker says it finished a pass: `/readyz` reads the freshest."""
        with self.transaction():
            self.db.execute(
                "INSERT INTO heartbeats (worker, at) VALUES (?, ?)"
                " ON CONFLICT (worker) DO UPDATE SET at = excluded.at",
                (worker, stamp(at)),
            )

    def last_heartbeat(self) -> tuple[str, datetime] | None:
        with self._errors():
            row = self.db.execute(
                "SELECT worker, at FROM heartbeats ORDER BY at DESC LIMIT 1"
            ).fetchone()
        return (row[0], unstamp(row[1])) if row else None

    def ping(self) -> None:
        """Raise `StoreError` unless the database answers a read."""
        with self._errors():
            self.db.execute("SELECT COUNT(*) FROM incidents").fetchone()

    def drop_timer(self, incident_id: str, timer: str, token: int) -> None:
        self.db.execute(
            "DELETE FROM timers WHERE incident = ? AND timer = ? AND token = ?",
            (incident_id, timer, token),
        )

    # -- timers and outbox -----------------------------------------------------------------

    def due_timers(self, now: datetime, limit: int = 100) -> list[DueTimer]:
        with self._errors():
            rows = self.db.execute(
                "SELECT * FROM timers WHERE due_at <= ? ORDER BY due_at, incident, timer LIMIT ?",
                (stamp(now), limit),
            ).fetchall()
        return [DueTimer(r["incident"], r["timer"], r["token"], unstamp(r["due_at"])) for r in rows]

    def next_timer(self) -> DueTimer | None:
        with self._errors():
            row = self.db.execute(
                "SELECT * FROM timers ORDER BY due_at, incident, timer LIMIT 1"
            ).fetchone()
        if row is None:
            return None
        return DueTimer(row["incident"], row["timer"], row["token"], unstamp(row["due_at"]))

    def next_send_at(self) -> datetime | None:
        """When the next postponed message (a retry, a reconciliation) becomes due."""
        with self._errors():
            row = self.db.execute(
                "SELECT MIN(not_before) FROM outbox WHERE state IN (?, ?)"
                " AND not_before IS NOT NULL",
                (OutboxPhase.QUEUED, OutboxPhase.UNKNOWN),
            ).fetchone()
        return unstamp(row[0]) if row and row[0] else None

    def claim(self, worker: str, now: datetime, limit: int = 100) -> list[OutboxRow]:
        """Mark up to `limit` queued messages `sending` for this worker, oldest first."""
        with self.transaction():
            rows = self.db.execute(
                "UPDATE outbox SET state = ?, claimed_by = ?, claimed_at = ?,"
                " attempts = attempts + 1, updated_at = ? WHERE id IN ("
                " SELECT id FROM outbox WHERE state = ?"
                " AND (not_before IS NULL OR not_before <= ?) ORDER BY event_seq, rowid LIMIT ?)"
                " RETURNING *",
                (
                    OutboxPhase.SENDING,
                    worker,
                    stamp(now),
                    stamp(now),
                    OutboxPhase.QUEUED,
                    stamp(now),
                    limit,
                ),
            ).fetchall()
        rows = sorted(rows, key=lambda r: (r["event_seq"], r["id"]))
        return [_outbox_row(r) for r in rows]

    def postpone(
        self,
        message_id: str,
        state: OutboxPhase,
        not_before: datetime,
        detail: str,
        now: datetime,
    ) -> None:
        """Back to `queued` (a retry) or to `unknown` (to be reconciled), not before a time.
        Call inside `transaction()`."""
        self.db.execute(
            "UPDATE outbox SET state = ?, not_before = ?, detail = ?, claimed_by = NULL,"
            " updated_at = ? WHERE id = ? AND state NOT IN ('delivered', 'undeliverable')",
            (state, stamp(not_before), detail, stamp(now), message_id),
        )

    def claim_unknown(self, worker: str, now: datetime, limit: int = 100) -> list[OutboxRow]:
        """Messages whose send had no clear answer and are due to be reconciled."""
        with self.transaction():
            rows = self.db.execute(
                "UPDATE outbox SET state = ?, claimed_by = ?, updated_at = ?"
                " WHERE id IN (SELECT id FROM outbox WHERE state = ?"
                " AND not_before <= ? ORDER BY event_seq, rowid LIMIT ?) RETURNING *",
                (
                    OutboxPhase.RECONCILING,
                    worker,
                    stamp(now),
                    OutboxPhase.UNKNOWN,
                    stamp(now),
                    limit,
                ),
            ).fetchall()
        return [_outbox_row(r) for r in sorted(rows, key=lambda r: (r["event_seq"], r["id"]))]

    def claimed_at(self, message_id: str) -> datetime | None:
        row = self.db.execute(
            "SELECT claimed_at FROM outbox WHERE id = ?", (message_id,)
        ).fetchone()
        return unstamp(row[0]) if row and row[0] else None

    def requeue_abandoned(self, older_than: datetime, owners: Sequence[str] = ()) -> int:
        """Messages a dead worker claimed but never settled (its lease ran out, or its
        process is known to be gone): their fate is unknown (the send may have happened),
        so they are reconciled before anything is sent again. A lease is the claim, or
        the owner's heartbeat since (a worker renews all it holds with one beat)."""
        gone = list(owners)
        marks = ", ".join("?" * len(gone)) or "NULL"
        with self.transaction():
            cursor = self.db.execute(
                "UPDATE outbox SET state = ?, not_before = claimed_at, claimed_by = NULL"
                f" WHERE state IN (?, ?) AND (claimed_by IN ({marks}) OR (claimed_at <= ?"
                " AND NOT EXISTS (SELECT 1 FROM heartbeats h"
                " WHERE h.worker = outbox.claimed_by AND h.at > ?)))",
                (
                    OutboxPhase.UNKNOWN,
                    OutboxPhase.SENDING,
                    OutboxPhase.RECONCILING,
                    *gone,
                    stamp(older_than),
                    stamp(older_than),
                ),
            )
        return cursor.rowcount

    def heartbeats(self) -> list[tuple[str, datetime]]:
        """Every worker that ever finished a pass here, freshest first."""
        with self._errors():
            rows = self.db.execute("SELECT worker, at FROM heartbeats ORDER BY at DESC").fetchall()
        return [(row[0], unstamp(row[1])) for row in rows]

    def holdings(self) -> dict[str, int]:
        """How many messages each worker holds in flight (claimed, not yet settled)."""
        with self._errors():
            rows = self.db.execute(
                "SELECT claimed_by, COUNT(*) FROM outbox WHERE state IN (?, ?)"
                " AND claimed_by IS NOT NULL GROUP BY claimed_by",
                (OutboxPhase.SENDING, OutboxPhase.RECONCILING),
            ).fetchall()
        return {row[0]: int(row[1]) for row in rows}

    def in_flight_owners(self) -> set[str]:
        """The workers holding messages in flight, by their ids (`host:pid`)."""
        with self._errors():
            rows = self.db.execute(
                "SELECT DISTINCT claimed_by FROM outbox WHERE state IN (?, ?)"
                " AND claimed_by IS NOT NULL",
                (OutboxPhase.SENDING, OutboxPhase.RECONCILING),
            ).fetchall()
        return {row[0] for row in rows}

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
        # forward only: a late `sent` (the send's own answer after a status callback) never
        # undoes `delivered`, and nothing reopens a final state
        self.db.execute(
            "UPDATE outbox SET state = CASE WHEN state IN ('delivered', 'failed', 'undeliverable')"
            " OR (state = 'sent' AND ? NOT IN ('delivered', 'failed', 'undeliverable'))"
            " THEN state ELSE ? END,"
            " provider_id = COALESCE(?, provider_id), detail = CASE WHEN ? = '' THEN detail"
            " ELSE ? END, not_before = ?, updated_at = ? WHERE id = ?",
            (
                state,
                state,
                provider_id,
                detail,
                detail,
                stamp(not_before) if not_before else None,
                stamp(now),
                message_id,
            ),
        )

    def outbox(self, incident_id: str | None = None) -> list[OutboxRow]:
        query = "SELECT * FROM outbox"
        args: tuple[str, ...] = ()
        if incident_id is not None:
            query, args = query + " WHERE incident = ?", (incident_id,)
        with self._errors():
            rows = self.db.execute(query + " ORDER BY event_seq, rowid", args).fetchall()
        return [_outbox_row(r) for r in rows]


def _view_link(row: sqlite3.Row) -> ViewLink:
    return ViewLink(
        id=row["id"],
        incident=row["incident"],
        created_at=unstamp(row["created_at"]),
        expires_at=unstamp(row["expires_at"]),
        created_by=row["created_by"],
        revoked_at=unstamp(row["revoked_at"]) if row["revoked_at"] else None,
    )


def store_error(path: Path, exc: sqlite3.Error) -> StoreError:
    """Name the database and say what to do, for the failures an operator can meet."""
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return StoreError(f"database {path} is locked by another warroom process; try again")
    if "readonly" in text or "read-only" in text:
        return StoreError(f"database {path} is read-only; warroom needs to write to it")
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return StoreError(f"{path} is not a warroom database, or it is damaged ({exc})")
    if "unable to open" in text:
        return StoreError(f"cannot open database {path} ({exc})")
    return StoreError(f"database {path}: {exc}")


Store = SqliteStore
"""The name this class had before the `Store` protocol (`warroom.store.port`) existed."""
