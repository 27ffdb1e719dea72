"""A 3-day tabletop exercise on the virtual clock: wall time and simulated-to-real ratio.

The scenario runs the shipped `data-breach` playbook for three days of exercise time: the
crisis team with one silent member, a level raised to crisis, media inquiries, a fact changed,
an SMS outage, and the two-hourly updates approved and released to 32 staff and 9 journalists
every time (about 36 cycles). The baseline, in the same process, is replaying the finished
incident's log: the engine's share of the run, against the store, the worker and the
simulated people around it. Figures are printed, never asserted.

    .venv/bin/python bench/exercise.py [--days 3] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from warroom.exercise.runner import Exercise
from warroom.exercise.schema import ScenarioSpec
from warroom.runtime.clock import VirtualClock
from warroom.runtime.runtime import Runtime
from warroom.runtime.snapshot import Snapshot
from warroom.specs import validate_source
from warroom.store.sqlite import SqliteStore
from warroom.yamlsource import parse_yaml

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "playbooks"

SCENARIO = """
exercise: three-day-breach
title: Three days of a customer data breach
playbook: data-breach
level: incident
start: 2026-11-23T09:00:00+01:00
end: {days}d
facts: {{company: Acme Polska, what_happened: unauthorised access to customer e-mail addresses}}
responders:
  anna-kowalska: {{ack_after: 4m, approve_after: 12m}}
  ewa-wisniewska: {{ack_after: 6m}}
  piotr-zielinski: {{silent: true}}
  joanna-szymanska: {{ack_after: 5m, approve_after: 15m}}
  michal-lewandowski: {{ack_after: 3m}}
  krzysztof-mazur: {{ack_after: 9m}}
injects:
  - {{at: 15m, media_inquiry: {{outlet: Rzeczpospolita, question: "Is customer data affected?"}}}}
  - {{at: 40m, raise_level: crisis}}
  - {{at: 50m, channel_outage: sms, for: 20m}}
  - {{at: 6h, fact: {{data_categories: names and e-mail addresses}}}}
  - {{at: 1d, media_inquiry: {{outlet: TVN24, question: "How many customers?"}}}}
  - {{at: 2d, note: Forensics report received}}
  - {{at: {days}d, note: End of the exercise}}
objectives:
  - {{id: holding-fast, step: release-holding, done_within: 45m}}
  - {{id: staff-first, before: [employees, media]}}
  - {{id: regulator-in-time, step: notify-regulator, done_within: 72h}}
"""


def run_once(days: int) -> tuple[float, float, int, datetime, datetime]:
    spec = validate_source(ScenarioSpec, parse_yaml(SCENARIO.format(days=days), "bench"))
    snapshot = Snapshot.capture(LIBRARY / "data-breach.yaml", LIBRARY / "roster.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore.open(Path(tmp) / "bench.db", durable=False)  # as `exercise run` does
        try:
            clock = VirtualClock(spec.start)
            outages: dict[str, list[tuple[datetime, datetime]]] = {}
            channels = Exercise.simulated_channels(outages, clock.now)
            runtime = Runtime(store, clock, channels, concurrency=1)
            exercise = Exercise(spec, snapshot, runtime, outages=outages)
            began = time.perf_counter()
            result = exercise.run()
            wall = time.perf_counter() - began
            events = len(store.events(result.incident))
            began = time.perf_counter()
            Runtime(store, VirtualClock(spec.start)).replay(result.incident)
            replay = time.perf_counter() - began
        finally:
            store.close()
    return wall, replay, events, result.started, result.ended


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runs = [run_once(args.days) for _ in range(args.repeat)]
    wall = statistics.median(r[0] for r in runs)
    replay = statistics.median(r[1] for r in runs)
    events, started, ended = runs[0][2], runs[0][3], runs[0][4]
    simulated = (ended - started).total_seconds()
    print(f"{args.days}-day exercise, median of {args.repeat} runs")
    print(f"  simulated time      {timedelta(seconds=simulated)}  ({events:,} events in the log)")
    print(f"  wall time           {wall:.2f} s  ({wall / events * 1e6:,.0f} us per event)")
    print(f"  simulated / real    {simulated / wall:,.0f}x")
    print(
        f"  baseline: replaying the same log  {replay:.2f} s  (run / replay {wall / replay:.1f}x)"
    )


if __name__ == "__main__":
    main()
