"""One `Store` contract, three stores: SQLite (the embedded default), PostgreSQL (several
nodes) and memory (readiness simulations). The same tests on each, not three copies.

A readiness run trusts the memory store, and a second node trusts PostgreSQL, to behave as
SQLite does, so that the runtime code path is the one that runs live; a whole exercise must
score byte for byte the same on any of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.postgres import fresh_database

from warroom.engine.effects import CancelTimer, SendMessage, StartTimer, Timer, TimerKind
from warroom.engine.events import NoteAdded
from warroom.engine.lifecycles import OutboxPhase
from warroom.errors import NotFound
from warroom.exercise.report import score
from warroom.exercise.runner import Exercise
from warroom.exercise.schema import ScenarioSpec
from warroom.runtime.clock import VirtualClock
from warroom.runtime.runtime import Runtime
from warroom.runtime.snapshot import Snapshot
from warroom.specs import validate_source
from warroom.store import Store, open_store
from warroom.store.memory import MemoryStore
from warroom.store.sqlite import SqliteStore
from warroom.yamlsource import load_yaml

LIBRARY = Path(__file__).parent.parent / "playbooks"
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
INCIDENT = "outage-20261123-0900"


@pytest.fixture(params=["sqlite", "memory", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "postgres":
        with fresh_database() as url:
            made: Store = open_store(url)
            try:
                yield made
            finally:
                made.close()
        return
    made = SqliteStore.open(tmp_path / "warroom.db") if request.param == "sqlite" else MemoryStore()
    try:
        yield made
    finally:
        made.close()


def message(n: int, key: str | None = None) -> SendMessage:
    return SendMessage(
        message=f"{INCIDENT}-m{n}",
        key=key or f"{INCIDENT}/k{n}",
        purpose="statement",
        step="release-holding",
        channel="email",
        address="desk@acme.example",
        recipient="Front desk",
        person=None,
        text=f"copy {n}",
    )


def opened(store: Store) -> None:
    with store.transaction():
        store.create_incident(INCIDENT, "outage", "Service outage", "minor", False, {}, T0)


def note(store: Store, n: int, effects: list[SendMessage | StartTimer | CancelTimer]) -> None:
    event = NoteAdded(text=f"note {n}", by="anna")
    store.append(INCIDENT, n, event, T0, [f"n{n}"], effects, state="active", level="minor")


def test_one_message_per_idempotency_key(store: Store) -> None:
    opened(store)
    with store.transaction():
        note(store, 1, [message(1, "same")])
        note(store, 2, [message(2, "same")])
    assert [r.id for r in store.outbox(INCIDENT)] == [f"{INCIDENT}-m1"]
    assert [e.n for e in store.events(INCIDENT)] == [1, 2]
    assert [e.n for e in store.events(INCIDENT, after=1)] == [2]
    assert store.last_n(INCIDENT) == 2
    assert store.incident(INCIDENT).state == "active"


def test_a_failed_transaction_leaves_nothing_behind(store: Store) -> None:
    opened(store)

    def failing() -> None:
        with store.transaction():
            note(store, 1, [message(1)])
            raise RuntimeError("decided, but the commit failed")

    with pytest.raises(RuntimeError):
        failing()
    assert store.events(INCIDENT) == []
    assert store.outbox(INCIDENT) == []
    assert store.incident(INCIDENT).state == "new"
    with store.transaction():  # and the same key can be written afterwards
        note(store, 1, [message(1)])
    assert len(store.outbox(INCIDENT)) == 1


def test_unknown_incident_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound, match="unknown incident 'nope'"):
        store.incident("nope")
    assert not store.incident_exists("nope")


def test_timers_fire_in_order_and_a_stale_token_is_kept(store: Store) -> None:
    opened(store)
    late = Timer(TimerKind.DUE, "b")
    early = Timer(TimerKind.DUE, "a")
    with store.transaction():
        note(
            store,
            1,
            [
                StartTimer(late, 1, T0 + timedelta(minutes=20), "due"),
                StartTimer(early, 1, T0 + timedelta(minutes=10), "due"),
            ],
        )
    first = store.next_timer()
    assert first is not None
    assert first.timer == str(early)
    due = store.due_timers(T0 + timedelta(hours=1))
    assert [t.timer for t in due] == [str(early), str(late)]
    with store.transaction():
        store.drop_timer(INCIDENT, str(early), 2)  # a stale token drops nothing
        store.drop_timer(INCIDENT, str(late), 1)
        note(store, 2, [CancelTimer(early)])
    assert store.next_timer() is None


def test_claims_go_oldest_first_and_settling_only_moves_forward(store: Store) -> None:
    opened(store)
    with store.transaction():
        note(store, 1, [message(1), message(2)])
    assert store.next_send_at() is None
    claimed = store.claim("w", T0, limit=1)
    assert [r.id for r in claimed] == [f"{INCIDENT}-m1"]
    assert claimed[0].attempts == 1
    assert store.claimed_at(claimed[0].id) == T0
    later = T0 + timedelta(seconds=30)
    with store.transaction():
        store.postpone(claimed[0].id, OutboxPhase.QUEUED, later, "retry", T0)
    assert store.next_send_at() == later
    assert [r.id for r in store.claim("w", T0)] == [f"{INCIDENT}-m2"]
    assert [r.id for r in store.claim("w", later)] == [f"{INCIDENT}-m1"]
    with store.transaction():
        store.settle(f"{INCIDENT}-m1", "delivered", later)
        store.settle(f"{INCIDENT}-m1", "sent", later)  # late: never undoes delivered
        store.postpone(f"{INCIDENT}-m1", OutboxPhase.QUEUED, later, "no", later)
    states = {r.id: r.state for r in store.outbox(INCIDENT)}
    assert states == {f"{INCIDENT}-m1": "delivered", f"{INCIDENT}-m2": "sending"}
    assert store.requeue_abandoned(T0) == 1
    assert [r.id for r in store.claim_unknown("w", T0)] == [f"{INCIDENT}-m2"]


def test_a_whole_exercise_scores_the_same_on_every_store(tmp_path: Path) -> None:
    drill = LIBRARY / "exercises" / "breach-drill-q4.yaml"
    spec = validate_source(ScenarioSpec, load_yaml(drill))
    # as `warroom exercise` captures it: the drill's contact list is read next to the drill
    snapshot = replace(
        Snapshot.capture(LIBRARY / "data-breach.yaml", LIBRARY / "roster.yaml"),
        scenario_file=str(drill),
        scenario_text=drill.read_text(encoding="utf-8"),
    )

    def report(store: Store) -> str:
        clock = VirtualClock(spec.start)
        outages: dict[str, list[tuple[datetime, datetime]]] = {}
        channels = Exercise.simulated_channels(outages, clock.now)
        runtime = Runtime(store, clock, channels, concurrency=1)
        result = Exercise(spec, snapshot, runtime, outages=outages).run()
        events = store.events(result.incident)
        return score(spec, runtime.replay(result.incident), events, result.ended).to_json()

    on_disk = SqliteStore.open(tmp_path / "x.db", durable=False)
    try:
        expected = report(on_disk)
    finally:
        on_disk.close()
    assert report(MemoryStore()) == expected
    with fresh_database() as url:
        shared = open_store(url)
        try:
            assert report(shared) == expected
        finally:
            shared.close()
