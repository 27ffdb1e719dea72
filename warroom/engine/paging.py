"""Paging and escalation: who is paged for a step, which acknowledgement answers which page,
and what happens when nobody answers (the ladder: next candidate, more people, a higher level,
repeated pages).
"""

from __future__ import annotations

from collections.abc import Iterable

from warroom.durations import format_duration as _span
from warroom.engine import approval, eligibility, handover, identity, levels, steps
from warroom.engine import lifecycles as lc
from warroom.engine.assignment import role_candidates
from warroom.engine.context import Ctx
from warroom.engine.effects import Timer, TimerKind
from warroom.engine.events import Acknowledged, EscalationRequested
from warroom.engine.notices import page_text
from warroom.engine.registry import handles
from warroom.engine.state import About, StepState
from warroom.errors import CommandRejected
from warroom.playbook.model import Escalation, Step
from warroom.roster.model import Contact
from warroom.specs import one_of


def page_step(ctx: Ctx, step: Step, state: StepState) -> None:
    lc.fire(lc.STEP, "page", state, f"step {step.id}")
    state.page_round += 1
    paged = 0
    for audience in step.page:
        for role in ctx.book.audiences[audience].roles:
            person = ctx.inc.holder(role)
            if person is None:
                ctx.note(f"{step.title}: nobody holds {role} to page")
                continue
            state.paged[person] = role
            paged += page(ctx, step, state, ctx.inc.roster.person(person).contact(), role)
        for recipient in ctx.audience(audience, roles=False):
            key = recipient.contact.person_id or _address(recipient.contact)
            state.paged.setdefault(key, None)
            paged += page(ctx, step, state, recipient.contact, None, recipient.channels)
    if not paged:
        ctx.note(f"{step.title}: nobody could be paged; escalation will go on")
    if step.escalations:
        first = step.escalations[0]
        ctx.start_timer(Timer(TimerKind.ESCALATION, step.id), ctx.now + first.after, "escalation")


def page(
    ctx: Ctx,
    step: Step,
    state: StepState,
    contact: Contact,
    role: str | None,
    channels: Iterable[str] | None = None,
) -> int:
    """Page one person on each channel they have; returns how many messages went out."""
    role_title = ctx.book.roles[role].title if role else "escalation contact"
    if contact.person_id:
        if (step.id, contact.person_id) in ctx.paged_now:
            # paged a moment ago by this same decision (a rung's target who also takes a role
            # at the level it raises): one page, which their answer now covers for the role too
            if role:
                ctx.note(f"{step.title}: {contact.name} already paged; now also {role_title}")
            return 0
        ctx.paged_now.add((step.id, contact.person_id))
        state.acked.pop(contact.person_id, None)  # a new page needs its own answer
    code = ctx.code()
    about = About("page", step.id, f"page{state.page_round}-{code}", code=code)
    subject = f"[warroom] {ctx.book.title}: {step.title}"
    sent = 0
    for channel in channels or contact.channels():
        text = page_text(ctx.inc, step, role_title, code, contact.language or "en", channel)
        sent += bool(ctx.send(contact, channel, text, subject, about))
    if sent:
        who = contact.name + (f" ({role_title})" if role else "")
        ctx.note(f"{step.title}: paged {who}, code {code}")
    return sent


def _address(contact: Contact) -> str:
    return contact.phone or contact.email or contact.name


def paged_roles(ctx: Ctx, step: Step) -> list[str]:
    return [r for a in step.page for r in ctx.book.audiences[a].roles]


def unacknowledged_roles(ctx: Ctx, step: Step) -> list[str]:
    return [r for r in paged_roles(ctx, step) if ctx.inc.roles[r].acked_at is None]


def page_complete(ctx: Ctx, step: Step, state: StepState) -> bool:
    """Acknowledged when each paged role has been acknowledged by whoever holds it now and,
    if the page also went to groups or people, one of them (or an escalation target) has.

    An escalation target's answer alone does not finish the step: the CEO saying "seen" is
    not the security lead having the page. It completes a role only when the ladder moved
    that role to them, or when they take it over (`ack --take-over ROLE`)."""
    if unacknowledged_roles(ctx, step):
        return False
    others = [p for p, r in state.paged.items() if r is None and p not in state.targets]
    answered = [*others, *state.targets]
    return not others or any(p in state.acked for p in answered)


