"""A person asking for an update now: the recurring steps that send to those audiences run
at once, and send to them even with nothing new (see `promised_updates`)."""

from __future__ import annotations

from warroom.engine import lifecycles as lc
from warroom.engine import steps
from warroom.engine.context import Ctx
from warroom.engine.effects import Timer, TimerKind
from warroom.engine.events import UpdateRequested
from warroom.engine.registry import handles
from warroom.errors import CommandRejected
from warroom.specs import one_of


@handles(UpdateRequested)
def update_requested(ctx: Ctx, event: UpdateRequested) -> None:
    recurring = [s for s in ctx.book.steps if s.every is not None]
    updated = list(dict.fromkeys(a for s in recurring for a in s.to))
    if not updated:
        raise CommandRejected(f"{ctx.book.id} has no recurring update step (a step with every:)")
    unknown = [a for a in event.audiences if a not in updated]
    if unknown:
        raise CommandRejected(
            f"no recurring update goes to {', '.join(unknown)} (expected one of: {one_of(updated)})"
        )
    asked = list(event.audiences) or updated
    ctx.inc.update_asked |= set(asked)
    titles = ", ".join(ctx.book.audiences[a].title for a in asked)
    ctx.note(f"Update asked for by {event.by or 'unknown'}: {titles}")
    for step in recurring:
        state = ctx.inc.steps[step.id]
        if set(step.to) & set(asked) and lc.done(state):
            ctx.cancel_timer(Timer(TimerKind.NEXT_UPDATE, step.id))
            steps.update_due(ctx, step, state)
