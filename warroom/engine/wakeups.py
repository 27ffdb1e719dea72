"""Wake-ups: a timer the engine armed has fired. A wake-up whose token is no longer current
(re-armed or cancelled since) is stale and dropped; a current one goes to the concern that
armed it, by its kind."""

from __future__ import annotations

from collections.abc import Callable

from warroom.engine import deadlines, paging, promised_updates, release, steps
from warroom.engine.context import Ctx
from warroom.engine.effects import Timer, TimerKind
from warroom.engine.events import TimerFired
from warroom.engine.registry import Admit, handles
from warroom.engine.state import StepState
from warroom.playbook.model import Step

WAKE_UPS: dict[TimerKind, Callable[[Ctx, Step, StepState], None]] = {
    TimerKind.ESCALATION: paging.escalation_due,
    TimerKind.DUE: steps.sla_due,
    TimerKind.NEXT_UPDATE: steps.update_due,
    TimerKind.NEXT_AUDIENCE: release.next_audience_due,
}


@handles(TimerFired, Admit.ALWAYS)
def timer_fired(ctx: Ctx, event: TimerFired) -> None:
    timer = Timer.parse(event.timer)
    if timer is None or ctx.inc.timers.get(timer) != event.token or not ctx.inc.open:
        ctx.note(f"wake-up {event.timer} #{event.token} is stale; ignored")
        return
    del ctx.inc.timers[timer]
    if timer.kind in (TimerKind.INQUIRY_HALF, TimerKind.INQUIRY_DUE):
        deadlines.inquiry_timer(ctx, timer)
        return
    if timer.kind in (TimerKind.PROMISE_LEAD, TimerKind.PROMISE_DUE):
        promised_updates.wake(ctx, timer)
        return
    step, state = ctx.book.step(timer.step), ctx.inc.steps[timer.step]
    WAKE_UPS[timer.kind](ctx, step, state)
