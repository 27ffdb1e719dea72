"""Level changes: raising the level wakes the steps and audiences that start there and hands
roles to the people who take over at that level; lowering it withdraws nothing.

Only a person speaks for the organisation. A level raised by an escalation rung (silence) is
*proposed*: its pages go out at once, but steps that draft for or release to an outside
audience (`internal: false`, the default) wait until someone holding a role with
`confirms_level: true` confirms it (`warroom confirm-level`, or CONFIRM <code> by SMS to the
request they are sent). A level raised by a person (`warroom raise`) is not a proposal.
"""

from __future__ import annotations

from warroom.engine import approval, eligibility, handover, identity, paging, steps
from warroom.engine import lifecycles as lc
from warroom.engine.assignment import role_candidates
from warroom.engine.context import Ctx
from warroom.engine.events import LevelConfirmed, LevelLowered, LevelRaised
from warroom.engine.registry import handles
from warroom.engine.render import confirm_level_text
from warroom.engine.state import About, Incident
from warroom.errors import CommandRejected
from warroom.playbook.model import Action, Playbook, Step


@handles(LevelRaised)
def level_raised(ctx: Ctx, event: LevelRaised) -> None:
    level = ctx.known_level(event.level)
    if ctx.book.rank(level) <= ctx.book.rank(ctx.inc.level):
        if ctx.inc.proposed_level:
            raise CommandRejected(
                f"level {level!r} is not above the proposed level {ctx.inc.level!r}; a "
                f"proposed level is confirmed with `warroom confirm-level` by {confirmers(ctx)}"
            )
        raise CommandRejected(f"level {level!r} is not above the current level {ctx.inc.level!r}")
    raise_level(ctx, level, event.reason or f"raised by {event.by or 'unknown'}")


@handles(LevelLowered)
def level_lowered(ctx: Ctx, event: LevelLowered) -> None:
    level = ctx.known_level(event.level)
    if ctx.book.rank(level) >= ctx.book.rank(ctx.inc.level):
        raise CommandRejected(f"level {level!r} is not below the current level {ctx.inc.level!r}")
    inc = ctx.inc
    previous, inc.level = inc.level, level
    ctx.note(
        f"Level lowered from {previous} to {level} "
        f"({event.reason or 'by ' + (event.by or 'unknown')}); nothing sent is withdrawn"
    )
    if inc.proposed_level:
        if ctx.book.rank(level) <= ctx.book.rank(inc.confirmed_level):
            ctx.note(f"The proposed level {inc.proposed_level} is withdrawn")
            inc.proposed_level = inc.confirmed_level = ""
        else:
            inc.proposed_level = level
            ctx.note(f"Level {level} is still only proposed: nobody has confirmed it")


@handles(LevelConfirmed)
def level_confirmed(ctx: Ctx, event: LevelConfirmed) -> None:
    inc = ctx.inc
    proposed = inc.proposed_level
    if not proposed:
        raise CommandRejected(
            f"no level is proposed in incident {inc.id}; nothing to confirm "
            f"(the level is {inc.level})"
        )
    if event.level and event.level != proposed:
        ctx.known_level(event.level)
        raise CommandRejected(f"level {event.level!r} is not the one proposed ({proposed!r})")
    person = ctx.known_person(event.person)
    roles = [r for r in confirming_roles(ctx.book) if inc.holder(r) == person.id]
    if not roles:
        raise CommandRejected(
            f"{person.name} holds no role that confirms the level; {confirmers(ctx)} can"
        )
    if event.code is not None and not any(
        m.purpose == "level" and m.code == event.code and m.person == person.id
        for m in inc.messages.values()
        if m.key_part.startswith(f"confirm-{proposed}-")
    ):
        raise CommandRejected(
            f"code {event.code} does not confirm level {proposed} for {person.name}"
        )
    entered = identity.answer_on_behalf(ctx, event, person.id, "confirm-level", event.reason)
    inc.proposed_level = inc.confirmed_level = ""
    titles = ", ".join(ctx.book.roles[r].title for r in roles)
    ctx.note(
        f"Level {proposed} confirmed by {person.name} ({titles}){entered}; statements to "
        "outside audiences at this level go ahead"
    )
    steps.advance(ctx)


def confirming_roles(book: Playbook) -> list[str]:
    return [r for r, role in book.roles.items() if role.confirms_level]


def confirmers(ctx: Ctx) -> str:
    """Who may confirm a proposed level, for messages: "Crisis lead (Anna Kowalska)"."""
    named = [
        f"{ctx.book.roles[r].title} ({ctx.name(ctx.inc.holder(r))})"
        for r in confirming_roles(ctx.book)
    ]
    return " or ".join(named) or "nobody (no role in this playbook has `confirms_level`)"


def speaking_level(inc: Incident) -> str:
    """The level the organisation speaks at to outside audiences: the last one a person set."""
    return inc.confirmed_level if inc.proposed_level else inc.level


def speaks_outside(book: Playbook, step: Step) -> bool:
    """A send step to an outside audience, or an approve step for a statement sent to one."""
    if step.action is Action.PAGE:
        return False
    audiences = (
        step.to
        if step.action is Action.SEND
        else tuple(
            a
            for s in book.steps
            if s.action is Action.SEND and s.statement == step.statement
            for a in s.to
        )
    )
    return any(not book.audiences[a].internal for a in audiences)


