"""Media inquiries against the clock: each is found by its number and named the same way
everywhere, and timed: half its time gone pages its owner, a passed deadline escalates.
Apart from `media` (what the desk decides with words) because timing is a concern of its own."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from warroom.engine.context import Ctx
from warroom.engine.effects import StartTimer, Timer, TimerKind
from warroom.engine.notices import inquiry_text
from warroom.engine.render import PRESS
from warroom.engine.state import About, Inquiry
from warroom.errors import CommandRejected


def known_inquiry(ctx: Ctx, number: int) -> Inquiry:
    inquiries = ctx.inc.inquiries
    if not 1 <= number <= len(inquiries):
        held = f"#1 to #{len(inquiries)}" if inquiries else "none yet"
        raise CommandRejected(f"unknown inquiry #{number} (this incident has {held})")
    return inquiries[number - 1]


def local(ctx: Ctx, moment: datetime | None) -> str:
    if moment is None:
        return "an unknown time"
    return f"{moment.astimezone(ZoneInfo(ctx.book.timezone)):%Y-%m-%d %H:%M}"


def who(inquiry: Inquiry) -> str:
    return f"{inquiry.journalist}, {inquiry.outlet}" if inquiry.journalist else inquiry.outlet


INQUIRY_TOKEN = 1_000_000_000
"""Inquiry timers are armed once each, so their token need not come from the incident's
sequence: drawing it there would renumber the messages and reply codes of every log written
before the media desk had timers, and such a log must replay exactly as it ran."""


def arm(ctx: Ctx, timer: Timer, at: datetime) -> None:
    token = INQUIRY_TOKEN + int(timer.step)
    ctx.inc.timers[timer] = token
    ctx.out.effects.append(StartTimer(timer, token, at, timer.kind.value))


def closed(ctx: Ctx, inquiry: Inquiry) -> None:
    """An inquiry that ended wakes nobody any more."""
    for kind in (TimerKind.INQUIRY_HALF, TimerKind.INQUIRY_DUE):
        ctx.cancel_timer(Timer(kind, str(inquiry.number)))


def inquiry_timer(ctx: Ctx, timer: Timer) -> None:
    """Half the time gone: the owner is paged. Past the deadline: the people on the owner
    role's escalation ladder are told, so an unanswered journalist is nobody's secret."""
    inquiry = known_inquiry(ctx, int(timer.step))
    if not inquiry.open or inquiry.owner is None:
        return
    owner = ctx.inc.holder(inquiry.owner)
    due = local(ctx, inquiry.deadline)
    if timer.kind is TimerKind.INQUIRY_HALF:
        if owner is None:
            ctx.note(f"Inquiry #{inquiry.number}: half its time gone; nobody holds {inquiry.owner}")
            return
        remind(ctx, inquiry, owner, "half", f"[warroom] Inquiry #{inquiry.number} due at {due}")
        ctx.note(f"Inquiry #{inquiry.number}: half its time gone; {ctx.name(owner)} reminded")
        return
    people = _ladder(ctx, inquiry.owner, owner)
    ctx.note(
        f"Inquiry #{inquiry.number} from {who(inquiry)} is past its deadline unanswered; "
        f"escalated to {', '.join(sorted(ctx.name(p) for p in people)) or 'nobody'}"
    )
    for person in sorted(people):
        remind(ctx, inquiry, person, "overdue", f"[warroom] Inquiry #{inquiry.number} overdue")


def remind(ctx: Ctx, inquiry: Inquiry, person: str, kind: str, subject: str) -> None:
    """One reminder about an inquiry, in the person's language, on each of their channels."""
    contact = ctx.inc.roster.person(person).contact()
    about = About("notice", PRESS, f"inquiry{inquiry.number}-{kind}")
    for channel in contact.channels():
        text = inquiry_text(
            kind,
            number=inquiry.number,
            who=who(inquiry),
            role=inquiry.owner or "",
            due=local(ctx, inquiry.deadline)[-5:],  # the hour: an inquiry is due today
            question=inquiry.question,
            suggestion=inquiry.suggestion,
            language=contact.language or "",
            channel=channel,
        )
        ctx.send(contact, channel, text, subject, about)


def _ladder(ctx: Ctx, role: str, owner: str | None) -> set[str]:
    """The people on the escalation ladder of the step that pages `role` (role holders and
    selected people, as the ladder would page them now), else the desk's approvers."""
    for step in ctx.book.steps:
        roles = {r for a in step.page for r in ctx.book.audiences[a].roles}
        if role in roles and step.escalations:
            people: set[str] = set()
            for selector in (s for rung in step.escalations for s in rung.page):
                if selector.startswith("role:"):
                    holder = ctx.inc.holder(selector[5:])
                    people |= {holder} if holder else set()
                else:
                    people |= {p.id for p in ctx.inc.roster.select(selector, ctx.now)}
            people.discard(owner or "")
            if people:
                return people
    desk = {h for r in ctx.book.media_desk.approve if (h := ctx.inc.holder(r)) is not None}
    return desk - {owner or ""}
