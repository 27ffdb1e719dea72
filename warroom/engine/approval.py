"""Approval: who is asked to approve a statement version, what counts as their answer, and
what a complete approval (or a rejection) sets moving.

Approval is always of one version's exact texts: a fact that changes the texts makes a new
version, which is asked for afresh (see `versions`).
"""

from __future__ import annotations

from warroom.engine import identity, release, steps
from warroom.engine import lifecycles as lc
from warroom.engine.context import Ctx
from warroom.engine.events import Approved, Rejected
from warroom.engine.notices import approval_text, rejected_text
from warroom.engine.registry import handles
from warroom.engine.state import About, Draft, Incident, StatementState
from warroom.errors import CommandRejected
from warroom.playbook.model import Action, Step


def request_approvals(ctx: Ctx, statement: StatementState, step: Step) -> None:
    spec = ctx.book.statements[statement.id]
    draft = statement.draft
    if draft is None or draft.requested:
        return
    draft.requested = True
    for role in spec.approvers:
        if role in draft.approvals:
            continue
        person = ctx.inc.holder(role)
        if person is None:
            ctx.note(f"{spec.title}: nobody holds {role} to approve")
            continue
        ask(ctx, statement, step, role, person)


def ask_new_holder(ctx: Ctx, role: str, previous: str | None) -> None:
    """Whoever takes an approver role over is asked for every version waiting on that role:
    a second person assigned for four eyes must be asked, or the statement waits for ever.

    If the previous holder's approval was counted for this role while they still hold
    another approver role of the statement, it now counts for that one: their word stands,
    and the role that changed hands is asked of its new holder."""
    for statement in ctx.inc.statements.values():
        spec = ctx.book.statements[statement.id]
        draft = statement.draft
        person = ctx.inc.holder(role)
        if draft is not None and previous is not None and draft.approvals.get(role) == previous:
            kept = [
                r
                for r in spec.approvers
                if r != role and ctx.inc.holder(r) == previous and r not in draft.approvals
            ]
            if kept:
                del draft.approvals[role]
                draft.approvals[kept[0]] = previous
                ctx.note(
                    f"{spec.title} v{draft.version}: {ctx.name(previous)}'s approval now "
                    f"counts for {kept[0]}; {role} is asked of {ctx.name(person)}"
                )
        if (
            person is None
            or role not in spec.approvers
            or draft is None
            or not draft.requested
            or role in draft.approvals
            or draft.version in {r.version for r in statement.releases}
        ):
            continue
        ask(ctx, statement, approving_step(ctx, statement.id), role, person)


def ask(ctx: Ctx, statement: StatementState, step: Step, role: str, person: str) -> None:
    """Send one approver the request for the draft in hand, with their own code."""
    spec = ctx.book.statements[statement.id]
    draft = _requested_draft(statement)
    contact = ctx.inc.roster.person(person).contact()
    code = ctx.code()
    about = About(
        "approval",
        step.id,
        f"approve-{statement.id}-v{draft.version}",
        code=code,
        statement=statement.id,
        version=draft.version,
    )
    subject = f"[warroom] Approve {spec.title} v{draft.version}"
    for channel in contact.channels():
        text = approval_text(ctx.inc, statement.id, draft, code, channel, contact.language or "en")
        ctx.send(contact, channel, text, subject, about)
    ctx.note(
        f"{spec.title} v{draft.version}: approval requested from {contact.name} "
        f"({ctx.book.roles[role].title}), code {code}"
    )


def _answering(ctx: Ctx, statement_id: str, person: str, code: str | None) -> list[str]:
    """The roles this person answers for on the version waiting for approval; a command that
    cannot be such an answer is refused, naming why."""
    statement, spec = ctx.known_statement(statement_id)
    draft = statement.draft
    if draft is None or not draft.requested:
        raise CommandRejected(f"{spec.title} is not waiting for approval")
    if draft.version in {r.version for r in statement.releases}:
        raise CommandRejected(
            f"{spec.title} v{draft.version} is already released; "
            "use `warroom correct` to issue a correction"
        )
    roles = [r for r in spec.approvers if ctx.inc.holder(r) == person]
    if not roles:
        holders = ", ".join(f"{r}: {ctx.name(ctx.inc.holder(r))}" for r in spec.approvers)
        raise CommandRejected(f"{ctx.name(person)} is not an approver of {spec.title} ({holders})")
    pending = [r for r in roles if r not in draft.approvals]
    if person in draft.approvals.values() or not pending:
        second = (
            f"; {', '.join(pending)} needs a second person (four eyes): "
            f"`warroom assign {pending[0]} PERSON`"
            if pending
            else ""
        )
        raise CommandRejected(
            f"{ctx.name(person)} has already approved {spec.title} v{draft.version}{second}"
        )
    if code is not None:
        ok = any(
            m.code == code and m.person == person and m.statement == statement_id
            for m in ctx.inc.messages.values()
        )
        if not ok:
            raise CommandRejected(f"code {code!r} was not sent to {ctx.name(person)}")
    return pending[:1]  # four eyes: one person's word answers for one role


