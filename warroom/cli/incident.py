"""On-call commands: activate and steer an incident, see its status and timeline, run the worker.

Each command is one event submitted to the runtime; a command the engine refuses writes
nothing. With one incident open, commands default to it.
"""

import dataclasses
import json
import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape

from warroom.cli import (
    DbOption,
    LibraryOption,
    RosterOption,
    actor,
    app,
    err,
    error_boundary,
    login,
    open_library,
    opened_runtime,
    out,
    parse_facts,
    stop_on_signals,
)
from warroom.durations import format_duration
from warroom.errors import StoreError, UsageError

if TYPE_CHECKING:
    from warroom.channels.config import ChannelSettings
    from warroom.engine import events as ev
    from warroom.engine.effects import SendMessage
    from warroom.engine.state import Incident
    from warroom.roster.model import Person, Roster
    from warroom.runtime.links import ActionLinks
    from warroom.runtime.runtime import Runtime

IncidentOption = Annotated[
    str | None,
    typer.Option("--incident", "-i", help="Incident id [default: the one open incident]."),
]
AsOption = Annotated[
    str | None, typer.Option("--as", help="Who is acting (a person id from the roster).")
]
ChannelsOption = Annotated[
    Path | None,
    typer.Option(
        "--channels",
        envvar="WARROOM_CHANNELS",
        help="Channel settings file (twilio: / smtp:); the environment overrides it.",
        show_default=False,
    ),
]


def _submit(db: str | None, incident: str | None, event: "ev.Event") -> None:
    event = dataclasses.replace(event, login=login())  # who pressed the key, on the record
    with opened_runtime(db) as runtime:
        incident_id = incident or runtime.open_incident()
        outcome = runtime.submit(incident_id, event)
        zone = runtime.incident(incident_id).playbook.timezone
        stamp = runtime.clock.now().astimezone(ZoneInfo(zone))
    for note in outcome.notes:
        out.print(f"{stamp:%H:%M}  {escape(note)}")
    if outcome.effects:
        out.print(f"[dim]{outcome.effects} effects queued; `warroom run` sends them[/dim]")


def _require(value: str | None, option: str, command: str) -> str:
    if not value:
        raise UsageError(f"`warroom {command}` needs {option} PERSON (who is acting)")
    return value


@app.command()
@error_boundary
def activate(
    playbook: Annotated[str, typer.Argument(help="Playbook id, e.g. data-breach.")],
    level: Annotated[str | None, typer.Option(help="Level [default: the playbook's].")] = None,
    fact: Annotated[list[str] | None, typer.Option(help="NAME=VALUE, repeatable.")] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show who would be paged and every text; write nothing."),
    ] = False,
    who: AsOption = None,
    library: LibraryOption = None,
    roster: RosterOption = None,
    db: DbOption = None,
) -> None:
    """Start an incident from a playbook: assign roles, page the first steps."""
    from warroom.engine.effects import SendMessage
    from warroom.library import default_library, default_roster
    from warroom.runtime.snapshot import Snapshot

    lib = open_library(library, roster)
    book = lib.playbook(playbook)
    roster_path = roster or default_roster(library or default_library())
    snapshot = Snapshot.capture(Path(lib.playbooks[playbook][1].file), roster_path)
    facts = parse_facts(fact or [])
    chosen = level or book.default_level
    if dry_run:
        with opened_runtime(db) as runtime:
            incident, decision = runtime.preview(snapshot, chosen, facts, actor(who))
        _print_dry_run(
            incident, decision.notes, [e for e in decision.effects if isinstance(e, SendMessage)]
        )
        return
    with opened_runtime(db) as runtime:
        outcome = runtime.activate(
            snapshot, level=chosen, facts=facts, by=actor(who), login=login()
        )
    out.print(f"[bold]{outcome.incident}[/bold] activated")
    for note in outcome.notes:
        out.print(f"  {escape(note)}")
    out.print("[dim]pages are queued; `warroom run` sends them[/dim]")