def waits_for_confirmation(inc: Incident, step: Step) -> bool:
    """The step exists only at a level nobody has confirmed, and speaks outside: it waits."""
    book = inc.playbook
    return (
        bool(inc.proposed_level)
        and not book.applies(step.from_level, inc.confirmed_level)
        and speaks_outside(book, step)
    )


def raise_level(ctx: Ctx, level: str, reason: str, *, proposed: bool = False) -> None:
    """Raise to `level`: by a person, or (`proposed`) by an escalation rung's silence."""
    inc = ctx.inc
    if ctx.book.rank(level) <= ctx.book.rank(inc.level):
        return
    previous, inc.level = inc.level, level
    if not proposed:
        if inc.proposed_level:
            ctx.note(f"The proposed level {inc.proposed_level} is superseded")
        inc.proposed_level = inc.confirmed_level = ""
        ctx.note(f"Level raised from {previous} to {level} ({reason})")
    else:
        if not inc.proposed_level:
            inc.confirmed_level = previous
        inc.proposed_level = level
        held = [s.title for s in ctx.book.steps if waits_for_confirmation(inc, s)]
        ctx.note(
            f"Level {level} proposed, not confirmed ({reason}): its pages go out; "
            + (
                f"{'; '.join(held)} wait until {confirmers(ctx)} confirms it"
                if held
                else "nothing for outside audiences waits on it"
            )
            + " (`warroom confirm-level`)"
        )
        ask_to_confirm(ctx, level)
    take_over_tiers(ctx, previous, level)
    for step in ctx.book.steps:
        state = ctx.inc.steps[step.id]
        if lc.dormant(state) and ctx.book.applies(step.from_level, level):
            lc.fire(lc.STEP, "wake", state, f"step {step.id}")
            ctx.note(f"{step.title}: now part of the incident (from level {step.from_level})")
            ctx.arm_due(step)
    steps.advance(ctx)


def take_over_tiers(ctx: Ctx, previous: str, level: str) -> None:
    """A tier that starts at the new level (the CEO speaks at crisis) takes the role over, if
    its first choice can; the person replaced is told on the timeline, not dropped."""
    book = ctx.book
    for role_id, role in book.roles.items():
        fresh = [
            t
            for t in role.tiers
            if t.from_level and book.rank(previous) < book.rank(t.from_level) <= book.rank(level)
        ]
        if not fresh:
            continue
        holder = ctx.inc.roles[role_id]
        candidates = role_candidates(book, ctx.inc.roster, role_id, ctx.now, level, ctx.inc.facts)
        tier_people = {p for t in fresh for p in t.pick}
        chosen = next((c for c in candidates if c.eligible and c.selector in tier_people), None)
        if chosen is None or chosen.person.id == holder.person:
            continue
        clash = eligibility.refusals(ctx, role_id, chosen.person.id)
        if clash and holder.person is not None:  # four eyes: the current holder stays
            ctx.note(
                f"{role.title}: at level {level}, {chosen.person.name} does not take over "
                f"from {ctx.name(holder.person)}: {'; '.join(clash)}"
            )
            continue
        ctx.note(
            f"{role.title}: at level {level}, {chosen.person.name} takes over from "
            f"{ctx.name(holder.person)} ({chosen.selector})"
        )
        was = holder.person
        holder.person, holder.acked_at = chosen.person.id, None
        holder.tried.append(chosen.person.id)
        paged = paging.page_new_holder(ctx, role_id, chosen.person.id)
        if handover.speaks_for_us(ctx, role_id):
            handover.brief(ctx, role_id, chosen.person.id, was)
        elif not paged:
            tell_new_holder(ctx, role_id, chosen.person.id, level)
        approval.ask_new_holder(ctx, role_id, was)


def tell_new_holder(ctx: Ctx, role_id: str, person_id: str, level: str) -> None:
    """No step is paging for the role any more: the new holder is told, not left unaware."""
    contact = ctx.inc.roster.person(person_id).contact()
    title = ctx.book.roles[role_id].title
    text = (
        f"[warroom] {ctx.book.title}, incident {ctx.inc.id}, now at level {level}: "
        f"you are the {title}. `warroom status` shows where things stand."
    )
    key = f"takeover-{role_id}-{level}"
    ctx.notify(contact, f"role:{role_id}", text, f"[warroom] You are now {title}", key)


def ask_to_confirm(ctx: Ctx, level: str) -> None:
    """Ask each holder of a role that confirms levels, on every channel, with a reply code."""
    inc = ctx.inc
    for role_id in confirming_roles(ctx.book):
        person_id = inc.holder(role_id)
        if person_id is None:
            ctx.note(f"{ctx.book.roles[role_id].title}: nobody holds it to confirm level {level}")
            continue
        contact = inc.roster.person(person_id).contact()
        code = ctx.code()
        ctx.note(
            f"{ctx.book.roles[role_id].title}: {contact.name} asked to confirm level {level}, "
            f"code {code}"
        )
        for channel in contact.channels():
            text = confirm_level_text(inc, level, code, contact.language or "en", channel)
            about = About("level", f"level:{level}", f"confirm-{level}-{code}", code=code)
            ctx.send(contact, channel, text, f"[warroom] Confirm level {level}?", about)