def _requested_draft(statement: StatementState) -> Draft:
    assert statement.draft is not None, "only a drafted statement is approved or rejected"
    return statement.draft


@handles(Approved)
def approved(ctx: Ctx, event: Approved) -> None:
    roles = _answering(ctx, event.statement, event.person, event.code)
    entered = identity.answer_on_behalf(ctx, event, event.person, "approve", event.reason)
    statement, spec = ctx.known_statement(event.statement)
    draft = _requested_draft(statement)
    for role in roles:
        draft.approvals[role] = event.person
    ctx.note(
        f"{spec.title} v{draft.version}: approved by {ctx.name(event.person)} "
        f"({', '.join(ctx.book.roles[r].title for r in roles)}){entered}"
    )
    if statement.approved(spec.approvers):
        approval_complete(ctx, statement)
        steps.advance(ctx)
    else:
        lacking = second_person_needed(ctx.inc, statement.id)
        if lacking:
            ctx.note(
                f"{spec.title} cannot be released until a second person is assigned: "
                f"{ctx.name(ctx.inc.holder(lacking[0]))} also holds {', '.join(lacking)}"
            )


def second_person_needed(inc: Incident, statement_id: str) -> list[str]:
    """Approver roles of a statement whose holder already approves it for another role: the
    statement cannot be released until someone else is assigned to them (four eyes)."""
    spec = inc.playbook.statements[statement_id]
    seen: set[str] = set()
    lacking = []
    for role in spec.approvers:
        holder = inc.holder(role)
        if holder is None:
            continue
        if holder in seen:
            lacking.append(role)
        seen.add(holder)
    return lacking


def approval_complete(ctx: Ctx, statement: StatementState) -> None:
    """Approve steps of this statement finish; a correction goes out at once. Send steps
    waiting for the approval release on the next `advance`."""
    spec = ctx.book.statements[statement.id]
    draft = _requested_draft(statement)
    by = ", ".join(f"{ctx.name(p)} ({r})" for r, p in draft.approvals.items())
    ctx.note(f"{spec.title} v{draft.version}: every approver has approved ({by})")
    for step in ctx.book.steps:
        state = ctx.inc.steps[step.id]
        if (
            step.action is Action.APPROVE
            and step.statement == statement.id
            and lc.awaits_approval(state)
        ):
            steps.finish(ctx, step, state, "approve")
    if draft.correction:
        release.release_correction(ctx, statement)
        release.resume_after_approval(ctx, statement)


@handles(Rejected)
def rejected(ctx: Ctx, event: Rejected) -> None:
    if not event.reason.strip():
        raise CommandRejected("a rejection needs a reason (--reason), so the owner can revise")
    _answering(ctx, event.statement, event.person, event.code)
    entered = identity.answer_on_behalf(ctx, event, event.person, "reject", event.reason)
    statement, spec = ctx.known_statement(event.statement)
    draft = _requested_draft(statement)
    draft.rejections.append((event.person, event.reason))
    draft.approvals.clear()
    ctx.note(
        f"{spec.title} v{draft.version}: rejected by {ctx.name(event.person)}{entered}: "
        f"{event.reason}"
    )
    owner = ctx.inc.holder(spec.owner) if spec.owner else None
    if owner is not None:
        contact = ctx.inc.roster.person(owner).contact()
        text = rejected_text(
            spec.title, draft.version, ctx.name(event.person), event.reason, contact.language or ""
        )
        key = f"rejected-{statement.id}-v{draft.version}-{len(draft.rejections)}"
        subject = f"[warroom] {spec.title} rejected"
        ctx.notify(contact, f"statement:{statement.id}", text, subject, key)
        ctx.note(f"{spec.title}: sent back to its owner {contact.name}")
    draft.requested = False  # a new version (after a fact changes) is requested afresh


def approving_step(ctx: Ctx, statement_id: str) -> Step:
    """The step on whose behalf approval of a new version is asked for."""
    for action in (Action.APPROVE, Action.SEND):
        for step in ctx.book.steps:
            if step.statement == statement_id and step.action is action:
                return step
    return ctx.book.steps[0]
