"""The media desk, and the record: journalists' inquiries and notes anyone adds.

An inquiry has an owner (a role) and a deadline, and ends answered, declined or referred.
It is answered only with approved words: a Q&A entry or the key messages (compiled into
statements `qa:<id>` / `key-messages`), a playbook statement, or free text drafted for it,
each approved, frozen and redrafted on a fact change exactly as statements are (`approval`,
`versions`): the desk reuses that machinery, it does not copy it.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

from warroom.engine import approval, versions
from warroom.engine.context import Ctx
from warroom.engine.deadlines import arm, closed, known_inquiry, local, who
from warroom.engine.effects import Timer, TimerKind
from warroom.engine.events import (
    InquiryAnswered,
    InquiryDeclined,
    InquiryDrafted,
    InquiryReferred,
    MediaInquiryLogged,
    NoteAdded,
)
from warroom.engine.registry import Admit, handles
from warroom.engine.render import PRESS, fill
from warroom.engine.state import About, Incident, Inquiry, InquiryStatus, StatementState
from warroom.engine.suggest import THRESHOLD, score, suggest
from warroom.errors import CommandRejected
from warroom.playbook.model import Statement
from warroom.roster.model import Contact
from warroom.specs import one_of

REPEAT_WINDOW = timedelta(hours=1)
"""The same journalist asking again within this long is the same inquiry, asked again."""


def owner_role(inc: Incident) -> str | None:
    desk = inc.playbook.media_desk
    return desk.owner or next(iter(inc.playbook.roles), None)


def _open_inquiry(ctx: Ctx, number: int, command: str) -> Inquiry:
    inquiry = known_inquiry(ctx, number)
    if not inquiry.open:
        when = local(ctx, inquiry.closed_at)
        how = {
            InquiryStatus.ANSWERED: f"with {inquiry.answer}",
            InquiryStatus.DECLINED: f"({inquiry.reason})",
            InquiryStatus.REFERRED: f"to {inquiry.owner} ({inquiry.reason})",
        }[InquiryStatus(inquiry.status)]
        raise CommandRejected(
            f"cannot {command} inquiry #{number}: it was already {inquiry.status} at {when} "
            f"by {inquiry.closed_by or 'unknown'} {how}"
        )
    return inquiry


@handles(MediaInquiryLogged)
def inquiry_logged(ctx: Ctx, event: MediaInquiryLogged) -> None:
    book = ctx.book
    if not event.outlet.strip() or not event.question.strip():
        raise CommandRejected("a media inquiry needs --outlet and --question")
    language = event.language or book.languages[0]
    if language not in book.languages:
        raise CommandRejected(
            f"--language {language!r} is not one of the playbook's languages "
            f"({one_of(book.languages)})"
        )
    if event.within is not None and event.within <= 0:
        raise CommandRejected(
            f"--within {event.within}s: an inquiry's deadline must be longer than 0s"
        )
    if event.email and "@" not in event.email:
        raise CommandRejected(f"--contact {event.email!r} is neither a phone number nor an e-mail")
    within = (
        timedelta(seconds=event.within)
        if event.within is not None
        else book.media_desk.answer_within
    )
    number = len(ctx.inc.inquiries) + 1
    inquiry = Inquiry(
        event.outlet.strip(),
        event.question.strip(),
        event.journalist.strip(),
        ctx.now,
        number=number,
        phone=event.phone.strip(),
        email=event.email.strip(),
        language=language,
        owner=owner_role(ctx.inc),
        deadline=ctx.now + within,
        suggestion=suggest(book, event.question, language),
    )
    inquiry.repeat_of = _repeats(ctx, inquiry)
    ctx.inc.inquiries.append(inquiry)
    owner = ctx.inc.holder(inquiry.owner) if inquiry.owner else None
    ctx.note(
        f"Media inquiry #{number} from {who(inquiry)}: {inquiry.question} "
        f"(owner {inquiry.owner} {ctx.name(owner)}, answer by {local(ctx, inquiry.deadline)})"
    )
    if inquiry.repeat_of:
        ctx.note(f"Inquiry #{number} repeats open inquiry #{inquiry.repeat_of}")
    if not inquiry.repeat_of:  # a repeat is answered with the inquiry it repeats, and timed by it
        arm(ctx, Timer(TimerKind.INQUIRY_HALF, str(number)), ctx.now + within / 2)
        arm(ctx, Timer(TimerKind.INQUIRY_DUE, str(number)), ctx.now + within)
    if inquiry.suggestion:
        ctx.note(f"Inquiry #{number}: suggested answer {inquiry.suggestion} (sent only if chosen)")
        _prepare(ctx, ctx.inc.statements[inquiry.suggestion])


def _repeats(ctx: Ctx, new: Inquiry) -> int:
    """An open inquiry from the same outlet that this one asks again: the same suggested
    Q&A entry, the same question in other words (an editor chasing a reporter's call), or
    the same journalist within the hour."""
    for old in ctx.inc.inquiries:
        if not old.open or old.outlet.casefold() != new.outlet.casefold() or old.repeat_of:
            continue
        same_question = (bool(new.suggestion) and new.suggestion == old.suggestion) or (
            new.language == old.language
            and new.at - old.at <= REPEAT_WINDOW
            and score(new.question, old.question, new.language) >= THRESHOLD
        )
        same_journalist = (
            bool(new.journalist)
            and new.journalist.casefold() == old.journalist.casefold()
            and new.at - old.at <= REPEAT_WINDOW
        )
        if same_question or same_journalist:
            return old.number
    return 0


def _prepare(ctx: Ctx, statement: StatementState) -> None:
    """Draft the words (if no current version is in hand) and ask their approvers."""
    if statement.draft is None:
        versions.new_draft(ctx, statement, correction=False)
    approval.request_approvals(ctx, statement, approval.approving_step(ctx, statement.id))


def _words(ctx: Ctx, answer: str) -> tuple[StatementState, Statement]:
    """The statement an answer names: `qa:<id>`, `key-messages` or `statement:<id>`."""
    desk = ctx.book.media_desk
    if answer.startswith("qa:"):
        if answer[3:] not in desk.qa:
            raise CommandRejected(
                f"unknown Q&A entry {answer!r} (expected one of: "
                f"{one_of(['qa:' + q for q in desk.qa]) if desk.qa else 'none in this playbook'})"
            )
        return ctx.known_statement(answer)
    sid = answer.removeprefix("statement:")
    if sid.startswith("qa:") or sid not in ctx.book.statements:
        raise CommandRejected(
            f"unknown answer {answer!r} (expected qa:<id> or statement:<id>, one of: "
            f"{one_of(ctx.book.statements)})"
        )
    return ctx.known_statement(sid)


@handles(InquiryDrafted)
def inquiry_drafted(ctx: Ctx, event: InquiryDrafted) -> None:
    inquiry = _open_inquiry(ctx, event.inquiry, "draft for")
    if bool(event.answer) == bool(event.text.strip()):
        raise CommandRejected("`inquiry draft` needs either --with qa:<id> or --text TEXT")
    if event.answer:
        statement, spec = _words(ctx, event.answer)
        _prepare(ctx, statement)
        ctx.note(f"Inquiry #{inquiry.number}: {spec.title} prepared to answer it")
        return
    desk = ctx.book.media_desk
    if not desk.approve:
        raise CommandRejected("free text needs approvers: the playbook has no media_desk.approve")
    sid = f"inquiry:{inquiry.number}"
    # the words are data: rendered literally, never as a template
    literal = "{{ " + json.dumps(event.text.strip()) + " }}"
    spec = Statement(
        id=sid,
        title=f"Answer to inquiry #{inquiry.number}",
        owner=desk.owner,
        approvers=desk.approve,
        subject={},
        text=dict.fromkeys(ctx.book.languages, literal),
        sms={},
        sms_max_segments=10,
        media=True,
    )
    book = dataclasses.replace(ctx.book, statements={**ctx.book.statements, sid: spec})
    ctx.inc.playbook = ctx.book = book
    statement = ctx.inc.statements.setdefault(sid, StatementState(sid))
    versions.new_draft(ctx, statement, correction=False)
    approval.request_approvals(ctx, statement, approval.approving_step(ctx, sid))


@handles(InquiryAnswered)
def inquiry_answered(ctx: Ctx, event: InquiryAnswered) -> None:
    inquiry = _open_inquiry(ctx, event.inquiry, "answer")
    answer = event.answer.strip()
    if answer in ("draft", f"inquiry:{inquiry.number}"):
        if f"inquiry:{inquiry.number}" not in ctx.inc.statements:
            raise CommandRejected(
                f"inquiry #{inquiry.number} has no drafted answer; "
                f"`warroom inquiry draft {inquiry.number} --text ...` first"
            )
        statement, spec = ctx.known_statement(f"inquiry:{inquiry.number}")
    else:
        statement, spec = _words(ctx, answer)
    draft = statement.draft
    if draft is None:
        raise CommandRejected(
            f"{spec.title} has no version yet; `warroom inquiry draft {inquiry.number} "
            f"--with {answer}` asks its approvers"
        )
    if spec.approvers and not statement.approved(spec.approvers):
        waiting = [
            f"{r} ({ctx.name(ctx.inc.holder(r))})"
            for r in spec.approvers
            if r not in draft.approvals
        ]
        stale = [r for r in statement.releases if r.version < draft.version]
        why = "a fact changed since the approved version; " if stale else ""
        raise CommandRejected(
            f"{spec.title} v{draft.version} is not approved: {why}waiting for "
            f"{', '.join(waiting) or 'a second person (four eyes)'}"
        )
    rendered = [t for (_, lang), t in draft.texts.items() if lang == inquiry.language]
    if not rendered:
        raise CommandRejected(f"{spec.title} has no {inquiry.language} text for this journalist")
    if not _contact(inquiry).channels():
        raise CommandRejected(
            f"inquiry #{inquiry.number}: {who(inquiry)} left no phone or e-mail, so no answer "
            "can be sent; decline it on the record or log it again with --contact"
        )
    named = f"{statement.id} v{draft.version}"
    together = [i for i in ctx.inc.inquiries if i.open and i.repeat_of == inquiry.number]
    for each in (inquiry, *together):
        contact = _contact(each)
        about = About(
            "answer", PRESS, f"answer-{statement.id}-v{draft.version}", language=each.language
        )
        texts = [
            fill(t, ctx.book, PRESS, ctx.now)
            for (_, lang), t in draft.texts.items()
            if lang == each.language
        ]
        for channel in contact.channels() if texts else ():
            text = texts[0].sms if channel == "sms" else texts[0].text
            ctx.send(contact, channel, text, f"Re: {each.question}", about)
        closed(ctx, each)
        each.status = InquiryStatus.ANSWERED.value
        each.closed_at, each.closed_by = ctx.now, event.by or "unknown"
        each.answer = named if each is inquiry else f"{named} (with #{inquiry.number})"
        channels = ", ".join(contact.channels()) or "no channel"
        ctx.note(
            f"Inquiry #{each.number} answered to {who(each)} with {spec.title} "
            f"v{draft.version} ({each.language}, by {channels})"
        )
        if each.deadline is not None and ctx.now > each.deadline:
            ctx.note(f"Inquiry #{each.number} was answered after its deadline")


def _contact(inquiry: Inquiry) -> Contact:
    return Contact(
        inquiry.journalist or inquiry.outlet,
        phone=inquiry.phone or None,
        email=inquiry.email or None,
        language=inquiry.language,
        outlet=inquiry.outlet,
    )


@handles(InquiryDeclined)
def inquiry_declined(ctx: Ctx, event: InquiryDeclined) -> None:
    if not event.reason.strip():
        raise CommandRejected(
            'declining an inquiry needs --reason: "no comment" is on the record with why'
        )
    inquiry = _open_inquiry(ctx, event.inquiry, "decline")
    closed(ctx, inquiry)
    inquiry.status = InquiryStatus.DECLINED.value
    inquiry.closed_at, inquiry.closed_by = ctx.now, event.by or "unknown"
    inquiry.reason = event.reason.strip()
    ctx.note(f"Inquiry #{inquiry.number} from {who(inquiry)} declined: {inquiry.reason}")


@handles(InquiryReferred)
def inquiry_referred(ctx: Ctx, event: InquiryReferred) -> None:
    if event.to not in ctx.book.roles:
        raise CommandRejected(
            f"unknown role {event.to!r} for --to (expected one of: {one_of(ctx.book.roles)})"
        )
    if not event.reason.strip():
        raise CommandRejected("referring an inquiry needs --reason")
    inquiry = _open_inquiry(ctx, event.inquiry, "refer")
    closed(ctx, inquiry)
    inquiry.status = InquiryStatus.REFERRED.value
    inquiry.closed_at, inquiry.closed_by = ctx.now, event.by or "unknown"
    inquiry.owner, inquiry.reason = event.to, event.reason.strip()
    holder = ctx.inc.holder(event.to)
    ctx.note(
        f"Inquiry #{inquiry.number} from {who(inquiry)} referred to {event.to} "
        f"({ctx.name(holder)}): {inquiry.reason}"
    )
    if holder is not None:
        contact = ctx.inc.roster.person(holder).contact()
        text = (
            f"[warroom] Media inquiry #{inquiry.number} referred to you ({event.to}): "
            f'{who(inquiry)} asks "{inquiry.question}". Reason: {inquiry.reason}'
        )
        subject = f"[warroom] Inquiry #{inquiry.number}"
        ctx.notify(contact, PRESS, text, subject, f"refer-inquiry{inquiry.number}")


@handles(NoteAdded, Admit.AFTER_RESOLUTION)
def note_added(ctx: Ctx, event: NoteAdded) -> None:
    if not event.text.strip():
        raise CommandRejected("a note needs some text")
    ctx.note(f"Note by {event.by or 'unknown'}: {event.text}")


def desk_order(inquiries: list[Inquiry]) -> list[Inquiry]:
    """Open inquiries first, the nearest deadline first; then the closed ones, latest first."""
    open_ = sorted((i for i in inquiries if i.open), key=lambda i: (i.deadline or i.at, i.number))
    closed = sorted(
        (i for i in inquiries if not i.open), key=lambda i: i.closed_at or i.at, reverse=True
    )
    return [*open_, *closed]