def _print_dry_run(incident: "Incident", notes: list[str], messages: "list[SendMessage]") -> None:
    out.print("[bold]Dry run: nothing is written or sent.[/bold]")
    for note in notes:
        out.print(f"  {escape(note)}")
    out.print(f"\n[bold]{len(messages)} messages would go out now:[/bold]")
    for message in messages:
        out.print(f"--> {message.channel} to {escape(message.recipient)} <{message.address}>")
        out.print("    " + escape(message.text).replace("\n", "\n    "))
    from warroom.engine.render import draft_statement, marked, statement_audiences

    started = incident.started_at
    assert started is not None
    for statement_id, statement in incident.playbook.statements.items():
        if not statement_audiences(incident, statement_id):
            continue
        out.print(f"\n[bold]{escape(statement.title)}[/bold] as it would read now:")
        for (audience, language), text in draft_statement(
            incident, statement_id, 1, False, started
        ).items():
            subject, body, sms = (marked(t) for t in (text.subject, text.text, text.sms))
            out.print(f"  [{audience}, {language}] {escape(subject)}")
            out.print("    " + escape(body).replace("\n", "\n    "))
            if sms != body:
                out.print("    SMS: " + escape(sms))


@app.command()
@error_boundary
def ack(
    who: AsOption = None,
    step: Annotated[str | None, typer.Option(help="Which page, if several are open.")] = None,
    code: Annotated[str | None, typer.Option(help="The code from the page.")] = None,
    take_over: Annotated[
        str | None,
        typer.Option(
            "--take-over",
            help="Paged by an escalation rung: take this role over with your answer (recorded).",
        ),
    ] = None,
    incident: IncidentOption = None,
    db: DbOption = None,
) -> None:
    """Acknowledge a page: you have it, paging you stops."""
    from warroom.engine import events as ev

    person = _require(who, "--as", "ack")
    event = ev.Acknowledged(person=person, step=step, code=code, take_over=take_over, by=person)
    _submit(db, incident, event)


@app.command()
@error_boundary
def approve(
    statement: Annotated[str, typer.Argument(help="Statement id, e.g. holding.")],
    who: AsOption = None,
    reason: Annotated[
        str,
        typer.Option(help='Entered for someone else: why (e.g. "phoned in"); on the record.'),
    ] = "",
    incident: IncidentOption = None,
    db: DbOption = None,
) -> None:
    """Approve the current version of a statement."""
    from warroom.engine import events as ev

    person = _require(who, "--as", "approve")
    event = ev.Approved(statement=statement, person=person, reason=reason, by=person)
    _submit(db, incident, event)


@app.command()
@error_boundary
def reject(
    statement: Annotated[str, typer.Argument(help="Statement id.")],
    reason: Annotated[str, typer.Option(help="Why; it goes to the statement's owner.")] = "",
    who: AsOption = None,
    incident: IncidentOption = None,
    db: DbOption = None,
) -> None:
    """Reject the current version of a statement, with the reason."""
    from warroom.engine import events as ev

    person = _require(who, "--as", "reject")
    event = ev.Rejected(statement=statement, person=person, reason=reason, by=person)
    _submit(db, incident, event)


@app.command()
@error_boundary
def escalate(
    step: Annotated[str | None, typer.Option(help="Step to escalate [default: the first].")] = None,
    who: AsOption = None,
    incident: IncidentOption = None,
    db: DbOption = None,
) -> None:
    """Climb the escalation ladder now instead of waiting for it."""
    from warroom.engine import events as ev

    _submit(db, incident, ev.EscalationRequested(step=step, by=actor(who)))


@app.command("raise")
@error_boundary
def raise_level(
    level: Annotated[str, typer.Argument(help="The new, higher level.")],
    reason: Annotated[str, typer.Option(help="Why, for the timeline.")] = "",
    who: AsOption = None,
    incident: IncidentOption = None,
    db: DbOption = None,
) -> None:
    """Raise the level: the steps of the new level start."""
    from warroom.engine import events as ev

    _submit(db, incident, ev.LevelRaised(level=level, reason=reason, by=actor(who)))


@app.command("lower")
@error_boundary
def lower_level(
    level: Annotated[str, typer.Argument(help="The new, lower level.")],
    reason: Annotated[str, typer.Option(help="Why, for the timeline.")] = "",
    who: AsOption = None,
    incident: IncidentOption = None,
    db: DbOption = None,
) -> None:
    """Lower the level. Nothing already sent is withdrawn."""
    from warroom.engine import events as ev

    _submit(db, incident, ev.LevelLowered(level=level, reason=reason, by=actor(who)))


