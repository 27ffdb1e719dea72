"""Release and delivery: a statement version going out to its audiences in order (staff
first), the receipts that let the next audience go, and fail-over to another channel when a
message cannot be delivered.
"""

from __future__ import annotations

from datetime import timedelta

from warroom.durations import format_duration as _span
from warroom.engine import levels, steps
from warroom.engine import lifecycles as lc
from warroom.engine.context import Ctx
from warroom.engine.effects import Timer, TimerKind
from warroom.engine.events import DeliveryReported
from warroom.engine.lifecycles import MessagePhase
from warroom.engine.notices import approval_text, page_text
from warroom.engine.registry import Admit, handles
from warroom.engine.state import About, Draft, MessageState, Release, StatementState, StepState
from warroom.errors import CommandRejected
from warroom.playbook.model import Step

STAFF_FIRST_HOLD = timedelta(minutes=10)
"""How long the next audience waits for the previous one's messages before it goes anyway:
staff should hear first, but an SMS outage must not hold the press statement forever."""


def _draft(statement: StatementState) -> Draft:
    assert statement.draft is not None, "a statement is drafted before it is released"
    return statement.draft


def release(ctx: Ctx, step: Step, state: StepState) -> None:
    lc.fire(lc.STEP, "release", state, f"step {step.id}")
    statement = ctx.inc.statements[step.statement or ""]
    state.released_versions.append(_draft(statement).version)
    state.audiences_released = 0
    release_next(ctx, step, state)


def release_next(ctx: Ctx, step: Step, state: StepState) -> None:
    """Release to the next audience in `to` order; the rest wait for these messages."""
    statement = ctx.inc.statements[step.statement or ""]
    draft = _draft(statement)
    ctx.cancel_timer(Timer(TimerKind.NEXT_AUDIENCE, step.id))
    while state.audiences_released < len(step.to):
        audience = step.to[state.audiences_released]
        state.audiences_released += 1
        spec = ctx.book.audiences[audience]
        # an outside audience hears at the level a person set, never at one only proposed
        level = ctx.inc.level if spec.internal else levels.speaking_level(ctx.inc)
        if not ctx.book.applies(spec.from_level, level):
            ctx.note(f"{step.title}: {audience} skipped below its level")
            continue
        state.pending = set(release_audience(ctx, step.id, statement, draft, audience))
        state.unsettled = len(state.pending)
        if state.pending and state.audiences_released < len(step.to):
            timer = Timer(TimerKind.NEXT_AUDIENCE, step.id)
            ctx.start_timer(timer, ctx.now + STAFF_FIRST_HOLD, "next audience")
            return
    steps.finish(ctx, step, state)


def release_audience(
    ctx: Ctx, step_id: str, statement: StatementState, draft: Draft, audience: str
) -> list[str]:
    spec = ctx.book.statements[statement.id]
    approved_by = tuple(draft.approvals.items())
    messages: list[str] = []
    languages: set[str] = set()
    for recipient in ctx.audience(audience):
        rendered = draft.texts[(audience, recipient.language)]
        languages.add(recipient.language)
        about = About(
            "statement",
            step_id,
            f"{statement.id}-v{draft.version}",
            statement=statement.id,
            version=draft.version,
            audience=audience,
            language=recipient.language,
        )
        for channel in recipient.channels:
            text = rendered.sms if channel == "sms" else rendered.text
            message = ctx.send(recipient.contact, channel, text, rendered.subject, about)
            if message:
                messages.append(message)
    for language in sorted(languages):
        rendered = draft.texts[(audience, language)]
        statement.releases.append(
            Release(
                draft.version,
                audience,
                language,
                rendered.subject,
                rendered.text,
                ctx.now,
                approved_by,
                draft.correction,
                sum(len(s.releases) for s in ctx.inc.statements.values()),
            )
        )
    what = "correction" if draft.correction else "released"
    approvals = ", ".join(f"{r}: {ctx.name(p)}" for r, p in approved_by) or "no approval needed"
    ctx.note(
        f"{spec.title} v{draft.version} {what} to {ctx.book.audiences[audience].title}: "
        f"{len(messages)} messages in {', '.join(sorted(languages)) or 'no language'} "
        f"({approvals})"
    )
    return messages


def release_correction(ctx: Ctx, statement: StatementState) -> None:
    """A correction goes to every audience that heard the statement, at once."""
    draft = _draft(statement)
    audiences = list(dict.fromkeys(r.audience for r in statement.releases if not r.correction))
    for audience in audiences:
        release_audience(ctx, f"correct:{statement.id}", statement, draft, audience)


def next_audience_due(ctx: Ctx, step: Step, state: StepState) -> None:
    if lc.releasing(state):
        ctx.note(f"{step.title}: next audience goes after {_span(STAFF_FIRST_HOLD)}")
        state.pending, state.unsettled = set(), 0
        release_next(ctx, step, state)
        steps.advance(ctx)


