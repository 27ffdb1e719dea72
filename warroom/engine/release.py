"""Release and delivery: a statement version going out to its audiences in order (staff
first), the receipts that let the next audience go, and fail-over to another channel when a
message cannot be delivered.
"""

from __future__ import annotations

from warroom.durations import format_duration as _span
from warroom.engine import levels, promised_updates, steps
from warroom.engine import lifecycles as lc
from warroom.engine.context import Ctx
from warroom.engine.effects import Timer, TimerKind
from warroom.engine.events import DeliveryReported
from warroom.engine.lifecycles import MessagePhase
from warroom.engine.notices import approval_text, page_text
from warroom.engine.registry import Admit, handles
from warroom.engine.render import (
    fill,
    promises,
    update_interval,
)
from warroom.engine.state import (
    About,
    Draft,
    MessageState,
    Release,
    RenderedText,
    StatementState,
    StepState,
)
from warroom.errors import CommandRejected
from warroom.playbook.model import NEXT_AUDIENCE_WAITS_AT_MOST, Step

STAFF_FIRST_HOLD = NEXT_AUDIENCE_WAITS_AT_MOST


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
    state.hold_until = None
    while state.audiences_released < len(step.to):
        audience = step.to[state.audiences_released]
        spec = ctx.book.audiences[audience]
        # an outside audience hears at the level a person set, never at one only proposed
        level = ctx.inc.level if spec.internal else levels.speaking_level(ctx.inc)
        if not ctx.book.applies(spec.from_level, level):
            state.audiences_released += 1
            ctx.note(f"{step.title}: {audience} skipped below its level")
            continue
        if step.every is not None and ctx.inc.keeps_promises:
            why = promised_updates.why_update(ctx, step, audience)
            if why is None:
                state.audiences_released += 1
                ctx.note(
                    f"{step.title}: nothing new for {spec.title} and its promised update is "
                    "not near; skipped"
                )
                continue
        if spec.contacts_at_release and audience not in ctx.inc.contact_lists:
            if state.waits_for_contacts != audience:
                state.waits_for_contacts = audience
                ctx.note(f"{step.title}: {contacts_wait(spec.id, spec.title)}")
            return  # `warroom contacts load` resumes it: see `contact_lists`
        state.waits_for_contacts = ""
        approvers = ctx.book.statements[statement.id].approvers
        if approvers and not statement.approved(approvers):
            # a fact changed mid-release and its correction replaced the approved version:
            # the audiences still to hear it wait for the correction's approvers
            if state.waits_for_approval != draft.version:
                state.waits_for_approval = draft.version
                ctx.note(
                    f"{step.title}: {spec.title} waits for approval of "
                    f"{ctx.book.statements[statement.id].title} v{draft.version}"
                )
            return  # `approval_complete` resumes it
        state.waits_for_approval = 0
        state.audiences_released += 1
        state.pending = set(release_audience(ctx, step.id, statement, draft, audience))
        state.unsettled = len(state.pending)
        if state.pending and state.audiences_released < len(step.to):
            timer = Timer(TimerKind.NEXT_AUDIENCE, step.id)
            ctx.start_timer(timer, ctx.now + STAFF_FIRST_HOLD, "next audience")
            if step.hold is not None:
                state.hold_until = ctx.now + step.hold
            return
    steps.finish(ctx, step, state)


def resume_after_approval(ctx: Ctx, statement: StatementState) -> None:
    """Send steps held mid-release by a correction go on to their remaining audiences."""
    draft = _draft(statement)
    for step in ctx.book.steps:
        state = ctx.inc.steps[step.id]
        if step.statement == statement.id and lc.releasing(state) and state.waits_for_approval:
            if draft.version not in state.released_versions:
                state.released_versions.append(draft.version)
            release_next(ctx, step, state)


def contacts_wait(audience: str, title: str) -> str:
    """The words `status` and the timeline use for a release held by a list not loaded."""
    return f"waits for the contacts of {title} (`warroom contacts load {audience} FILE.csv`)"


