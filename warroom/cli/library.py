"""Library commands: `validate`, `list`, `show`."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape

from warroom.cli import (
    LibraryOption,
    RosterOption,
    app,
    err,
    error_boundary,
    open_library,
    out,
    parse_facts,
    parse_time,
)
from warroom.durations import format_duration
from warroom.errors import Severity, UsageError

if TYPE_CHECKING:
    from warroom.brief import Brief


@app.command()
@error_boundary
def validate(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders [default: the library].")
    ] = None,
    roster: RosterOption = None,
    strict: Annotated[bool, typer.Option(help="Fail on warnings too.")] = False,
    output: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
) -> None:
    """Check playbooks, the roster and exercises; report every problem with file:line:column."""
    from warroom.library import default_library, default_roster, load_library

    if output not in ("text", "json"):
        raise UsageError(f"--format {output!r} is not one of: text, json")
    targets = paths or [default_library()]
    roster_path = roster
    if roster_path is None:
        folders = [p for p in targets if p.is_dir()]
        guess = default_roster(folders[0]) if folders else None
        roster_path = guess if guess is not None and guess.exists() else None
    library = load_library(targets, roster_path)
    errors = len(library.errors)
    warnings = len(library.diagnostics) - errors
    failed = errors > 0 or (strict and warnings > 0)
    if output == "json":
        report = {
            "ok": not failed,
            "files": library.files,
            "errors": errors,
            "warnings": warnings,
            "diagnostics": [d.as_dict() for d in sorted(library.diagnostics)],
        }
        out.print_json(json.dumps(report))
    else:
        for diagnostic in sorted(library.diagnostics):
            style = "red" if diagnostic.severity is Severity.ERROR else "yellow"
            out.print(f"[{style}]{escape(str(diagnostic))}[/{style}]")
        counts = f"{len(library.files)} files: {errors} errors, {warnings} warnings"
        summary = f"{len(library.playbooks)} playbooks, {len(library.scenarios)} exercises" + (
            ", roster" if library.roster is not None else ", no roster"
        )
        verdict = "[red]invalid[/red]" if failed else "[green]ok[/green]"
        out.print(f"{verdict}: {summary} ({counts})")
    if failed:
        raise typer.Exit(1)


@app.command("list")
@error_boundary
def list_playbooks(library: LibraryOption = None, roster: RosterOption = None) -> None:
    """The playbooks in the library: id, title, levels, steps."""
    from rich.table import Table

    lib = open_library(library, roster)
    table = Table("id", "title", "levels", "steps", box=None, pad_edge=False)
    for playbook, _source in sorted(lib.playbooks.values(), key=lambda p: p[0].id):
        levels = " < ".join(level.id for level in playbook.levels)
        table.add_row(playbook.id, playbook.title, levels, str(len(playbook.steps)))
    out.print(table)
    if lib.errors:
        err.print(f"[yellow]{len(lib.errors)} errors in the library; run `warroom validate`[/]")


@app.command()
@error_boundary
def show(
    playbook: Annotated[str, typer.Argument(help="Playbook id, e.g. data-breach.")],
    at: Annotated[
        str | None, typer.Option(help="Instant to brief for, ISO 8601 with offset [default: now].")
    ] = None,
    level: Annotated[str | None, typer.Option(help="Level [default: the playbook's].")] = None,
    fact: Annotated[
        list[str] | None, typer.Option(help="NAME=VALUE, e.g. implicated=jan-nowak.")
    ] = None,
    diagram: Annotated[bool, typer.Option(help="Print a Mermaid flowchart instead.")] = False,
    library: LibraryOption = None,
    roster: RosterOption = None,
) -> None:
    """A one-screen brief: who would be assigned now, who hears what, steps and escalations."""
    from warroom.brief import make_brief, mermaid

    lib = open_library(library, roster)
    book = lib.playbook(playbook)
    if diagram:
        out.print(mermaid(book), markup=False, end="")
        return
    moment = parse_time(at, "--at") if at else datetime.now(UTC)
    brief = make_brief(book, lib.require_roster(), moment, level, parse_facts(fact or []))
    _print_brief(brief)


def _print_brief(brief: "Brief") -> None:
    from rich.table import Table

    from warroom.brief import describe_action, describe_rung

    book = brief.playbook
    local = brief.at.astimezone(ZoneInfo(book.timezone))
    out.print(f"[bold]{escape(book.title)}[/bold]  ({book.id} v{book.version})")
    out.print(f"at {local:%Y-%m-%d %H:%M %Z}, level [bold]{brief.level}[/bold]")
    if book.summary:
        out.print(escape(book.summary))
    levels = [f"[bold]{lv.id}[/bold]" if lv.id == brief.level else lv.id for lv in book.levels]
    out.print("levels: " + " < ".join(levels))

    roles = Table("role", "assigned", "why", "backups", title="Roles", title_justify="left")
    for role_id, assignment in brief.assignments.items():
        person = assignment.person
        roles.add_row(
            escape(book.roles[role_id].title),
            escape(person.name) if person else "[red]nobody[/red]",
            escape("; ".join(assignment.reasons)),
            escape(", ".join(p.name for p in assignment.backups) or "none"),
        )
    out.print(roles)

    audiences = Table("audience", "people", "channels", "language", title="Audiences")
    audiences.title_justify = "left"
    for reach in brief.audiences:
        channels = ", ".join(f"{c} {n}" for c, n in reach.by_channel.items())
        if reach.unreachable:
            channels += f" [red]({reach.unreachable} unreachable)[/red]"
        name = escape(reach.title) + ("" if reach.applies else " [dim](higher level)[/dim]")
        audiences.add_row(name, str(reach.recipients), channels, reach.language)
    out.print(audiences)

    steps = Table("step", "does", "after", "SLA", "escalation", title="Steps")
    steps.title_justify = "left"
    for step in book.steps:
        title = escape(step.title)
        if not book.applies(step.from_level, brief.level):
            title += f" [dim](from {step.from_level})[/dim]"
        steps.add_row(
            title,
            escape(describe_action(book, step)),
            ", ".join(step.after) or "-",
            f"due {format_duration(step.due)}" if step.due else "-",
            "\n".join(describe_rung(r) for r in step.escalations) or "-",
        )
    out.print(steps)
