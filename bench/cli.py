"""How fast the command line starts, and whether `status` and `timeline` stay fast on a big
incident.

Each command runs `--runs` times (5 by default) as its own process, as a person types it;
the median wall time is printed beside `python -c pass` (the interpreter alone) and the bare
imports of what the commands are built on (typer, rich, pydantic, yaml, jinja2; each alone,
then together): what is floor and what is warroom's own. Goals:
`warroom --help` and `warroom status` under 200 ms, `warroom validate playbooks/` under
350 ms. Then `status` and `timeline` on an incident with a 10,000-message release against
one with 10 messages (goal: at most 2x). Figures are printed, never asserted:

    .venv/bin/python bench/cli.py [--runs N] [--messages N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sms import numbers, write_library

ROOT = Path(__file__).resolve().parent.parent
WARROOM = str(Path(sys.executable).with_name("warroom"))
HELP_FLOOR = "import typer, rich.console"
FLOOR = "import typer, rich.console, rich.table, pydantic, yaml, jinja2"
"""What every command is built on: typer (which builds its parameters with pydantic when a
command runs), rich for the output, pydantic and yaml to read playbooks, jinja2 for texts."""


def timed(command: list[str], runs: int, env: dict[str, str]) -> float:
    """Median wall seconds of `runs` runs; the command must succeed."""
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, check=False)
        seconds.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed: {done.stderr.decode()[-500:]}")
    return statistics.median(seconds)


def incident(folder: Path, count: int) -> Path:
    """A database holding one incident with a release to `count` phones, all delivered."""
    from warroom.channels.testing import RecordingChannel
    from warroom.runtime.clock import VirtualClock
    from warroom.runtime.runtime import Runtime
    from warroom.runtime.snapshot import Snapshot
    from warroom.store.sqlite import SqliteStore

    folder.mkdir()
    playbook, roster = write_library(folder, numbers(count))
    store = SqliteStore.open(folder / "warroom.db")
    runtime = Runtime(
        store,
        VirtualClock(datetime(2026, 3, 2, 8, tzinfo=UTC)),
        {"sms": RecordingChannel("sms"), "email": RecordingChannel("email")},
    )
    try:
        runtime.activate(Snapshot.capture(playbook, roster), by="bench")
        runtime.work()
    finally:
        runtime.close()
        store.close()
    return folder / "warroom.db"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--messages", type=int, default=10_000)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        small = incident(Path(tmp) / "small", 10)
        big = incident(Path(tmp) / "big", args.messages)
        rows = [
            ("python -c pass", [py, "-c", "pass"], None),
            ("bare import typer", [py, "-c", "import typer"], None),
            ("bare import rich.console", [py, "-c", "import rich.console"], None),
            ("bare import pydantic", [py, "-c", "import pydantic"], None),
            ("bare import yaml", [py, "-c", "import yaml"], None),
            ("bare import jinja2", [py, "-c", "import jinja2"], None),
            ("bare typer, rich (floor of --help)", [py, "-c", HELP_FLOOR], None),
            ("bare + pydantic, yaml, jinja2 (of the rest)", [py, "-c", FLOOR], None),
            ("import warroom.cli", [py, "-c", "import warroom.cli"], None),
            ("warroom --help", [WARROOM, "--help"], 0.200),
            ("warroom status (10 messages)", [WARROOM, "status", "--db", str(small)], 0.200),
            ("warroom validate playbooks/", [WARROOM, "validate", "playbooks/"], 0.350),
        ]
        print(f"cold start, median of {args.runs} runs (x: against `python -c pass`)")
        base = 0.0
        for name, command, goal in rows:
            seconds = timed(command, args.runs, env)
            base = base or seconds
            verdict = "" if goal is None else f"   goal < {goal * 1000:.0f} ms"
            print(f"  {name:<44} {seconds * 1000:>6.0f} ms {seconds / base:>5.1f}x{verdict}")
        print(f"a {args.messages:,}-message incident against a 10-message one (goal ≤ 2x)")
        for command in ("status", "timeline"):
            little = timed([WARROOM, command, "--db", str(small)], args.runs, env)
            large = timed([WARROOM, command, "--db", str(big)], args.runs, env)
            print(
                f"  warroom {command:<9} {little * 1000:>6.0f} ms  {large * 1000:>6.0f} ms"
                f"   {large / little:.2f}x"
            )


if __name__ == "__main__":
    main()