@app.command("confirm-level")
@error_boundary
def confirm_level(
    level: Annotated[
        str | None, typer.Argument(help="The proposed level [default: the one proposed].")
    ] = None,
    who: AsOption = None,
    reason: Annotated[
        str,
        typer.Option(help='Entered for someone else: why (e.g. "phoned in"); on the record.'),
    ] = "",
    incident: IncidentOption = None,
    db: DbOption = None,
) -> None:
    """Confirm a level an escalation rung proposed: then it speaks to outside audiences too.

    Only a holder of a role with `confirms_level: true` (the crisis lead) may; until then the
    new level's pages go out, and its statements to outside audiences wait."""
    from warroom.engine import events as ev

    person = _require(who, "--as", "confirm-level")
    event = ev.LevelConfirmed(person=person, level=level or "", reason=reason, by=person)
    _submit(db, incident, event)


@app.command()
@error_boundary
def assign(
    role: Annotated[str, typer.Argument(help="Role, e.g. spokesperson.")],
    person: Annotated[str, typer.Argument(help="Person id from the roster.")],
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Assign even so (an approver twice, a missing tag); needs --reason."
        ),
    ] = False,
    reason: Annotated[str, typer.Option(help="Why --force; on the record.")] = "",
    who: AsOption = None,
    incident: IncidentOption = None,
    db: DbOption = None,
) -> None:
    """Give a role to someone else; they are paged where the role is being paged."""
    from warroom.engine import events as ev

    event = ev.Reassigned(role=role, person=person, force=force, reason=reason, by=actor(who))
    _submit(db, incident, event)


@app.command()
@error_boundary
def fact(
    values: Annotated[list[str], typer.Argument(help="NAME=VALUE ... (changed together).")],
    who: AsOption = None,
    incident: IncidentOption = None,
    db: DbOption = None,
) -> None:
    """Change facts; statements not yet released are redrafted and re-approved."""
    from warroom.engine import events as ev

    _submit(db, incident, ev.FactUpdated(facts=parse_facts(values, "fact"), by=actor(who)))


@app.command()
@error_boundary
def note(
    text: Annotated[str, typer.Argument(help="What to record.")],
    who: AsOption = None,
    incident: IncidentOption = None,
    db: DbOption = None,
) -> None:
    """Add a note to the timeline."""
    from warroom.engine import events as ev

    _submit(db, incident, ev.NoteAdded(text=text, by=actor(who)))


@app.command()
@error_boundary
def correct(
    statement: Annotated[str, typer.Argument(help="Statement id.")],
    reason: Annotated[str, typer.Option(help="What was wrong.")] = "",
    who: AsOption = None,
    incident: IncidentOption = None,
    db: DbOption = None,
) -> None:
    """Issue a corrected version to everyone who received the statement."""
    from warroom.engine import events as ev

    if not reason:
        raise UsageError("`warroom correct` needs --reason (what was wrong)")
    _submit(db, incident, ev.CorrectionIssued(statement=statement, reason=reason, by=actor(who)))


@app.command("update-now")
@error_boundary
def update_now(
    to: Annotated[
        list[str] | None,
        typer.Option("--to", help="Audience id, repeatable [default: every audience updated]."),
    ] = None,
    who: AsOption = None,
    incident: IncidentOption = None,
    db: DbOption = None,
) -> None:
    """Send the recurring update now, even with nothing new to say."""
    from warroom.engine import events as ev

    event = ev.UpdateRequested(audiences=tuple(to or ()), by=actor(who))
    _submit(db, incident, event)


@app.command()
@error_boundary
def resolve(
    summary: Annotated[str, typer.Option(help="How it ended.")] = "",
    who: AsOption = None,
    incident: IncidentOption = None,
    db: DbOption = None,
) -> None:
    """Resolve the incident: paging and recurring updates stop."""
    from warroom.engine import events as ev

    _submit(db, incident, ev.Resolved(summary=summary, by=actor(who)))


@app.command()
@error_boundary
def close(
    who: AsOption = None,
    incident: IncidentOption = None,
    db: DbOption = None,
) -> None:
    """Close a resolved incident."""
    from warroom.engine import events as ev

    _submit(db, incident, ev.Closed(by=actor(who)))