def audience_settled(ctx: Ctx, step: Step, state: StepState) -> None:
    """Every message to the audience being released has an answer: the next goes now, or
    when the step's `hold` is over, so that staff hear strictly before the press."""
    state.pending = set()
    if state.hold_until is not None and ctx.now < state.hold_until:
        ctx.start_timer(Timer(TimerKind.NEXT_AUDIENCE, step.id), state.hold_until, "hold")
        return
    release_next(ctx, step, state)
    steps.advance(ctx)


def release_audience(
    ctx: Ctx, step_id: str, statement: StatementState, draft: Draft, audience: str
) -> list[str]:
    """This audience's release: its texts are filled in once, here, for every recipient."""
    spec = ctx.book.statements[statement.id]
    approved_by = tuple(draft.approvals.items())
    messages: list[str] = []
    languages: set[str] = set()
    filled: dict[str, RenderedText] = {}
    for recipient in ctx.audience(audience):
        language = recipient.language
        if language not in filled:
            filled[language] = fill(draft.texts[(audience, language)], ctx.book, audience, ctx.now)
        rendered = filled[language]
        languages.add(language)
        about = About(
            "statement",
            step_id,
            f"{statement.id}-v{draft.version}",
            statement=statement.id,
            version=draft.version,
            audience=audience,
            language=language,
        )
        for channel in recipient.channels:
            text = rendered.sms if channel == "sms" else rendered.text
            message = ctx.send(recipient.contact, channel, text, rendered.subject, about)
            if message:
                messages.append(message)
    promised = None
    for language in sorted(languages):
        rendered = filled[language]
        if promises(draft.texts[(audience, language)]):
            promised = ctx.now + update_interval(ctx.book, audience)
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
                sms=rendered.sms,
                promised=promised,
                facts=draft.facts,
            )
        )
    what = "correction" if draft.correction else "released"
    approvals = ", ".join(f"{r}: {ctx.name(p)}" for r, p in approved_by) or "no approval needed"
    ctx.note(
        f"{spec.title} v{draft.version} {what} to {ctx.book.audiences[audience].title}: "
        f"{len(messages)} messages in {', '.join(sorted(languages)) or 'no language'} "
        f"({approvals})"
    )
    if languages:
        promised_updates.heard(ctx, audience, statement, draft, promised)
    return messages


def release_correction(ctx: Ctx, statement: StatementState) -> None:
    """A correction goes to every audience that heard the statement, at once."""
    draft = _draft(statement)
    audiences = list(dict.fromkeys(r.audience for r in statement.releases if not r.correction))
    for audience in audiences:
        release_audience(ctx, f"correct:{statement.id}", statement, draft, audience)


def next_audience_due(ctx: Ctx, step: Step, state: StepState) -> None:
    if lc.releasing(state):
        if state.unsettled or step.hold is None:
            ctx.note(f"{step.title}: next audience goes after {_span(STAFF_FIRST_HOLD)}")
        else:
            ctx.note(f"{step.title}: next audience goes after the hold of {_span(step.hold)}")
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
        audience_settled(ctx, ctx.book.step(message.step), state)


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
    if message.purpose == "approval" and message.code:
        if draft.version != message.version:
            return None, ""
        language = message.language or "en"
        return approval_text(ctx.inc, statement.id, draft, message.code, channel, language), (
            f"[warroom] Approve {book.statements[statement.id].title} v{draft.version}"
        )
    if message.purpose != "statement":
        return None, ""
    # the text as released to this audience: filled in at its release, never again
    released = [
        r
        for r in statement.releases
        if (r.version, r.audience, r.language)
        == (message.version, message.audience, message.language)
    ]
    if not released:
        return None, ""
    if channel != "email" and draft.version != message.version:
        return None, ""
    first = released[0]
    return (first.sms if channel == "sms" else first.text), first.subject
