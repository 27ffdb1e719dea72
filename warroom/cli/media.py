"""The media desk at the command line: `warroom inquiry add|list|draft|answer|decline|refer`,
`warroom statement export` (a press release) and `warroom press pack` (the briefing pack).

`warroom inquiry --outlet ... --question ...` (the older form) still logs an inquiry.
"""

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape

from warroom.cli import DbOption, actor, app, error_boundary, opened_runtime, out
from warroom.cli.incident import AsOption, IncidentOption, _submit
from warroom.durations import format_duration, parse_duration
from warroom.errors import UsageError

if TYPE_CHECKING:
    from warroom.engine import events as ev
    from warroom.engine.state import Incident, Inquiry

inquiry_app = typer.Typer(
    help="The media desk: journalists' inquiries, answered only with approved words."
)
app.add_typer(inquiry_app, name="inquiry")

ContactOption = Annotated[
    list[str] | None,
    typer.Option("--contact", help="Phone (+48...) or e-mail of the journalist; repeatable."),
]


def _logged(
    outlet: str,
    question: str,
    journalist: str,
    contact: list[str],
    language: str,
    within: str | None,
    who: str | None,
) -> "ev.MediaInquiryLogged":
    from warroom.engine import events as ev

    phones = [c.strip() for c in contact if "@" not in c]
    emails = [c.strip() for c in contact if "@" in c]
    if len(phones) > 1 or len(emails) > 1:
        raise UsageError("--contact takes at most one phone and one e-mail")
    seconds = None
    if within is not None:
        if within.strip() in ("0", "0s", "0m", "0h"):
            raise UsageError(f"--within {within!r}: an inquiry's deadline must be longer than 0s")
        try:
            seconds = int(parse_duration(within).total_seconds())
        except ValueError as exc:
            raise UsageError(f"--within: {exc}") from exc
    return ev.MediaInquiryLogged(
        outlet=outlet,
        question=question,
        journalist=journalist,
        phone=phones[0] if phones else "",
        email=emails[0] if emails else "",
        language=language,
        within=seconds,
        by=actor(who),
    )


@inquiry_app.callback(invoke_without_command=True)
@error_boundary
def inquiry(
    context: typer.Context,
    outlet: Annotated[str, typer.Option(help="Newspaper, broadcaster, ... (older form).")] = "",
    question: Annotated[str, typer.Option(help="What they asked (older form).")] = "",
    journalist: Annotated[str, typer.Option(help="Who asked (older form).")] = "",
    who: AsOption = None,
    incident: IncidentOption = None,
    db: DbOption = None,
) -> None:
    """The media desk. `warroom inquiry --outlet ... --question ...` is `inquiry add`."""
    if context.invoked_subcommand is not None:
        return
    if not (outlet or question or journalist):
        out.print(context.get_help())
        return
    _submit(db, incident, _logged(outlet, question, journalist, [], "", None, who))


@inquiry_app.command("add")
@error_boundary
def add(
    outlet: Annotated[str, typer.Option(help="Newspaper, broadcaster, ...")] = "",
    question: Annotated[str, typer.Option(help="What they asked.")] = "",
    journalist: Annotated[str, typer.Option(help="Who asked.")] = "",
    contact: ContactOption = None,
    language: Annotated[
        str, typer.Option(help="Their language [default: the playbook's first].")
    ] = "",
    within: Annotated[
        str | None, typer.Option(help="Deadline, e.g. 30m [default: media_desk.answer_within].")
    ] = None,
    who: AsOption = None,
    incident: IncidentOption = None,
    db: DbOption = None,
) -> None:
    """Log a journalist's question: it gets an owner, a deadline and a suggested answer."""
    _submit(
        db, incident, _logged(outlet, question, journalist, contact or [], language, within, who)
    )


def _line(inquiry: "Inquiry", now: datetime, zone: ZoneInfo) -> str:
    who = f"{inquiry.journalist}, {inquiry.outlet}" if inquiry.journalist else inquiry.outlet
    head = f"#{inquiry.number} {escape(who)} ({inquiry.language}): {escape(inquiry.question)}"
    if inquiry.open:
        deadline = inquiry.deadline or inquiry.at
        left = deadline - now
        when = (
            f"answer within {format_duration(left)}"
            if left.total_seconds() > 0
            else f"[red]overdue by {format_duration(-left)}[/red]"
        )
        extra = f" ({inquiry.owner}, by {deadline.astimezone(zone):%H:%M}, {when})"
        if inquiry.suggestion:
            extra += f"; suggested {inquiry.suggestion}"
        if inquiry.repeat_of:
            extra += f"; repeats #{inquiry.repeat_of}"
        return head + extra
    how = inquiry.answer if inquiry.answer else inquiry.reason
    closed = inquiry.closed_at.astimezone(zone) if inquiry.closed_at else None
    at = f" at {closed:%H:%M}" if closed else ""
    return f"{head} ({inquiry.status}{at}: {escape(how)})"


def print_open_inquiries(state: "Incident", now: datetime) -> None:
    """For `status`: the open inquiries with their countdowns."""
    from warroom.engine.media import desk_order

    zone = ZoneInfo(state.playbook.timezone)
    waiting = [i for i in desk_order(state.inquiries) if i.open]
    out.print(f"[bold]Media inquiries[/bold]: {len(waiting)} open of {len(state.inquiries)} logged")
    for inquiry in waiting:
        out.print("  " + _line(inquiry, now, zone))