@app.command()
@error_boundary
def cancel(
    reason: Annotated[str, typer.Option(help="Why (a false alarm, a drill, ...).")] = "",
    who: AsOption = None,
    incident: IncidentOption = None,
    db: DbOption = None,
) -> None:
    """Cancel an incident started by mistake."""
    from warroom.engine import events as ev

    _submit(db, incident, ev.Cancelled(reason=reason, by=actor(who)))


@app.command()
@error_boundary
def incidents(db: DbOption = None) -> None:
    """Incidents in the database, newest last."""
    from rich.table import Table

    with opened_runtime(db, reading=True) as runtime:
        rows = runtime.store.incidents()
    table = Table("id", "playbook", "state", "level", "opened", box=None, pad_edge=False)
    for row in rows:
        kind = " (exercise)" if row.exercise else ""
        table.add_row(
            row.id, row.playbook + kind, row.state, row.level, f"{row.opened_at:%Y-%m-%d %H:%M}Z"
        )
    out.print(table)


@app.command()
@error_boundary
def status(
    incident: Annotated[
        str | None, typer.Argument(help="Incident id [default: the open one].")
    ] = None,
    db: DbOption = None,
) -> None:
    """Level, who holds each role, each step with its SLA, pending approvals, last events."""
    with opened_runtime(db, reading=True) as runtime:
        incident_id = incident or runtime.open_incident()
        state = runtime.incident(incident_id)
        now = runtime.clock.now()
        counts = runtime.store.outbox_counts(incident_id)
        recent = runtime.store.recent_events(incident_id, 8)
    _print_status(state, now, counts, recent)


def _name(state: "Incident", person: str | None) -> str:
    found = state.roster.people.get(person or "")
    return found.name if found else "nobody"


def _covers(state: "Incident", role_id: str, person: "Person | None") -> str:
    """Which of the languages the role must speak its holder covers, and which nobody does."""
    from warroom.engine.assignment import role_filter

    needed = role_filter(state.playbook, role_id, state.facts).languages
    if not needed:
        return "-"
    spoken = set(person.languages) if person else set()
    shown = [lang if lang in spoken else f"[red]{lang} not covered[/red]" for lang in needed]
    return ", ".join(shown)


