"""Level changes: raising the level wakes the steps and audiences that start there and hands
roles to the people who take over at that level; lowering it withdraws nothing.
"""

from __future__ import annotations

from warroom.engine import approval, eligibility, paging, steps
from warroom.engine import lifecycles as lc
from warroom.engine.assignment import role_candidates
from warroom.engine.context import Ctx
from warroom.engine.events import LevelLowered, LevelRaised
from warroom.engine.registry import handles
from warroom.errors import CommandRejected


@handles(LevelRaised)
def level_raised(ctx: Ctx, event: LevelRaised) -> None:
    level = ctx.known_level(event.level)
    if ctx.book.rank(level) <= ctx.book.rank(ctx.inc.level):
        raise CommandRejected(f"level {level!r} is not above the current level {ctx.inc.level!r}")
    raise_level(ctx, level, event.reason or f"raised by {event.by or 'unknown'}")


@handles(LevelLowered)
def level_lowered(ctx: Ctx, event: LevelLowered) -> None:
    level = ctx.known_level(event.level)
    if ctx.book.rank(level) >= ctx.book.rank(ctx.inc.level):
        raise CommandRejected(f"level {level!r} is not below the current level {ctx.inc.level!r}")
    previous, ctx.inc.level = ctx.inc.level, level
    ctx.note(
        f"Level lowered from {previous} to {level} "
        f"({event.reason or 'by ' + (event.by or 'unknown')}); nothing sent is withdrawn"
    )


def raise_level(ctx: Ctx, level: str, reason: str) -> None:
    if ctx.book.rank(level) <= ctx.book.rank(ctx.inc.level):
        return
    previous, ctx.inc.level = ctx.inc.level, level
    ctx.note(f"Level raised from {previous} to {level} ({reason})")
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
        if not paging.page_new_holder(ctx, role_id, chosen.person.id):
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