@inquiry_app.command("list")
@error_boundary
def list_(incident: IncidentOption = None, db: DbOption = None) -> None:
    """Open inquiries first, nearest deadline first, with the suggested Q&A entry."""
    from warroom.engine.media import desk_order

    with opened_runtime(db, reading=True) as runtime:
        incident_id = incident or runtime.open_incident()
        state = runtime.incident(incident_id)
        now = runtime.clock.now()
    zone = ZoneInfo(state.playbook.timezone)
    if not state.inquiries:
        out.print("No media inquiries.")
    for inquiry in desk_order(state.inquiries):
        out.print(_line(inquiry, now, zone))


NumberArgument = Annotated[int, typer.Argument(help="Inquiry number (#1, #2, ...).")]


@inquiry_app.command("draft")
@error_boundary
def draft(
    number: NumberArgument,
    with_: Annotated[str, typer.Option("--with", help="qa:<id> or statement:<id>.")] = "",
    text: Annotated[str, typer.Option(help="Free text; approved like a statement.")] = "",
    who: AsOption = None,
    incident: IncidentOption = None,
    db: DbOption = None,
) -> None:
    """Prepare words for an inquiry and ask their approvers."""
    from warroom.engine import events as ev

    _submit(db, incident, ev.InquiryDrafted(inquiry=number, answer=with_, text=text, by=actor(who)))


@inquiry_app.command("answer")
@error_boundary
def answer(
    number: NumberArgument,
    with_: Annotated[
        str, typer.Option("--with", help="qa:<id>, statement:<id> or draft (its free text).")
    ] = "",
    who: AsOption = None,
    incident: IncidentOption = None,
    db: DbOption = None,
) -> None:
    """Send the journalist an approved version, in their language, on their channel."""
    from warroom.engine import events as ev

    if not with_:
        raise UsageError("`warroom inquiry answer` needs --with qa:<id>|statement:<id>|draft")
    _submit(db, incident, ev.InquiryAnswered(inquiry=number, answer=with_, by=actor(who)))


@inquiry_app.command("decline")
@error_boundary
def decline(
    number: NumberArgument,
    reason: Annotated[str, typer.Option(help="Why (on the record).")] = "",
    who: AsOption = None,
    incident: IncidentOption = None,
    db: DbOption = None,
) -> None:
    """Decline to answer, on the record with the reason."""
    from warroom.engine import events as ev

    if not reason.strip():
        raise UsageError("`warroom inquiry decline` needs --reason (declining is on the record)")
    _submit(db, incident, ev.InquiryDeclined(inquiry=number, reason=reason, by=actor(who)))


@inquiry_app.command("refer")
@error_boundary
def refer(
    number: NumberArgument,
    to: Annotated[str, typer.Option("--to", help="The role that takes it over.")] = "",
    reason: Annotated[str, typer.Option(help="Why.")] = "",
    who: AsOption = None,
    incident: IncidentOption = None,
    db: DbOption = None,
) -> None:
    """Hand an inquiry to another role."""
    from warroom.engine import events as ev

    if not to or not reason.strip():
        raise UsageError("`warroom inquiry refer` needs --to ROLE and --reason")
    _submit(db, incident, ev.InquiryReferred(inquiry=number, to=to, reason=reason, by=actor(who)))


statement_app = typer.Typer(help="Statements as published: a press release of an approved version.")
app.add_typer(statement_app, name="statement")
press_app = typer.Typer(help="The press office's print-outs: the spokesperson's briefing pack.")
app.add_typer(press_app, name="press")
OutOption = Annotated[
    Path | None, typer.Option("--out", help="Write to this file [default: print it].")
]


def _write(text: str, target: Path | None) -> None:
    if target is None:
        out.print(escape(text), end="")
        return
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--out {str(target)!r}: {exc.strerror or exc}") from exc
    out.print(f"written: {target}")


@statement_app.command("export")
@error_boundary
def export(
    statement: Annotated[str, typer.Argument(help="Statement id, e.g. holding.")],
    output: Annotated[str, typer.Option("--format", help="md or html.")] = "md",
    language: Annotated[str, typer.Option(help="Language [default: the playbook's first].")] = "",
    target: OutOption = None,
    incident: IncidentOption = None,
    db: DbOption = None,
) -> None:
    """A press release of the approved version (headline, dateline, body, note to editors,
    press contacts), as Markdown or HTML for the website. A draft is never exported."""
    from warroom.press import press_release

    with opened_runtime(db, reading=True) as runtime:
        state = runtime.incident(incident or runtime.open_incident())
    text = press_release(state, statement, language or state.playbook.languages[0], output)
    _write(text, target)


@press_app.command("pack")
@error_boundary
def pack(
    target: OutOption = None,
    incident: IncidentOption = None,
    db: DbOption = None,
) -> None:
    """The briefing pack for a press conference or interview, one Markdown file for print."""
    from warroom.press import briefing_pack

    with opened_runtime(db, reading=True) as runtime:
        state = runtime.incident(incident or runtime.open_incident())
    _write(briefing_pack(state), target)