def _print_status(
    state: "Incident", now: datetime, counts: dict[str, int], recent: list[Any]
) -> None:
    from rich.table import Table

    from warroom.engine.approval import second_person_needed
    from warroom.engine.levels import confirming_roles, waits_for_confirmation
    from warroom.engine.lifecycles import awaits_acknowledgement, dormant, finished, ready
    from warroom.engine.lifecycles import waiting as step_waiting
    from warroom.engine.prerequisites import facts_wait
    from warroom.engine.release import contacts_wait
    from warroom.playbook.facts import to_fill_in

    book = state.playbook
    zone = ZoneInfo(book.timezone)
    started = state.started_at or now
    kind = " [yellow]EXERCISE[/yellow]" if state.exercise else ""
    level = f"level [bold]{state.level}[/bold]"
    if state.proposed_level:
        level = (
            f"level [bold]{state.confirmed_level}[/bold] "
            f"([bold red]{state.proposed_level} proposed, not confirmed[/bold red])"
        )
    out.print(
        f"[bold]{state.id}[/bold]{kind}  {escape(book.title)}  {level}"
        f"  {state.state}  started {started.astimezone(zone):%Y-%m-%d %H:%M %Z} "
        f"({format_duration(now - started)} ago)"
    )
    if state.proposed_level:
        holders = [(book.roles[r].title, state.holder(r)) for r in confirming_roles(book)]
        named = " or ".join(f"{t} ({escape(_name(state, p))})" for t, p in holders) or "nobody"
        first = next((p for _, p in holders if p), "PERSON")
        out.print(
            f"[bold red]Level proposed[/bold red]: {state.proposed_level}, raised by an "
            f"unanswered page. Its pages go out; statements to outside audiences wait until "
            f"{named} confirms: `warroom confirm-level --as {first}`"
        )
    roles = Table(
        "role", "person", "acknowledged", "languages", title="Roles", title_justify="left"
    )
    for role_id, role in state.roles.items():
        person = state.roster.people.get(role.person or "")
        acked = f"{role.acked_at.astimezone(zone):%H:%M}" if role.acked_at else "-"
        roles.add_row(
            book.roles[role_id].title,
            escape(person.name) if person else "[red]nobody[/red]",
            acked,
            _covers(state, role_id, person),
        )
    out.print(roles)
    steps = Table("step", "state", "SLA", title="Steps", title_justify="left")
    for step in book.steps:
        st = state.steps[step.id]
        if dormant(st):
            continue
        sla = "-"
        if step.due is not None:
            deadline = started + step.due
            if st.due_outcome:
                sla = st.due_outcome
            elif not finished(st):
                left = deadline - now
                sla = (
                    f"due in {format_duration(left)}"
                    if left.total_seconds() > 0
                    else "[red]overdue[/red]"
                )
        shown = st.state.replace("_", " ")
        if ready(st) and waits_for_confirmation(state, step):
            shown = "waits for the level to be confirmed"
        if step.on_resolve and step_waiting(st):
            shown = "said on resolve"
        if st.waits_for_facts:
            shown = escape(facts_wait(st.waits_for_facts))
        if st.waits_for_contacts:
            waited = book.audiences[st.waits_for_contacts]
            shown = escape(contacts_wait(waited.id, waited.title))
        steps.add_row(escape(step.title), shown, sla)
    out.print(steps)
    for step in book.steps:
        if not awaits_acknowledgement(state.steps[step.id]):
            continue
        paged = [r for a in step.page for r in book.audiences[a].roles]
        waiting = [
            f"{escape(book.roles[r].title)} ({escape(_name(state, state.holder(r)))})"
            for r in dict.fromkeys(paged)
            if state.roles[r].acked_at is None
        ]
        if waiting:
            out.print(
                f"[bold]Not done[/bold]: {escape(step.title)} waits for {', '.join(waiting)} "
                "to acknowledge (`warroom assign ROLE PERSON` puts someone else in)"
            )
    for statement_id, statement in state.statements.items():
        draft = statement.draft
        spec = book.statements[statement_id]
        if (
            draft is None
            or not draft.requested
            or draft.version in {r.version for r in statement.releases}
        ):
            continue
        waiting = [
            f"{r} ({escape(_name(state, state.holder(r)))})"
            for r in spec.approvers
            if r not in draft.approvals
        ]
        if waiting:
            what = f"{escape(spec.title)} v{draft.version}"
            out.print(f"[bold]Approval pending[/bold]: {what} waits for {', '.join(waiting)}")
    for statement_id, statement in state.statements.items():
        lacking = second_person_needed(state, statement_id)
        if lacking and not statement.releases:
            holder = escape(_name(state, state.holder(lacking[0])))
            out.print(
                f"[bold red]Four eyes[/bold red]: {escape(book.statements[statement_id].title)} "
                f"cannot be released until a second person is assigned ({holder} also holds "
                f"{', '.join(lacking)}; `warroom assign {lacking[0]} PERSON`)"
            )
    _print_promises_and_stale(state, now, zone)
    if counts:
        out.print("Messages: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    unseen = [
        f"{counts[s]} {s} ({why})"
        for s, why in (
            ("printed", "no channel configured: printed instead of sent"),
            ("withheld", "kept back by the exercise sandbox"),
        )
        if counts.get(s)
    ]
    if unseen:
        out.print(f"[bold red]Not received by anyone[/bold red]: {', '.join(unseen)}")
    missing = to_fill_in(state.facts)
    if missing:
        listed = ", ".join(f"{name} {value}" for name, value in missing.items())
        out.print(
            f"[bold red]Facts to fill in[/bold red] (`warroom fact NAME=...`): {escape(listed)}"
        )
    if state.inquiries:
        from warroom.cli.media import print_open_inquiries

        print_open_inquiries(state, now)
    out.print("[bold]Last events[/bold]")
    for stored in recent:
        for text in stored.notes:
            out.print(f"  {stored.at.astimezone(zone):%H:%M}  {escape(text)}")


