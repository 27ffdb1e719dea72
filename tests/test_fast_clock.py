"""A pass of the worker ends on a clock that races ahead of it: a live exercise at 100,000x
on a busy machine, where a repeating page falls due again before the last one is fired."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path

from warroom.exercise.runner import Exercise
from warroom.runtime.clock import VirtualClock
from warroom.runtime.runtime import Runtime
from warroom.runtime.snapshot import Snapshot
from warroom.store.sqlite import SqliteStore

T0 = datetime.fromisoformat("2026-11-16T10:00:00+01:00")


class RacingClock(VirtualClock):
    """Ten minutes pass each time anyone looks: slower than the outage's repeating page."""

    def now(self) -> datetime:
        return self.advance(timedelta(minutes=10))


def test_a_pass_ends_although_the_clock_outruns_a_repeating_page(
    mini: Path, tmp_path: Path
) -> None:
    fired: list[datetime] = []
    began: list[datetime] = []
    passed = threading.Event()

    def one_pass() -> None:  # in a thread of its own, which may never come back
        store = SqliteStore.open(tmp_path / "w.db", durable=False)
        clock = RacingClock(T0)
        runtime = Runtime(store, clock, Exercise.simulated_channels({}, clock.now), concurrency=1)
        snapshot = Snapshot.capture(mini / "outage.yaml", mini / "roster.yaml")
        incident = runtime.activate(snapshot, facts={"company": "Acme", "service": "the shop"})
        began.append(clock.now())
        runtime.work()
        fired.extend(e.at for e in store.events(incident.incident) if e.event.kind == "timer-fired")
        store.close()
        passed.set()

    threading.Thread(target=one_pass, daemon=True).start()
    assert passed.wait(timeout=120), "the pass chased the clock and never ended"
    assert fired  # it did climb the ladder: what was due when the pass began
    assert max(fired) <= began[0] + timedelta(hours=1)
