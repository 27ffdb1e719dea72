"""The rule that keeps an in-place `decide` safe: a refused command changes nothing, and after
any other failure the runtime forgets its cached incident and folds the log again, so what it
holds in memory is always what the log says."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from warroom.engine import events as ev
from warroom.engine import steps
from warroom.engine.state import Incident, StepState
from warroom.errors import CommandRejected
from warroom.runtime.clock import VirtualClock
from warroom.runtime.runtime import Runtime
from warroom.runtime.snapshot import Snapshot
from warroom.store.sqlite import SqliteStore

LIBRARY = Path(__file__).parent.parent / "playbooks"
T0 = datetime.fromisoformat("2026-11-23T09:00:00+01:00")
FACTS = {"what_happened": "a leak of customer e-mail addresses"}


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[Runtime, str]]:
    store = SqliteStore.open(tmp_path / "warroom.db")
    runtime = Runtime(store, VirtualClock(T0))
    snapshot = Snapshot.capture(LIBRARY / "data-breach.yaml", LIBRARY / "roster.yaml")
    outcome = runtime.activate(snapshot, level="incident", facts=FACTS, by="test")
    yield runtime, outcome.incident
    store.close()


def acks(incident: Incident) -> dict[str, StepState]:
    return {k: v for k, v in incident.steps.items() if v.acked}


def test_a_failure_halfway_through_a_decision_leaves_nothing_in_memory(
    live: tuple[Runtime, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime, incident_id = live
    for person in ("anna-kowalska", "ewa-wisniewska", "piotr-zielinski"):
        runtime.submit(incident_id, ev.Acknowledged(person=person))
    before = runtime.store.last_n(incident_id)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug after the acknowledgement was half recorded")

    monkeypatch.setattr(steps, "finish", broken)
    with pytest.raises(RuntimeError):
        runtime.submit(incident_id, ev.Acknowledged(person="michal-lewandowski"))
    monkeypatch.undo()
    assert runtime.store.last_n(incident_id) == before
    held = runtime.incident(incident_id)
    assert "michal-lewandowski" not in held.steps["assemble"].acked
    assert held.roles["security_lead"].acked_at is None
    assert held.steps["assemble"].state == "paged"
    runtime.submit(incident_id, ev.Acknowledged(person="michal-lewandowski"))
    assert runtime.incident(incident_id).steps["assemble"].state == "done"


def test_a_refused_command_keeps_the_cached_incident_as_the_log_has_it(
    live: tuple[Runtime, str],
) -> None:
    runtime, incident_id = live
    runtime.submit(incident_id, ev.Acknowledged(person="anna-kowalska"))
    with pytest.raises(CommandRejected):
        runtime.submit(incident_id, ev.Acknowledged(person="anna-kowalska"))
    held = runtime.incident(incident_id)
    replayed = runtime.replay(incident_id)
    assert acks(held) == acks(replayed)
    assert held.sequence == replayed.sequence
