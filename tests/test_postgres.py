"""Several nodes on PostgreSQL: the local server (127.0.0.1:5432), a database per test.
Decisions on one incident take turns across nodes; moving from SQLite is verified by replay;
an older warroom refuses a newer database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from support.postgres import fresh_database
from support.serving import wait_for
from typer.testing import CliRunner

from warroom.channels import Receipt
from warroom.cli import app
from warroom.engine.effects import SendMessage
from warroom.engine.events import Acknowledged, NoteAdded
from warroom.errors import CommandRejected, StoreError
from warroom.runtime.clock import VirtualClock
from warroom.runtime.runtime import Runtime
from warroom.runtime.snapshot import Snapshot
from warroom.store import open_store
from warroom.store.postgres import SCHEMA_VERSION, PostgresStore

T0 = datetime.fromisoformat("2026-11-16T10:00:00+01:00")
runner = CliRunner()


@pytest.fixture
def url() -> Iterator[str]:
    with fresh_database() as made:
        yield made


def activate(location: str, mini: Path) -> str:
    store = open_store(location)
    try:
        snapshot = Snapshot.capture(mini / "outage.yaml", mini / "roster.yaml")
        facts = {"company": "Acme", "service": "the shop"}
        return Runtime(store, VirtualClock(T0)).activate(snapshot, facts=facts).incident
    finally:
        store.close()


def test_two_nodes_take_turns_on_one_incident(url: str, mini: Path) -> None:
    """Forty notes from two nodes at once: every one lands, in one order, none overwritten."""
    incident = activate(url, mini)
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def node(name: str) -> None:
        store = open_store(url)
        runtime = Runtime(store, VirtualClock(T0 + timedelta(minutes=1)))
        try:
            start.wait()
            for n in range(20):
                runtime.submit(incident, NoteAdded(text=f"{name} {n}", by=name))
        except BaseException as exc:  # a node's failure must fail the test
            failures.append(exc)
        finally:
            store.close()

    nodes = [threading.Thread(target=node, args=(name,)) for name in ("a", "b")]
    for thread in nodes:
        thread.start()
    for thread in nodes:
        thread.join()
    assert failures == []
    store = open_store(url)
    try:
        events = store.events(incident)
    finally:
        store.close()
    assert [e.n for e in events] == list(range(1, 42))
    notes = [e.event.text for e in events if isinstance(e.event, NoteAdded)]
    assert sorted(notes) == sorted([f"a {n}" for n in range(20)] + [f"b {n}" for n in range(20)])


def test_one_acknowledgement_from_two_nodes_at_once_counts_once(url: str, mini: Path) -> None:
    incident = activate(url, mini)
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def node() -> None:
        store = open_store(url)
        try:
            runtime = Runtime(store, VirtualClock(T0 + timedelta(minutes=1)))
            start.wait()
            runtime.submit(incident, Acknowledged(person="anna", by="sms:+48601234567"))
            outcomes.append("recorded")
        except CommandRejected as exc:
            outcomes.append(f"refused: {exc}")
        finally:
            store.close()

    nodes = [threading.Thread(target=node) for _ in range(2)]
    for thread in nodes:
        thread.start()
    for thread in nodes:
        thread.join()
    assert sorted(outcomes)[0] == "recorded"
    assert sorted(outcomes)[1].startswith("refused: ")
    store = open_store(url)
    try:
        acks = [e for e in store.events(incident) if isinstance(e.event, Acknowledged)]
    finally:
        store.close()
    assert len(acks) == 1


def test_an_older_warroom_refuses_a_newer_database(url: str) -> None:
    open_store(url).close()
    store = open_store(url)
    assert isinstance(store, PostgresStore)
    store.db.execute("UPDATE warroom_schema SET version = %s", (SCHEMA_VERSION + 1,))
    store.close()
    with pytest.raises(StoreError) as refused:
        open_store(url)
    assert str(refused.value) == (
        f"database {url} has schema version {SCHEMA_VERSION + 1}, written by a newer warroom; "
        f"this one knows up to version {SCHEMA_VERSION}: upgrade warroom on this node"
    )


def test_a_sqlite_store_moves_to_postgresql_verified(url: str, mini: Path, tmp_path: Path) -> None:
    db = tmp_path / "warroom.db"
    incident = activate(str(db), mini)
    env = {"WARROOM_CLOCK": (T0 + timedelta(minutes=1)).isoformat()}
    assert runner.invoke(app, ["ack", "--as", "anna", "--db", str(db)], env=env).exit_code == 0
    copied = runner.invoke(app, ["db", "copy", "--from", f"sqlite://{db}", "--to", url])
    assert copied.exit_code == 0, copied.stderr
    assert "copied 1 incidents, 2 events, 5 outbox, 3 timers" in copied.stdout
    assert "verified: 1 incidents replay to the same state" in copied.stdout
    status = runner.invoke(app, ["status", "--db", url], env=env)
    assert incident in status.stdout
    # the PostgreSQL side goes on where SQLite stopped: the next event is number 3
    assert runner.invoke(app, ["note", "moved", "--db", url], env=env).exit_code == 0
    store = open_store(url)
    try:
        assert [e.n for e in store.events(incident)] == [1, 2, 3]
    finally:
        store.close()
    again = runner.invoke(app, ["db", "copy", "--from", str(db), "--to", url])
    assert again.exit_code == 3
    assert "already holds incidents; copy into an empty database" in again.stderr


@pytest.mark.parametrize(
    ("source", "target", "message"),
    [
        ("w.db", "sqlite:///x.db", "--to 'sqlite:///x.db' is not a PostgreSQL URL"),
        ("postgresql://x/y", "postgresql://x/z", "--from takes the SQLite database"),
    ],
)
def test_db_copy_refuses_the_wrong_way_round(source: str, target: str, message: str) -> None:
    result = runner.invoke(app, ["db", "copy", "--from", source, "--to", target])
    assert result.exit_code == 2
    assert message in result.stderr


def test_an_unreachable_server_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["status", "--db", "postgresql://nobody@127.0.0.1:1/none"])
    assert result.exit_code == 3
    assert result.stderr.startswith(
        "warroom: cannot connect to postgresql://nobody@127.0.0.1:1/none"
    )
    assert "Traceback" not in result.stderr


def test_nodes_lists_the_workers_and_what_each_holds(url: str, mini: Path) -> None:
    incident = activate(url, mini)
    store = open_store(url)
    try:
        now = T0 + timedelta(minutes=1)
        store.beat("node-a:101", now)
        store.beat("node-b:202", now - timedelta(minutes=10))
        claimed = store.claim("node-a:101", now, limit=2)
        assert len(claimed) == 2
        assert {row.incident for row in claimed} == {incident}
    finally:
        store.close()
    env = {"WARROOM_CLOCK": (T0 + timedelta(minutes=1, seconds=5)).isoformat(), "COLUMNS": "120"}
    shown = runner.invoke(app, ["nodes", "--db", url], env=env)
    assert shown.exit_code == 0, shown.stderr
    lines = {line.split()[1]: line for line in shown.stdout.splitlines() if "node-" in line}
    assert "live" in lines["node-a:101"]
    assert lines["node-a:101"].rstrip(" │").endswith("2")
    assert "gone" in lines["node-b:202"]


def test_a_due_timer_fires_once_whichever_nodes_are_up(url: str, mini: Path) -> None:
    """The node that armed the escalation is down; two others wake at the same instant:
    the rung is climbed once, by one of them."""
    incident = activate(url, mini)
    due = T0 + timedelta(minutes=11)  # the mini playbook's first rung is at 10 minutes
    start = threading.Barrier(2)
    fired: list[int] = []
    failures: list[BaseException] = []

    def node() -> None:
        store = open_store(url)
        try:
            runtime = Runtime(store, VirtualClock(due))
            start.wait()
            fired.append(runtime.fire_due_timers())
        except BaseException as exc:  # a node's failure must fail the test
            failures.append(exc)
        finally:
            store.close()

    nodes = [threading.Thread(target=node) for _ in range(2)]
    for thread in nodes:
        thread.start()
    for thread in nodes:
        thread.join()
    assert failures == []
    store = open_store(url)
    try:
        notes = [n for e in store.events(incident) for n in e.notes]
        pages = Counter(row.message.person for row in store.outbox(incident))
    finally:
        store.close()
    moved = [n for n in notes if "did not acknowledge; moves to" in n]
    assert len(moved) == 3  # each of the three silent roles moved on once, not twice
    assert sum(fired) >= 1
    # activation and one rung: Anna and Bartek paged twice each on two channels, no more
    assert pages == {"anna": 4, "bartek": 4, "ewa": 2, "dawid": 1}


def test_an_idle_node_sends_at_once_what_another_node_queues(url: str, mini: Path) -> None:
    """A worker polling once a minute, idle: an activation on another connection wakes it
    (LISTEN/NOTIFY), and every page goes out long before the minute is up; a SIGTERM wakes
    it too."""
    psycopg = pytest.importorskip("psycopg")
    transcript = mini.parent / "sent.jsonl"
    open_store(url).close()  # the schema, before the worker looks
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    env.update(WARROOM_DB=url, WARROOM_CLOCK=T0.isoformat(), PYTHONIOENCODING="utf-8")
    log = mini.parent / "worker.log"
    with log.open("w") as into:
        worker = subprocess.Popen(
            [sys.executable, "-m", "warroom.cli", "run", "--poll", "60",
             "--transcript", str(transcript)],
            env=env,
            stdout=into,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:

        def listening() -> bool:
            with psycopg.connect(url, autocommit=True) as admin:
                found = admin.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE datname = current_database()"
                    " AND query LIKE 'LISTEN %%'"
                ).fetchone()
            return found is not None

        # the listener starts once the first pass is over: the worker is idle from here
        wait_for(listening, "the worker to go idle and listen", 60)
        incident = activate(url, mini)
        store = open_store(url)
        try:
            queued = {row.key for row in store.outbox(incident)}
        finally:
            store.close()
        assert queued

        def sent() -> set[str]:
            if not transcript.exists():
                return set()
            lines = transcript.read_text(encoding="utf-8").splitlines()
            return {json.loads(line)["key"] for line in lines if line.strip()}

        # well inside the minute the worker would otherwise sleep
        wait_for(lambda: sent() == queued, "every page sent by the idle worker", 30)
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, log.read_text()


class SlowLine:
    """A channel whose first send hangs until the test lets it go: a provider that takes
    longer to answer than a lease lasts. Every send is counted, per address."""

    def __init__(self, name: str, sent: Counter[str], hold: threading.Event) -> None:
        self.name = name
        self.sent = sent
        self.hold = hold
        self.hanging = threading.Event()

    def send(self, message: SendMessage) -> Receipt:
        self.sent[f"{self.name}:{message.address}"] += 1
        if not self.hanging.is_set():
            self.hanging.set()
            self.hold.wait(60)
        return Receipt("sent", provider_id=f"slow-{message.message}")

    def close(self) -> None:
        """Nothing held."""


def test_a_send_slower_than_the_lease_is_not_taken_over_while_its_node_lives(
    url: str, mini: Path
) -> None:
    """Node A's provider takes longer than the lease to answer. A renews its leases while it
    waits, so node B, sweeping after the lease, takes over nothing and sends nothing twice."""
    incident = activate(url, mini)
    clock = VirtualClock(T0)
    sent: Counter[str] = Counter()
    release = threading.Event()
    lines = {name: SlowLine(name, sent, release) for name in ("sms", "email")}
    a_store, b_store = open_store(url), open_store(url)
    a = Runtime(a_store, clock, lines, worker="node-a:1", concurrency=4)
    b = Runtime(b_store, clock, lines, worker="node-b:2", concurrency=4)
    failures: list[BaseException] = []

    def work_a() -> None:
        try:
            a.dispatch()
        except BaseException as exc:  # node A's failure must fail the test
            failures.append(exc)

    node_a = threading.Thread(target=work_a)
    try:
        node_a.start()
        wait_for(lambda: any(line.hanging.is_set() for line in lines.values()), "a slow send")
        later = clock.advance(a.lease + timedelta(minutes=1))
        wait_for(
            lambda: dict(b_store.heartbeats()).get("node-a:1") == later,
            "node A to renew its leases",
        )
        assert b.sweep() == 0
        assert b.dispatch() == 0
    finally:
        release.set()
        node_a.join()
        a.close()
        b.close()
        a_store.close()
    assert failures == []
    try:
        states = Counter(row.state for row in b_store.outbox(incident))
    finally:
        b_store.close()
    assert set(sent.values()) == {1}  # nobody's page went twice
    assert states == {"sent": sum(sent.values())}