@handles(Acknowledged)
def acknowledged(ctx: Ctx, event: Acknowledged) -> None:
    step_id = locate_page(ctx, event.person, event.step, event.code)
    step, state = ctx.book.step(step_id), ctx.inc.steps[step_id]
    if event.take_over is not None:
        take_over(ctx, step, event)
    state.acked[event.person] = ctx.now
    held = [r for r in paged_roles(ctx, step) if ctx.inc.holder(r) == event.person]
    took = f" ({', '.join(ctx.book.roles[r].title for r in held)})" if held else ""
    entered = identity.entered(ctx, event, event.person)
    ctx.note(f"{step.title}: {ctx.name(event.person)}{took} acknowledged{entered}")
    for role in held:
        ctx.inc.roles[role].acked_at = ctx.now
    if page_complete(ctx, step, state):
        if step.ack_within and state.started_at is not None:
            waited = ctx.now - state.started_at
            verdict = "met" if waited <= step.ack_within else "missed"
            ctx.note(
                f"{step.title}: acknowledged after {_span(waited)} "
                f"(ack within {_span(step.ack_within)} {verdict}); paging stops"
            )
        steps.finish(ctx, step, state, "acknowledge")
        steps.advance(ctx)
    else:
        waiting = unacknowledged_roles(ctx, step)
        if waiting:
            titles = ", ".join(ctx.book.roles[r].title for r in waiting)
            ctx.note(f"{step.title}: still waiting for {titles}")


def take_over(ctx: Ctx, step: Step, event: Acknowledged) -> None:
    """`ack --take-over ROLE`: someone paged for this step takes a role it pages, on the
    record, so their answer completes it. The role's rules (four eyes, required tags) hold
    as for `assign`; the lead can still `assign --force`."""
    role = event.take_over or ""
    if role not in paged_roles(ctx, step):
        raise CommandRejected(
            f"{step.title} does not page the role {role!r} "
            f"(expected one of: {one_of(paged_roles(ctx, step))})"
        )
    holder = ctx.inc.roles[role]
    if holder.person == event.person:
        raise CommandRejected(f"{ctx.name(event.person)} already holds {role}")
    refusals = eligibility.refusals(ctx, role, event.person)
    if refusals:
        raise CommandRejected(
            f"{ctx.name(event.person)} cannot take over {role}: {'; '.join(refusals)} "
            f"(the lead can `warroom assign {role} {event.person} --force --reason TEXT`)"
        )
    was = holder.person
    previous = ctx.name(was)
    holder.person, holder.acked_at = event.person, None
    holder.tried.append(event.person)
    ctx.inc.steps[step.id].paged[event.person] = role
    ctx.note(
        f"{ctx.book.roles[role].title}: {ctx.name(event.person)} takes over from {previous} "
        f"(ack --take-over){identity.entered(ctx, event, event.person)}"
    )
    if handover.speaks_for_us(ctx, role) and handover.anything_said(ctx):
        handover.brief(ctx, role, event.person, was)
    approval.ask_new_holder(ctx, role, was)


def open_pages(ctx: Ctx, person: str) -> list[str]:
    """The steps waiting for this person's acknowledgement."""
    return [
        sid
        for sid, s in ctx.inc.steps.items()
        if lc.awaits_acknowledgement(s)
        and person in s.paged
        and person not in s.acked
        and still_paged(ctx, s, person)
    ]


def still_paged(ctx: Ctx, state: StepState, person: str) -> bool:
    """A person paged for a role that has since moved to someone else is no longer asked:
    their answer cannot acknowledge for a role they do not hold. An escalation target may
    still answer (and take a role over)."""
    role = state.paged.get(person)
    return role is None or ctx.inc.holder(role) == person or person in state.targets


