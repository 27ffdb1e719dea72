"""Activation and assignment: an incident starts from its playbook at a level, roles go to
people from the roster, and a person can be put into a role by hand.
"""

from __future__ import annotations

from warroom.engine import approval, eligibility, handover, identity, paging, steps, versions
from warroom.engine import lifecycles as lc
from warroom.engine.assignment import assign_roles, role_candidates
from warroom.engine.context import Ctx
from warroom.engine.events import Activated, Reassigned
from warroom.engine.lifecycles import StepPhase
from warroom.engine.registry import Admit, handles
from warroom.engine.state import RoleState, StatementState, StepState
from warroom.errors import CommandRejected
from warroom.specs import one_of


@handles(Activated, Admit.ALWAYS)
def activated(ctx: Ctx, event: Activated) -> None:
    inc, book = ctx.inc, ctx.book
    if not lc.can(lc.INCIDENT, "activate", inc):
        raise CommandRejected(f"incident {inc.id} is already {inc.state}")
    level = ctx.known_level(event.level)
    facts = versions.checked_facts(ctx, event.facts, activation=True)
    lc.fire(lc.INCIDENT, "activate", inc, f"incident {inc.id}")
    inc.level, inc.facts, inc.started_at = level, facts, ctx.now
    inc.exercise, inc.participants = event.exercise, tuple(event.participants)
    inc.secret = event.secret
    inc.keeps_promises = event.keeps_promises
    kind = "Exercise" if event.exercise else "Incident"
    ctx.note(
        f"{kind} {inc.id} activated from playbook {book.id} v{book.version} at level "
        f"{level} by {event.by or 'unknown'}"
    )
    ctx.refresh_exclusions()
    for role, assignment in assign_roles(book, inc.roster, ctx.now, level, facts).items():
        person = assignment.person.id if assignment.person else None
        inc.roles[role] = RoleState(role, person, [person] if person else [])
        ctx.note(f"{book.roles[role].title}: {assignment.explanation}")
    for sid in book.statements:
        inc.statements[sid] = StatementState(sid)
    for step in book.steps:
        applies = book.applies(step.from_level, level)
        phase = StepPhase.WAITING if applies else StepPhase.DORMANT
        inc.steps[step.id] = StepState(step.id, phase.value)
        if applies:
            ctx.arm_due(step)
    steps.advance(ctx)


@handles(Reassigned)
def reassigned(ctx: Ctx, event: Reassigned) -> None:
    book, inc = ctx.book, ctx.inc
    if event.role not in book.roles:
        raise CommandRejected(
            f"unknown role {event.role!r} (expected one of: {one_of(book.roles)})"
        )
    person = ctx.known_person(event.person)
    holder = inc.roles[event.role]
    if holder.person == event.person:
        raise CommandRejected(f"{person.name} already holds {event.role}")
    previous = ctx.name(holder.person)
    demands = [
        c
        for c in role_candidates(book, inc.roster, event.role, ctx.now, inc.level, inc.facts)
        if c.person.id == event.person
    ]
    caveat = f"; note: {', '.join(demands[0].problems)}" if demands and demands[0].problems else ""
    refusals = eligibility.refusals(ctx, event.role, event.person)
    if refusals and not event.force:
        raise CommandRejected(
            f"cannot assign {event.role} to {person.name}: {'; '.join(refusals)} "
            "(--force --reason TEXT overrides, on the record)"
        )
    if event.force and not event.reason.strip():
        raise CommandRejected(f"`assign {event.role} {event.person} --force` needs --reason")
    if refusals:
        caveat += f"; forced over: {'; '.join(refusals)} ({event.reason.strip()})"
    was = holder.person
    holder.person, holder.acked_at = event.person, None
    holder.tried.append(event.person)
    ctx.note(
        f"{book.roles[event.role].title}: {previous} -> {person.name}, assigned by "
        f"{event.by or 'unknown'}{caveat}{identity.entered(ctx, event, event.by)}"
    )
    paging.page_new_holder(ctx, event.role, event.person)
    if handover.speaks_for_us(ctx, event.role) and handover.anything_said(ctx):
        handover.brief(ctx, event.role, event.person, was)
    approval.ask_new_holder(ctx, event.role, was)