def _print_promises_and_stale(state: "Incident", now: datetime, zone: ZoneInfo) -> None:
    """What we promised each audience and did not give, and what they hold that is no
    longer true: the two ways a released statement stops being one we stand by."""
    from warroom.engine.promised_updates import open_promises

    book = state.playbook
    for promise in open_promises(state.promises):
        title = escape(book.audiences[promise.audience].title)
        left = promise.due - now
        when = (
            f"in {format_duration(left)}"
            if left.total_seconds() > 0
            else f"[bold red]{format_duration(-left)} overdue[/bold red]"
        )
        out.print(
            f"[bold]Update promised[/bold]: {title} by "
            f"{promise.due.astimezone(zone):%H:%M} ({when})"
        )
    for missed in state.promises_missed:
        title = escape(book.audiences[missed.audience].title)
        late = (
            f"came at {missed.released_at.astimezone(zone):%H:%M} ({escape(missed.released)})"
            if missed.released_at
            else "none released yet"
        )
        out.print(
            f"[bold red]Promise missed[/bold red]: {title} were promised an update by "
            f"{missed.promised_by.astimezone(zone):%H:%M}; {late}"
        )
    for statement_id, statement in state.statements.items():
        if not statement.stale:
            continue
        spec = book.statements[statement_id]
        for audience, changes in statement.stale.items():
            changed = ", ".join(changes)
            out.print(
                f"[bold red]Stale[/bold red]: {escape(spec.title)} as released to "
                f"{escape(book.audiences[audience].title)} (changed since: {escape(changed)})"
            )


@app.command()
@error_boundary
def timeline(
    incident: Annotated[
        str | None, typer.Argument(help="Incident id [default: the open one].")
    ] = None,
    output: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    every: Annotated[
        bool,
        typer.Option("--all", help="Every delivery report, not one line per audience and outcome."),
    ] = False,
    db: DbOption = None,
) -> None:
    """The whole story of an incident, from its event log alone.

    Delivery reports are folded into one line per audience and channel with each outcome
    counted (a release to 10,000 people is one line, not 10,000); `--all` and `--format
    json` list every event."""
    from warroom.engine import events as ev
    from warroom.runtime.snapshot import Snapshot

    if output not in ("text", "json"):
        raise UsageError(f"--format {output!r} is not one of: text, json")
    folded: list[tuple[str, str, str, int, str, str]] = []
    with opened_runtime(db, reading=True) as runtime:
        incident_id = incident or runtime.open_incident()
        row = runtime.store.incident(incident_id)
        if every or output == "json":
            stored = runtime.store.events(incident_id)
        else:
            stored = runtime.store.events_except(incident_id, ev.DeliveryReported.kind)
            folded = runtime.store.delivery_counts(incident_id)
        book, roster = Snapshot.from_json(row.snapshot).compile()
        zone = ZoneInfo(book.timezone)
    if output == "json":
        entries = [
            {"n": s.n, "at": s.at.isoformat(), "event": ev.shown(s.event), "notes": list(s.notes)}
            for s in stored
        ]
        out.print_json(
            json.dumps({"incident": incident_id, "timeline": entries}, ensure_ascii=False)
        )
        return
    out.print(f"[bold]{incident_id}[/bold]  {escape(row.title)}")
    for s in stored:
        who = f" ({escape(s.event.by)}{_typed_by(s.event, roster)})" if s.event.by else ""
        out.print(
            f"[dim]#{s.n} {s.at.astimezone(zone):%Y-%m-%d %H:%M:%S} {s.event.kind}{who}[/dim]"
        )
        for text in s.notes:
            out.print(f"    {escape(text)}")
    if folded:
        _print_deliveries(folded, book.audiences, zone)


def _print_deliveries(
    folded: list[tuple[str, str, str, int, str, str]], audiences: Any, zone: ZoneInfo
) -> None:
    """`All staff (sms): 9,812 sent, 120 failed, 68 sending`, with when the last changed."""
    lines: dict[tuple[str, str], list[tuple[str, int, str]]] = {}
    for who, channel, state, count, _, last in folded:
        lines.setdefault((who, channel), []).append((state, count, last))
    out.print("[bold]Deliveries[/bold] (now; `--all` lists every report)")
    for (who, channel), states in lines.items():
        audience = audiences.get(who) if hasattr(audiences, "get") else None
        title = getattr(audience, "title", None) or who
        counted = ", ".join(f"{count:,} {state}" for state, count, _ in states)
        latest = datetime.fromisoformat(max(at for _, _, at in states)).astimezone(zone)
        out.print(f"    {escape(title)} ({channel}): {counted}  [dim]last {latest:%H:%M:%S}[/dim]")