def locate_page(ctx: Ctx, person: str, step_id: str | None, code: str | None) -> str:
    """Which open page an acknowledgement answers; ambiguity is refused, not guessed."""
    if person not in ctx.inc.roster.people and not any(
        person in s.paged for s in ctx.inc.steps.values()
    ):
        ctx.known_person(person)
    if code is not None:
        message = next(
            (m for m in ctx.inc.messages.values() if m.code == code and m.purpose == "page"),
            None,
        )
        if message is None or message.person != person:
            raise CommandRejected(f"code {code!r} was not sent to {ctx.name(person)}")
        step_id = message.step
    waiting = open_pages(ctx, person)
    if step_id is not None:
        if step_id not in ctx.inc.steps:
            raise CommandRejected(
                f"unknown step {step_id!r} (expected one of: {one_of(ctx.inc.steps)})"
            )
        if step_id not in waiting:
            raise CommandRejected(
                f"{ctx.name(person)} has no open page for step {step_id!r}"
                + (f" (open: {', '.join(waiting)})" if waiting else "")
            )
        return step_id
    if not waiting:
        moved = [
            role
            for s in ctx.inc.steps.values()
            if lc.awaits_acknowledgement(s) and person not in s.acked
            for role in [s.paged.get(person)]
            if role is not None and not still_paged(ctx, s, person)
        ]
        if moved:
            raise CommandRejected(
                f"{ctx.name(person)} no longer holds {moved[0]} (now "
                f"{ctx.name(ctx.inc.holder(moved[0]))}): their acknowledgement cannot answer "
                "for it"
            )
        raise CommandRejected(f"{ctx.name(person)} was not paged, or has already acknowledged")
    if len(waiting) > 1:
        raise CommandRejected(
            f"{ctx.name(person)} has open pages for {', '.join(waiting)}; say which "
            "(--step, or the code from the page)"
        )
    return waiting[0]


# -- escalation -------------------------------------------------------------------------------


def escalation_due(ctx: Ctx, step: Step, state: StepState) -> None:
    if lc.awaits_acknowledgement(state):
        escalate(ctx, step, state)


@handles(EscalationRequested)
def escalation_requested(ctx: Ctx, event: EscalationRequested) -> None:
    waiting = [s for s in ctx.book.steps if lc.awaits_acknowledgement(ctx.inc.steps[s.id])]
    if event.step is not None:
        chosen = [s for s in waiting if s.id == event.step]
        if not chosen:
            raise CommandRejected(
                f"step {event.step!r} is not waiting for acknowledgement "
                f"(waiting: {', '.join(s.id for s in waiting) or 'none'})"
            )
    else:
        chosen = waiting[:1]
    if not chosen or not chosen[0].escalations:
        raise CommandRejected("no step with an escalation ladder is waiting for acknowledgement")
    step = chosen[0]
    ctx.note(f"{step.title}: escalated by hand by {event.by or 'unknown'}")
    escalate(ctx, step, ctx.inc.steps[step.id])


def escalate(ctx: Ctx, step: Step, state: StepState) -> None:
    """Climb one rung of the ladder; past the last rung, a `repeat` keeps re-paging."""
    last = len(step.escalations) - 1
    if lc.can(lc.STEP, "escalate", state):  # the first rung; later ones stay escalated
        lc.fire(lc.STEP, "escalate", state, f"step {step.id}")
    if state.rung > last:
        repage(ctx, step, state)
        arm_repeat(ctx, step, state)
        return
    rung = step.escalations[state.rung]
    if rung.next_candidate:
        next_candidates(ctx, step, state)
    if rung.page:
        page_targets(ctx, step, state, rung)
    if rung.repeat is not None:
        repage(ctx, step, state)
    if rung.raise_level is not None:
        levels.raise_level(ctx, rung.raise_level, f"{step.title} not acknowledged", proposed=True)
    state.rung += 1
    if state.rung > last and rung.repeat is None:
        waiting = unacknowledged_roles(ctx, step)
        if waiting:  # no dead end: the step stays open, and the lead can put someone in
            ctx.note(
                f"{step.title}: the escalation ladder has ended with "
                f"{', '.join(ctx.book.roles[r].title for r in waiting)} not acknowledged; the "
                f"step stays open (`warroom assign {waiting[0]} PERSON`)"
            )
    if state.rung <= last:
        # counted from the page, not from this wake-up: a worker that was down for a while
        # catches up on the ladder instead of pushing every later rung back
        paged_at = state.started_at or ctx.now
        following = step.escalations[state.rung]
        timer = Timer(TimerKind.ESCALATION, step.id)
        ctx.start_timer(timer, paged_at + following.after, "escalation")
    elif rung.repeat is not None:
        arm_repeat(ctx, step, state)


