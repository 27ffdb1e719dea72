"""How a playbook's steps move: a step starts when the steps it comes after are done, does
its kind of work (page, approve, send), finishes against its SLA, and recurs if it repeats.

Every concern that can let a step move on (an acknowledgement, an approval, a settled
audience, a raised level) ends by calling `advance`.
"""

from __future__ import annotations

from datetime import timedelta

from warroom.durations import format_duration as _span
from warroom.engine import (
    approval,
    conference,
    levels,
    paging,
    prerequisites,
    promised_updates,
    release,
    versions,
)
from warroom.engine import lifecycles as lc
from warroom.engine.context import Ctx
from warroom.engine.effects import Timer, TimerKind
from warroom.engine.state import StepState
from warroom.playbook.model import Action, Step


def advance(ctx: Ctx) -> None:
    """Start every step whose dependencies are done; repeat until nothing moves."""
    if not ctx.inc.open:
        return
    moved = True
    while moved:
        moved = False
        for step in ctx.book.steps:
            state = ctx.inc.steps[step.id]
            if step.on_resolve:
                continue  # a closing message goes when the incident is resolved: see `closing`
            if lc.waiting(state) and all(lc.done(ctx.inc.steps[d]) for d in step.after):
                missing = prerequisites.missing_facts(ctx.inc, step)
                if missing != state.waits_for_facts:
                    state.waits_for_facts = missing
                    if missing:
                        ctx.note(f"{step.title}: {prerequisites.facts_wait(missing)}")
                if missing:
                    continue
                lc.fire(lc.STEP, "ready", state, f"step {step.id}")
                state.started_at = ctx.now
                moved = True
            if _startable(step, state) and start(ctx, step, state):
                moved = True


def _startable(step: Step, state: StepState) -> bool:
    """Ready, or a send step still waiting for its statement's approval."""
    return lc.ready(state) or (step.action is Action.SEND and lc.awaits_approval(state))


def start(ctx: Ctx, step: Step, state: StepState) -> bool:
    """Do the step's work; returns whether it moved (a send step may have to wait)."""
    if step.action is Action.PAGE:
        paging.page_step(ctx, step, state)
        if step.press_conference is not None:
            conference.schedule(ctx, step, step.press_conference)
        return True
    if levels.waits_for_confirmation(ctx.inc, step):
        return False  # only a person speaks for the organisation: see `levels`
    if ctx.inc.keeps_promises and lc.ready(state) and promised_updates.nothing_to_say(ctx, step):
        lc.fire(lc.STEP, "release", state, f"step {step.id}")
        ctx.note(
            f"{step.title}: nothing new for its audiences and no promised update near; "
            "none is sent now"
        )
        finish(ctx, step, state)
        return True
    statement = ctx.inc.statements[step.statement or ""]
    spec = ctx.book.statements[statement.id]
    versions.ensure_draft(ctx, statement, step)
    if step.action is Action.APPROVE:
        lc.fire(lc.STEP, "request_approval", state, f"step {step.id}")
        approval.request_approvals(ctx, statement, step)
        if statement.approved(spec.approvers):
            approval.approval_complete(ctx, statement)
        return True
    # SEND: a version this step has not sent, approved where the statement needs it
    if spec.approvers and not statement.approved(spec.approvers):
        if lc.ready(state):
            lc.fire(lc.STEP, "request_approval", state, f"step {step.id}")
        draft = statement.draft
        if draft is not None and not draft.requested and not draft.rejections:
            ctx.note(f"{step.title}: waits for approval of {spec.title}")
            approval.request_approvals(ctx, statement, step)
        return False
    if lc.awaits_approval(state):
        lc.fire(lc.STEP, "approve", state, f"step {step.id}")
    release.release(ctx, step, state)
    return True


def finish(ctx: Ctx, step: Step, state: StepState, trigger: str | None = None) -> None:
    if trigger:
        lc.fire(lc.STEP, trigger, state, f"step {step.id}")
    lc.fire(lc.STEP, "finish", state, f"step {step.id}")
    state.finished_at = ctx.now
    state.pending, state.unsettled = set(), 0
    ctx.cancel_timer(Timer(TimerKind.ESCALATION, step.id))
    if step.due is not None and ctx.inc.started_at is not None:
        deadline = ctx.inc.started_at + step.due
        outcome = "met" if ctx.now <= deadline else "breached"
        if state.due_outcome != "breached":
            state.due_outcome = outcome
        ctx.note(
            f"{step.title}: done {_span(ctx.now - ctx.inc.started_at)} after activation; "
            f"SLA {_span(step.due)} {outcome}"
        )
        ctx.cancel_timer(Timer(TimerKind.DUE, step.id))
    else:
        ctx.note(f"{step.title}: done")
    if step.every is not None:
        at = promised_updates.next_occurrence(ctx, step)
        if not ctx.inc.keeps_promises:
            at = ctx.now + step.every
        elif at <= ctx.now:
            at = ctx.now + step.every * (1 - promised_updates.LEAD_AT)
        ctx.start_timer(Timer(TimerKind.NEXT_UPDATE, step.id), at, "next update")


def sla_due(ctx: Ctx, step: Step, state: StepState) -> None:
    if not lc.finished(state) and state.due_outcome is None:
        state.due_outcome = "breached"
        ctx.note(f"{step.title}: SLA {_span(step.due or timedelta())} breached")


def update_due(ctx: Ctx, step: Step, state: StepState) -> None:
    if lc.done(state):
        lc.fire(lc.STEP, "recur", state, f"step {step.id}")
        state.occurrence += 1
        state.audiences_released = 0
        ctx.note(f"{step.title}: update {state.occurrence + 1} is due")
        advance(ctx)
