"""`warroom exercise run` and `warroom exercise replay`: tabletop exercises and their reports."""

import math
import os
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape

from warroom.cli import (
    DbOption,
    LibraryOption,
    RosterOption,
    app,
    err,
    error_boundary,
    open_library,
    opened_runtime,
    out,
    stop_on_signals,
)
from warroom.durations import format_duration, parse_duration
from warroom.errors import InvalidInput, NotFound, UsageError

if TYPE_CHECKING:
    from warroom.exercise.readiness import Setup
    from warroom.exercise.report import Report
    from warroom.exercise.schema import ScenarioSpec
    from warroom.library import Library
    from warroom.runtime.snapshot import Snapshot

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
    spec, snapshot = _scenario(lib, scenario, library, roster)
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
    spec: "ScenarioSpec", snapshot: "Snapshot", path: Path, progress: Callable[[str], None] | None
) -> "Report":
    from warroom.exercise.report import score
    from warroom.exercise.runner import Exercise
    from warroom.runtime.clock import VirtualClock
    from warroom.runtime.runtime import Runtime
    from warroom.store.sqlite import SqliteStore

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
    spec: "ScenarioSpec",
    snapshot: "Snapshot",
    participants: tuple[str, ...],
    speed: float,
    db: str | None,
    progress: Callable[[str], None] | None,
) -> "Report":
    from warroom.channels.config import load_settings
    from warroom.channels.registry import build_channels
    from warroom.engine.events import Closed, Resolved
    from warroom.exercise.report import score
    from warroom.exercise.runner import Exercise
    from warroom.runtime.clock import AcceleratedClock
    from warroom.runtime.runtime import Runtime

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
    from warroom.exercise.report import score
    from warroom.exercise.schema import ScenarioSpec
    from warroom.runtime.snapshot import Snapshot
    from warroom.specs import validate_source
    from warroom.yamlsource import parse_yaml

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


def _write(report: "Report", folder: Path, formats: tuple[str, ...]) -> None:
    writers = {"md": report.to_markdown, "html": report.to_html, "json": report.to_json}
    written = []
    for kind in formats:
        path = folder / f"{report.exercise}.{kind}"
        path.write_text(writers[kind](), encoding="utf-8")
        written.append(path)
    out.print(f"\n[bold]{escape(report.summary)}[/bold]")
    for objective in report.objectives:
        out.print(
            f"  {objective.rating}  {objective.status:>13}  {escape(objective.title)}: "
            f"{escape(objective.measured)}"
        )
    if report.areas_for_improvement:
        out.print("Top areas for improvement:")
    for number, area in enumerate(report.areas_for_improvement[:3], 1):
        out.print(f"  {number}. {escape(area['title'])}: {escape(area['root cause'])}")
        out.print(f"     action: {escape(area['corrective action'])}")
    for path in written:
        out.print(f"report: {path}")