def arm_repeat(ctx: Ctx, step: Step, state: StepState) -> None:
    """The next repeat on the ladder's own beat (page time + after + k * repeat), and never
    in the past: a worker back after an hour re-pages once, not six times."""
    rung = step.escalations[-1]
    if rung.repeat is None:
        return
    base = (state.started_at or ctx.now) + rung.after
    slots = (ctx.now - base) // rung.repeat + 1
    timer = Timer(TimerKind.ESCALATION, step.id)
    ctx.start_timer(timer, base + slots * rung.repeat, "repeat page")


def next_candidates(ctx: Ctx, step: Step, state: StepState) -> None:
    inc = ctx.inc
    for role in unacknowledged_roles(ctx, step):
        holder = inc.roles[role]
        silent = ctx.name(holder.person)
        candidates = role_candidates(ctx.book, inc.roster, role, ctx.now, inc.level, inc.facts)
        taken = {s.person for r, s in inc.roles.items() if r != role}
        following = [c for c in candidates if c.eligible and c.person.id not in holder.tried]
        fresh = [c for c in following if c.person.id not in taken] or [
            c for c in following if not eligibility.refusals(ctx, role, c.person.id)
        ]  # someone with another role, but never an approver of one statement twice
        fresh = fresh or following
        if not fresh:
            ctx.note(f"{step.title}: no further candidate for {role}; {silent} still paged")
            continue
        chosen = fresh[0]
        was = holder.person
        holder.person = chosen.person.id
        holder.tried.append(chosen.person.id)
        state.paged[chosen.person.id] = role
        rank = candidates.index(chosen) + 1
        ctx.note(
            f"{ctx.book.roles[role].title}: {silent} did not acknowledge; moves to "
            f"{chosen.person.name} (candidate {rank}, {chosen.selector})"
        )
        page(ctx, step, state, chosen.person.contact(), role)
        if handover.speaks_for_us(ctx, role) and handover.anything_said(ctx):
            handover.brief(ctx, role, chosen.person.id, was)
        approval.ask_new_holder(ctx, role, was)


def page_targets(ctx: Ctx, step: Step, state: StepState, rung: Escalation) -> None:
    selectors = []
    for selector in rung.page:
        if selector.startswith("role:"):
            holder = ctx.inc.holder(selector[5:])
            if holder:
                selectors.append(holder)
        else:
            selectors.append(selector)
    for candidate in ctx.inc.roster.candidates(selectors, ctx.now):
        if not candidate.eligible:
            ctx.note(
                f"{step.title}: not paging {candidate.person.name}: "
                + ", ".join(candidate.problems)
            )
            continue
        if candidate.person.id not in state.paged:
            state.paged[candidate.person.id] = None
        if candidate.person.id not in state.targets:
            state.targets.append(candidate.person.id)
        page(ctx, step, state, candidate.person.contact(), None)


def repage(ctx: Ctx, step: Step, state: StepState) -> None:
    state.page_round += 1
    waiting = [p for p in state.paged if p not in state.acked]
    current = {ctx.inc.holder(r) for r in paged_roles(ctx, step)}
    for person in waiting:
        role = state.paged[person]
        if role is not None and person not in current:
            continue  # replaced by the next candidate; they are not chased any more
        found = ctx.inc.roster.people.get(person)
        if found is not None:
            page(ctx, step, state, found.contact(), role)


def page_new_holder(ctx: Ctx, role_id: str, person_id: str) -> bool:
    """Whoever takes a role over is paged by every step still waiting on that role; returns
    whether any step did."""
    person = ctx.inc.roster.person(person_id)
    paged = False
    for step in ctx.book.steps:
        state = ctx.inc.steps[step.id]
        if lc.awaits_acknowledgement(state) and role_id in paged_roles(ctx, step):
            state.paged[person_id] = role_id
            page(ctx, step, state, person.contact(), role_id)
            paged = True
    return paged