RECEIPTS = frozenset(
    {
        MessagePhase.SENT,
        MessagePhase.DELIVERED,
        MessagePhase.PRINTED,
        MessagePhase.WITHHELD,
        MessagePhase.FAILED,
        MessagePhase.UNDELIVERABLE,
    }
)

NOT_RECEIVED_NOTES = {
    MessagePhase.PRINTED: "printed, not sent: nobody received it",
    MessagePhase.WITHHELD: "withheld, not sent: nobody received it",
}
"""The timeline's words for a message nobody received: it must never read as delivered."""


@handles(DeliveryReported, Admit.ALWAYS)
def delivery_reported(ctx: Ctx, event: DeliveryReported) -> None:
    message = ctx.inc.messages.get(event.message)
    if message is None:
        raise CommandRejected(f"unknown message {event.message!r} in incident {ctx.inc.id}")
    if event.status not in RECEIPTS:
        raise CommandRejected(
            f"unknown delivery status {event.status!r} "
            "(expected sent, delivered, printed, withheld, failed or undeliverable)"
        )
    if message.state == event.status or message.state in lc.MESSAGE_FINAL:
        return  # a late or repeated receipt changes nothing
    was_settled = lc.settled(message)
    lc.fire(lc.MESSAGE, event.status, message, f"message {message.id}")
    message.detail = event.detail
    state = ctx.inc.steps.get(message.step)
    awaited = state is not None and message.id in state.pending
    if state is not None and awaited and not was_settled:
        state.unsettled -= 1
    if event.status in lc.MESSAGE_NOT_RECEIVED and message.purpose != "statement":
        # settled (staff first goes on), but nobody has it: said, and never failed over, since
        # the recipient's other channel is printed or withheld alike. A page or a request is
        # said one by one; a release's thousands are counted per audience and outcome by the
        # timeline's Deliveries lines, as every other receipt is
        what = NOT_RECEIVED_NOTES[MessagePhase(event.status)]
        ctx.note(
            f"{message.purpose.capitalize()} to {message.recipient} by {message.channel} {what}"
            + (f" ({event.detail})" if event.detail else "")
        )
    if event.status in (MessagePhase.FAILED, MessagePhase.UNDELIVERABLE):
        ctx.note(
            f"Message to {message.recipient} by {message.channel} {event.status}"
            + (f": {event.detail}" if event.detail else "")
        )
        other = "" if superseded(ctx, message) else fail_over(ctx, message)
        if other and state is not None and awaited:
            state.pending.add(other)
            state.unsettled += 1
    if state is not None and awaited and lc.releasing(state) and not state.unsettled:
        state.pending = set()
        release_next(ctx, ctx.book.step(message.step), state)
        steps.advance(ctx)


def superseded(ctx: Ctx, message: MessageState) -> bool:
    """An approval request for a version no longer being approved: never sent on elsewhere."""
    if message.purpose != "approval":
        return False
    statement = ctx.inc.statements.get(message.statement or "")
    return (
        statement is None or statement.draft is None or (statement.draft.version != message.version)
    )


def fail_over(ctx: Ctx, message: MessageState) -> str:
    """Send what could not be delivered on the recipient's other channel (SMS -> e-mail),
    unless they already have it there; returns the new message's id, or ""."""
    contact = message.contact
    if contact is None:
        return ""
    for channel in (c for c in contact.channels() if c != message.channel):
        text, subject = text_for(ctx, message, channel)
        if text is None:
            continue
        sent = ctx.send(contact, channel, text, subject, message.about())
        if sent:
            ctx.note(f"{message.recipient}: failed over from {message.channel} to {channel}")
        else:
            ctx.note(f"{message.recipient}: already reached by {channel}")
        return sent
    ctx.note(f"{message.recipient}: no other channel to try")
    return ""


def text_for(ctx: Ctx, message: MessageState, channel: str) -> tuple[str | None, str]:
    """The same content rendered for another channel, if it can be (a notice cannot)."""
    book = ctx.book
    if message.purpose == "page" and message.code:
        step = book.step(message.step)
        role = ctx.inc.steps[step.id].paged.get(message.person or "")
        title = book.roles[role].title if role else "escalation contact"
        text = page_text(ctx.inc, step, title, message.code, message.language or "en", channel)
        return text, f"[warroom] {book.title}: {step.title}"
    statement = ctx.inc.statements.get(message.statement or "")
    if statement is None or statement.draft is None:
        return None, ""
    draft = statement.draft
    if draft.version != message.version:
        released = [
            r
            for r in statement.releases
            if (r.version, r.audience, r.language)
            == (message.version, message.audience, message.language)
        ]
        if channel != "email" or not released:
            return None, ""
        return released[0].text, released[0].subject
    if message.purpose == "approval" and message.code:
        language = message.language or "en"
        return approval_text(ctx.inc, statement.id, draft, message.code, channel, language), (
            f"[warroom] Approve {book.statements[statement.id].title} v{draft.version}"
        )
    rendered = draft.texts.get((message.audience or "", message.language))
    if message.purpose != "statement" or rendered is None:
        return None, ""
    return (rendered.sms if channel == "sms" else rendered.text), rendered.subject