@exercise_app.command("readiness")
@error_boundary
def exercise_readiness(
    scenario: Annotated[str, typer.Argument(help="Exercise id, e.g. breach-drill-q4.")],
    runs: Annotated[
        int, typer.Option(help="How many simulated activations (1 to 100,000).")
    ] = 1000,
    seed: Annotated[
        int | None, typer.Option(help="Seed of the draws [default: the scenario's seed].")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Processes to run in [default: the number of CPUs].")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option("--from", help="Start of the period, e.g. 2027-01-01 [default: `start`]."),
    ] = None,
    period: Annotated[
        str, typer.Option(help="Length of the period the instants are drawn from.")
    ] = "90d",
    out_dir: OutOption = Path("exercise-reports"),
    only: Annotated[
        int | None, typer.Option(help="Replay this one run (its index) and print its timeline.")
    ] = None,
    library: LibraryOption = None,
    roster: RosterOption = None,
) -> None:
    """Play the scenario many times at random instants, with people who may not answer, and
    report how likely each target is met and who the single points of failure are."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from warroom.exercise.readiness import MAX_RUNS, Setup, simulate, summarise
    from warroom.exercise.readiness_report import header, to_html, to_json, to_markdown

    if not 1 <= runs <= MAX_RUNS:
        raise UsageError(f"--runs {runs} is outside 1..{MAX_RUNS:,}")
    if workers is not None and workers < 1:
        raise UsageError(f"--workers {workers}: give 1 or more processes")
    try:
        length = parse_duration(period)
    except ValueError as exc:
        raise UsageError(f"--period: {exc}") from None
    spec, snapshot = _scenario(open_library(library, roster), scenario, library, roster)
    playbook, compiled_roster = snapshot.compile()
    begin = _period_start(start, playbook.timezone) if start else spec.start
    setup = Setup(spec, snapshot, spec.seed if seed is None else seed, begin, length)
    if only is not None:
        if not 0 <= only < runs:
            raise UsageError(f"--only {only} is not a run of 0..{runs - 1}")
        _replay_one(setup, only)
        return
    count = workers or os.cpu_count() or 1
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        auto_refresh=False,  # no refresh thread: the worker processes are forked from here
    ) as progress:
        task = progress.add_task(f"{spec.exercise}: {runs:,} runs", total=runs)

        def advance(n: int) -> None:
            progress.advance(task, n)
            progress.refresh()

        records = simulate(setup, runs, count, advance)
    people = {p.id: p.name for p in compiled_roster.people.values()}
    summary = summarise(setup, records, people)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, render in (("md", to_markdown), ("html", to_html), ("json", to_json)):
        path = out_dir / f"readiness-{spec.exercise}.{kind}"
        path.write_text(render(summary), encoding="utf-8")
        written.append(path)
    out.print(f"[bold]{escape(header(summary))}[/bold]")
    for objective in summary["objectives"]:
        out.print(
            f"  {objective['probability']:>7.1%}  {escape(objective['title'])} "
            f"(95%: {objective['low']:.1%}-{objective['high']:.1%})"
        )
    for action in summary["actions"]:
        out.print(f"  - {escape(action)}")
    for path in written:
        out.print(f"report: {path}")


def _scenario(
    lib: "Library", scenario: str, library: Path | None, roster: Path | None
) -> "tuple[ScenarioSpec, Snapshot]":
    """The scenario and the snapshot its playbook runs on, refused if either has errors."""
    from warroom.library import default_library, default_roster
    from warroom.runtime.snapshot import Snapshot

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
    return spec, snapshot


def _period_start(text: str, timezone: str) -> datetime:
    """`--from 2027-01-01` is midnight in the playbook's time zone; an offset is kept."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--from {text!r} is not a date or time (expected e.g. 2027-01-01 or "
            "2027-01-01T09:00:00+01:00)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment


def _replay_one(setup: "Setup", index: int) -> None:
    """One run alone, exactly as it ran among the others: its draws, then its timeline."""
    from warroom.exercise.readiness import draw_run, replay

    draw = draw_run(setup.scenario, setup.seed, index, setup.begin, setup.period)
    out.print(f"[bold]run {index} of seed {setup.seed}: activated {draw.start.isoformat()}[/bold]")
    if draw.outages:
        out.print(
            "  outages: " + ", ".join(f"{c} for {format_duration(d)}" for c, d in draw.outages)
        )
    record, timeline = replay(setup, index)
    for line in timeline:
        out.print(escape(line))
    silent = ", ".join(f"{p} ({r or 'no role'})" for p, r in record["silent"].items()) or "nobody"
    out.print(f"\n  did not answer: {escape(silent)}")
    for objective, met in record["objectives"].items():
        out.print(f"  {'met' if met else 'not met':>8}  {escape(objective)}")
    for step, outcome in record["slas"].items():
        out.print(f"  {outcome:>8}  SLA {escape(step)}")