def _typed_by(event: "ev.Event", roster: "Roster") -> str:
    """ ", entered by <login>" when a login other than the person's own typed the command."""
    person = roster.people.get(event.by)
    if not event.login or person is None or event.login in person.logins:
        return ""
    return f", entered by {escape(event.login)} on behalf of {escape(person.name)}"


@app.command()
@error_boundary
def run(
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="Exit when nothing is due, instead of waiting.")
    ] = False,
    transcript: Annotated[
        Path | None, typer.Option(help="Also write every message to this JSON-lines file.")
    ] = None,
    poll: Annotated[
        float,
        typer.Option(help="Most seconds between checks (on PostgreSQL other nodes wake it)."),
    ] = 1.0,
    settings_file: ChannelsOption = None,
    db: DbOption = None,
) -> None:
    """The worker: fires due timers and sends queued messages until SIGINT or SIGTERM."""
    from warroom.channels import Channel
    from warroom.channels.console import TranscriptChannel
    from warroom.channels.registry import build_channels, printing, printing_warning

    channels: dict[str, Channel]
    if transcript is not None:
        channels = {k: TranscriptChannel(k, transcript) for k in ("sms", "email")}
        warning = printing_warning(["sms", "email"], f"the transcript {transcript}")
    else:
        settings = channel_settings(settings_file)
        channels = build_channels(settings, out.file)
        warning = printing_warning(printing(settings))
    if warning:
        err.print(f"[bold red]warroom: {escape(warning)}[/bold red]")
    wake = threading.Event()
    stop = stop_on_signals(wake)
    with opened_runtime(db, channels) as runtime:
        runtime.links = _links(settings_file)
        recovered = runtime.recover()
        if recovered:
            err.print(f"requeued {recovered} messages a stopped worker left unsent")
        if not until_idle:
            err.print(
                f"worker {runtime.worker} running on {runtime.store.location}; Ctrl-C stops it"
            )
        # one pass at least, even when a stop arrives as it starts: what was queued before
        # the worker said it was running goes out before it stops
        done, failures, first = 1, 0, True
        while first or (not stop.is_set() and (done or not until_idle or failures)):
            if not done and not failures:
                wake.clear()
                if not stop.is_set():
                    runtime.idle(poll, wake)
            owed, first = first, False
            try:
                done = _work_once(runtime) if owed or not stop.is_set() else 0
                failures = 0
            except StoreError as exc:
                # the database went away (a restart, a failover): what was cut is not in the
                # log, so nothing half-done is left; wait, then carry on where it stands
                failures += 1
                if failures > MAX_STORE_FAILURES:
                    raise
                err.print(f"warroom: {escape(str(exc))}; retrying ({failures})")
                stop.wait(min(30.0, poll * 2**failures))
                done = 0
    for channel in channels.values():
        channel.close()


def channel_settings(settings_file: Path | None) -> "ChannelSettings":
    """The channel settings, with any deprecation said on stderr."""
    from warroom.channels.config import load_settings

    settings = load_settings(file=settings_file)
    for notice in settings.notices:
        err.print(f"warroom: {escape(notice)}")
    return settings


def _links(settings_file: Path | None) -> "ActionLinks | None":
    """E-mailed pages and approval requests carry signed links when the server's public URL
    and secret are set: the worker may run apart from `warroom serve`, with the same settings."""
    from warroom.runtime.links import ActionLinks
    from warroom.server.settings import load_server_settings

    server = load_server_settings(file=settings_file)
    if server.public_url and server.secret:
        return ActionLinks(server.public_url, server.secret)
    return None


def _work_once(runtime: "Runtime") -> int:
    """One pass: claims of dead workers swept, timers, then the outbox. A channel that
    cannot send is said loudly, once per new reason; the worker goes on with the rest."""
    done = runtime.sweep() + runtime.fire_due_timers() + runtime.dispatch()
    for channel, why in runtime.channel_trouble.items():
        if _shown_trouble.get(channel) != why:
            err.print(
                f"[bold red]warroom: the {channel} channel cannot send[/bold red]: "
                f"{escape(why)}; its messages wait and are retried, everything else goes on"
            )
    _shown_trouble.clear()
    _shown_trouble.update(runtime.channel_trouble)
    return done


_shown_trouble: dict[str, str] = {}
MAX_STORE_FAILURES = 10
"""Passes in a row the worker retries a database that does not answer before it gives up."""


