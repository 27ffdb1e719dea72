"""Closing: an incident is resolved (or cancelled as a false alarm), every wake-up is
cancelled and every open step stops; once resolved, it is closed."""

from __future__ import annotations

from warroom.engine import lifecycles as lc
from warroom.engine.context import Ctx
from warroom.engine.events import Cancelled, Closed, Resolved
from warroom.engine.registry import Admit, handles
from warroom.errors import CommandRejected


@handles(Resolved)
def resolved(ctx: Ctx, event: Resolved) -> None:
    lc.fire(lc.INCIDENT, "resolve", ctx.inc, f"incident {ctx.inc.id}")
    wind_down(ctx, "resolved", event.by, event.summary)


@handles(Cancelled)
def cancelled(ctx: Ctx, event: Cancelled) -> None:
    if not event.reason.strip():
        raise CommandRejected("cancelling needs a reason")
    lc.fire(lc.INCIDENT, "cancel", ctx.inc, f"incident {ctx.inc.id}")
    wind_down(ctx, "cancelled", event.by, event.reason)


@handles(Closed, Admit.AFTER_RESOLUTION)
def closed(ctx: Ctx, event: Closed) -> None:
    if not lc.can(lc.INCIDENT, "close", ctx.inc):
        raise CommandRejected(lc.cannot(lc.INCIDENT, "close", ctx.inc, f"incident {ctx.inc.id}"))
    lc.fire(lc.INCIDENT, "close", ctx.inc, f"incident {ctx.inc.id}")
    ctx.note(f"Incident closed by {event.by or 'unknown'}")


def wind_down(ctx: Ctx, how: str, by: str, why: str) -> None:
    for timer in list(ctx.inc.timers):
        ctx.cancel_timer(timer)
    for step in ctx.book.steps:
        state = ctx.inc.steps[step.id]
        if lc.can(lc.STEP, "cancel", state):
            lc.fire(lc.STEP, "cancel", state, f"step {step.id}")
    ctx.note(f"Incident {how} by {by or 'unknown'}" + (f": {why}" if why else ""))
