"""`warroom exercise run` and `warroom exercise replay`: tabletop exercises and their reports."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from warroom.cli import (
    DbOption,
    LibraryOption,
    RosterOption,
    app,
    error_boundary,
    open_library,
    opened_runtime,
    out,
    stop_on_signals,
)
from warroom.engine.events import Closed, Resolved
from warroom.errors import InvalidInput, NotFound, UsageError
from warroom.exercise.report import Report, score
from warroom.exercise.runner import Exercise
from warroom.exercise.schema import ScenarioSpec
from warroom.library import default_library, default_roster
from warroom.runtime.clock import AcceleratedClock, VirtualClock
from warroom.runtime.runtime import Runtime
from warroom.runtime.snapshot import Snapshot
from warroom.specs import validate_source
from warroom.store.sqlite import SqliteStore
from warroom.yamlsource import parse_yaml

exercise_app = typer.Typer(help="Tabletop exercises: run a scenario, score it, replay it.")
app.add_typer(exercise_app, name="exercise")

OutOption = Annotated[
    Path, typer.Option("--out", help="Folder for the reports (and a simulated run's database).")
]
FormatOption = Annotated[str, typer.Option("--format", help="md, html, json or all.")]
FORMATS = ("md", "html", "json")


@exercise_app.command("run")
@error_boundary
def exercise_run(
    scenario: Annotated[str, typer.Argument(help="Exercise id, e.g. breach-drill-q4.")],
    out_dir: OutOption = Path("exercise-reports"),
    output: FormatOption = "all",
    live: Annotated[bool, typer.Option(help="Facilitated: real people, real channels.")] = False,
    participants: Annotated[
        str | None, typer.Option(help="With --live: person ids who may receive messages.")
    ] = None,
    speed: Annotated[
        float, typer.Option(help="With --live: how much faster than real time.")
    ] = 1.0,
    quiet: Annotated[bool, typer.Option(help="Do not print the timeline as it unfolds.")] = False,
    library: LibraryOption = None,
    roster: RosterOption = None,
    db: DbOption = None,
) -> None:
    """Run an exercise on a virtual clock (or live with --live) and write its report."""
    formats = _formats(output)
    if not (math.isfinite(speed) and speed > 0):
        raise UsageError(
            f"--speed {speed} must be a number above 0 (e.g. 60: an hour of the scenario a minute)"
        )
    if speed != 1.0 and not live:
        raise UsageError("--speed only applies with --live")
    lib = open_library(library, roster)
    if scenario not in lib.scenarios:
        broken = [d for d in lib.errors if Path(d.file).stem == scenario]
        if broken:
            raise InvalidInput(broken)
        known = ", ".join(sorted(lib.scenarios)) or "none"
        raise NotFound(f"unknown exercise {scenario!r} (the library has: {known})")
    spec, source = lib.scenarios[scenario]
    problems = [d for d in lib.errors if d.file == source.file]
    if problems:
        raise InvalidInput(problems)
    folder = library or default_library()
    snapshot = replace(
        Snapshot.capture(
            Path(lib.playbooks[spec.playbook][1].file), roster or default_roster(folder)
        ),
        scenario_file=source.file,
        scenario_text=Path(source.file).read_text(encoding="utf-8"),
    )
    people = lib.require_roster().people
    named = tuple(p.strip() for p in (participants or "").split(",") if p.strip())
    for person in named:
        if person not in people:
            raise UsageError(f"--participants: {person!r} is not a person in the roster")
    progress = None if quiet else (lambda line: out.print(escape(line)))
    if live:
        if not named:
            raise UsageError(
                "--live needs --participants (who may receive messages), e.g. anna-kowalska"
            )
        out_dir.mkdir(parents=True, exist_ok=True)
        report = _run_live(spec, snapshot, named, speed, db, progress)
    else:
        if named:
            raise UsageError("--participants only applies with --live")
        out_dir.mkdir(parents=True, exist_ok=True)
        report = _run_simulated(spec, snapshot, out_dir / f"{spec.exercise}.db", progress)
    _write(report, out_dir, formats)


def _run_simulated(
    spec: ScenarioSpec, snapshot: Snapshot, path: Path, progress: Callable[[str], None] | None
) -> Report:
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)  # a simulated run starts from nothing, so it repeats
    store = SqliteStore.open(path, durable=False)  # rebuilt from the scenario on every run
    try:
        clock = VirtualClock(spec.start)
        outages: dict[str, list[tuple[datetime, datetime]]] = {}
        runtime = Runtime(
            store, clock, Exercise.simulated_channels(outages, clock.now), concurrency=1
        )
        exercise = Exercise(spec, snapshot, runtime, outages=outages, on_progress=progress)
        result = exercise.run()
        return score(
            spec, runtime.replay(result.incident), store.events(result.incident), result.ended
        )
    finally:
        store.close()


def _run_live(
    spec: ScenarioSpec,
    snapshot: Snapshot,
    participants: tuple[str, ...],
    speed: float,
    db: str | None,
    progress: Callable[[str], None] | None,
) -> Report:
    from warroom.channels.config import load_settings
    from warroom.channels.registry import build_channels

    stop = stop_on_signals()
    channels = build_channels(load_settings(), out.file)
    with opened_runtime(db, channels) as runtime:
        clock = AcceleratedClock(runtime.clock.now(), speed)
        live_runtime = Runtime(runtime.store, clock, channels)
        live_spec = spec.model_copy(update={"start": clock.start})
        exercise = Exercise(
            live_spec, snapshot, live_runtime, participants=participants, on_progress=progress
        )
        result = exercise.run_live(lambda seconds: stop.wait(seconds))
        # the drill is over: closed, so that on-call commands no longer find it open
        by = f"exercise:{spec.exercise}"
        live_runtime.submit(result.incident, Resolved(summary="the exercise ended", by=by))
        live_runtime.submit(result.incident, Closed(by=by))
        return score(
            live_spec,
            live_runtime.replay(result.incident),
            live_runtime.store.events(result.incident),
            result.ended,
        )


@exercise_app.command("replay")
@error_boundary
def exercise_replay(
    incident: Annotated[str, typer.Argument(help="The exercise incident's id.")],
    out_dir: OutOption = Path("exercise-reports"),
    output: FormatOption = "all",
    db: DbOption = None,
) -> None:
    """Score a finished exercise again from its event log (a facilitated one, or any run)."""
    formats = _formats(output)
    with opened_runtime(db) as runtime:
        row = runtime.store.incident(incident)
        snapshot = Snapshot.from_json(row.snapshot)
        if not row.exercise or not snapshot.scenario_text:
            raise UsageError(f"incident {incident} is not an exercise; there is nothing to score")
        spec = validate_source(
            ScenarioSpec, parse_yaml(snapshot.scenario_text, snapshot.scenario_file)
        )
        events = runtime.store.events(incident)
        state = runtime.replay(incident)
        if spec.start != state.started_at and state.started_at is not None:
            spec = spec.model_copy(update={"start": state.started_at})
        report = score(spec, state, events, events[-1].at)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write(report, out_dir, formats)


def _formats(output: str) -> tuple[str, ...]:
    if output == "all":
        return FORMATS
    if output not in FORMATS:
        raise UsageError(f"--format {output!r} is not one of: md, html, json, all")
    return (output,)


def _write(report: Report, folder: Path, formats: tuple[str, ...]) -> None:
    writers = {"md": report.to_markdown, "html": report.to_html, "json": report.to_json}
    written = []
    for kind in formats:
        path = folder / f"{report.exercise}.{kind}"
        path.write_text(writers[kind](), encoding="utf-8")
        written.append(path)
    out.print(f"\n[bold]{escape(report.summary)}[/bold]")
    for objective in report.objectives:
        out.print(
            f"  {objective.status:>13}  {escape(objective.title)}: {escape(objective.measured)}"
        )
    for path in written:
        out.print(f"report: {path}")