inbound_app = typer.Typer(help="Replies arriving from people (the webhooks call the same code).")
channels_app = typer.Typer(help="Check and test the SMS and e-mail channels.")
app.add_typer(inbound_app, name="inbound")
app.add_typer(channels_app, name="channels")


@inbound_app.command("sms")
@error_boundary
def inbound_sms(
    sender: Annotated[str, typer.Option("--from", help="The sender's number, e.g. +48601234567.")],
    body: Annotated[str, typer.Option(help="The text, e.g. 'ACK 4821'.")],
    db: DbOption = None,
) -> None:
    """Act on an SMS reply as if it had come from Twilio: ACK, APPROVE or REJECT."""
    with opened_runtime(db) as runtime:
        outcome = runtime.receive_sms(sender, body)
    out.print(escape(outcome.summary))
    if not outcome.accepted:
        raise typer.Exit(2)


@channels_app.command("check")
@error_boundary
def channels_check(settings_file: ChannelsOption = None) -> None:
    """Validate the channel settings without sending anything."""
    from warroom.channels.registry import describe

    settings = channel_settings(settings_file)
    for kind, text in describe(settings).items():
        out.print(f"{kind:>5}: {escape(text)}")
    if settings.smtp is not None:
        from warroom.channels.smtp_email import SmtpEmail

        mail = SmtpEmail(settings.smtp)
        try:
            out.print(f"email: {escape(mail.check())}")
        except OSError as exc:
            raise UsageError(
                f"cannot reach SMTP_HOST={settings.smtp.host}:{settings.smtp.port} ({exc})"
            ) from None
        finally:
            mail.close()


@channels_app.command("test")
@error_boundary
def channels_test(
    to: Annotated[str, typer.Option("--to", help="Person id from the roster.")],
    settings_file: ChannelsOption = None,
    library: LibraryOption = None,
    roster: RosterOption = None,
) -> None:
    """Send a clearly marked test message to one person on each channel they have."""
    from warroom.channels.registry import build_channels
    from warroom.engine.effects import SendMessage

    person = open_library(library, roster).require_roster().person(to)
    channels = build_channels(channel_settings(settings_file), out.file)
    text = (
        f"[warroom] TEST message for {person.name}: the channel works. "
        "No action needed; this is not an incident."
    )
    contact = person.contact()
    failed: list[str] = []
    try:
        for kind in contact.channels():
            address = contact.phone if kind == "sms" else contact.email
            message = SendMessage(
                message=f"test-{kind}",
                key=f"test/{to}/{kind}",
                purpose="test",
                step="test",
                channel=kind,
                address=address or "",
                recipient=person.name,
                person=person.id,
                text=text,
                subject="[warroom] TEST message: no action needed",
            )
            receipt = channels[kind].send(message)
            detail = f" ({escape(receipt.detail)})" if receipt.detail else ""
            out.print(f"{kind:>5} to {address}: {receipt.status}{detail}")
            # printed: the channel is not configured, which the line above says, and which is
            # not the channel failing (`channels check` shows what to set)
            if receipt.status not in ("sent", "delivered", "printed"):
                failed.append(kind)
    finally:
        for channel in channels.values():
            channel.close()
    if failed:
        err.print(f"warroom: the test message failed on {', '.join(failed)}")
        raise typer.Exit(4)


contacts_app = typer.Typer(
    help="Contacts given during an incident, for audiences declared `contacts: at_release`."
)
app.add_typer(contacts_app, name="contacts")


@contacts_app.command("load")
@error_boundary
def contacts_load(
    audience: Annotated[str, typer.Argument(help="Audience id, e.g. customers-affected.")],
    file: Annotated[Path, typer.Argument(help="CSV: name,email,phone,language,outlet.")],
    who: AsOption = None,
    incident: IncidentOption = None,
    db: DbOption = None,
) -> None:
    """Set an audience's contacts for this incident only; a release waiting for them goes on."""
    from warroom.engine import events as ev
    from warroom.engine.contact_lists import contact_row
    from warroom.roster.load import read_contact_list

    contacts = read_contact_list(file)
    event = ev.ContactsLoaded(
        audience=audience,
        source=str(file),
        contacts=[contact_row(c) for c in contacts],
        by=actor(who),
    )
    _submit(db, incident, event)
