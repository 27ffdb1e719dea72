"""A readiness study of the breach drill as a 1-day scenario: runs per second, serial and parallel.

1,000 runs (the drill's injects kept, its `readiness:` model, seed 7, instants drawn over 90
days), first in this process (`--workers 1`), then across `--workers` processes; the two
reports must be identical, and the speed-up is the ratio of the wall times. The baseline for
a single run is the same run on a SQLite file, as `warroom exercise run` plays it, against
the in-memory store a readiness run uses. Figures are printed, never asserted.

    .venv/bin/python bench/readiness.py [--runs 1000] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from warroom.exercise.readiness import Setup, run_one, simulate, summarise
from warroom.exercise.readiness_report import to_json
from warroom.exercise.runner import Exercise
from warroom.exercise.schema import ScenarioSpec
from warroom.runtime.clock import VirtualClock
from warroom.runtime.runtime import Runtime
from warroom.runtime.snapshot import Snapshot
from warroom.specs import validate_source
from warroom.store.sqlite import SqliteStore
from warroom.yamlsource import load_yaml

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "playbooks"


def study(seed: int) -> Setup:
    spec = validate_source(ScenarioSpec, load_yaml(LIBRARY / "exercises" / "breach-drill-q4.yaml"))
    spec = spec.model_copy(update={"end": timedelta(days=1)})
    snapshot = Snapshot.capture(LIBRARY / "data-breach.yaml", LIBRARY / "roster.yaml")
    return Setup(spec, snapshot, seed, spec.start, timedelta(days=90))


def on_sqlite(setup: Setup, repeat: int) -> float:
    """The scripted drill on a SQLite file, as `exercise run` plays it: seconds per run."""
    spec = setup.scenario
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeat):
            store = SqliteStore.open(Path(tmp) / f"{i}.db", durable=False)
            try:
                clock = VirtualClock(spec.start)
                outages: dict[str, list[tuple[datetime, datetime]]] = {}
                channels = Exercise.simulated_channels(outages, clock.now)
                runtime = Runtime(store, clock, channels, concurrency=1)
                Exercise(spec, setup.snapshot, runtime, outages=outages).run()
            finally:
                store.close()
    return (time.perf_counter() - began) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    setup = study(args.seed)
    people = {p.id: p.name for p in setup.compiled()[1].people.values()}

    sqlite_run = on_sqlite(setup, 20)
    began = time.perf_counter()
    for i in range(20):
        run_one(setup, i)
    memory_run = (time.perf_counter() - began) / 20

    began = time.perf_counter()
    serial = to_json(summarise(setup, simulate(setup, args.runs, 1), people))
    serial_wall = time.perf_counter() - began
    began = time.perf_counter()
    parallel = to_json(summarise(setup, simulate(setup, args.runs, args.workers), people))
    parallel_wall = time.perf_counter() - began

    print(f"readiness: breach drill as a 1-day scenario, {args.runs:,} runs, seed {args.seed}")
    print(f"  one run, SQLite file (exercise run)   {sqlite_run * 1000:6.1f} ms")
    print(
        f"  one run, in-memory store (readiness)  {memory_run * 1000:6.1f} ms"
        f"  ({sqlite_run / memory_run:.1f}x faster)"
    )
    print(f"  serial, 1 process      {serial_wall:6.1f} s  {args.runs / serial_wall:7.1f} runs/s")
    print(
        f"  parallel, {args.workers} processes  {parallel_wall:6.1f} s  "
        f"{args.runs / parallel_wall:7.1f} runs/s  speed-up {serial_wall / parallel_wall:.2f}x"
    )
    print(f"  reports identical: {'yes' if serial == parallel else 'NO'}")


if __name__ == "__main__":
    main()
