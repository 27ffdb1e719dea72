"""Closing: an incident is resolved (or cancelled as a false alarm), every wake-up is
cancelled and every open step stops; once resolved, it is closed.

What is said on resolve ("all clear", "service restored") is a send step with `on_resolve`:
its statement is approved during the incident like any other, and released as the incident is
resolved. A resolve while such a message is not approved is refused, naming who must approve
it: the all clear is said with approved words, or the incident stays open.
"""

from __future__ import annotations

from warroom.engine import levels, release, steps, versions
from warroom.engine import lifecycles as lc
from warroom.engine.context import Ctx
from warroom.engine.events import Cancelled, Closed, Resolved
from warroom.engine.registry import Admit, handles
from warroom.errors import CommandRejected
from warroom.playbook.model import Step


@handles(Resolved)
def resolved(ctx: Ctx, event: Resolved) -> None:
    closing = closing_steps(ctx)
    for step in closing:
        problem = unready(ctx, step)
        if problem:
            raise CommandRejected(f"cannot resolve yet: {problem}")
    lc.fire(lc.INCIDENT, "resolve", ctx.inc, f"incident {ctx.inc.id}")
    for step in closing:
        say_on_resolve(ctx, step)
    wind_down(ctx, "resolved", event.by, event.summary)


def closing_steps(ctx: Ctx) -> list[Step]:
    """The closing messages of this incident: `on_resolve` steps that exist at its level."""
    return [s for s in ctx.book.steps if s.on_resolve and not lc.dormant(ctx.inc.steps[s.id])]


def unready(ctx: Ctx, step: Step) -> str:
    """Why a closing message cannot go out now, or "" when it can."""
    statement, spec = ctx.known_statement(step.statement or "")
    if not spec.approvers:
        return ""
    draft = statement.draft
    if draft is None:
        return (
            f"{step.title}: {spec.title} has no version to approve yet (its approve step has "
            "not started)"
        )
    if statement.approved(spec.approvers):
        return ""
    waiting = ", ".join(
        f"{role}: {ctx.name(ctx.inc.holder(role))}"
        for role in spec.approvers
        if role not in draft.approvals
    )
    return (
        f"{step.title}: {spec.title} v{draft.version} is said on resolve and is not approved "
        f"(waits for {waiting}; `warroom approve {statement.id}`)"
    )


def say_on_resolve(ctx: Ctx, step: Step) -> None:
    """Release the approved closing message to all its audiences at once: the incident is
    over, so nothing waits for receipts or holds one audience for another."""
    state = ctx.inc.steps[step.id]
    statement = ctx.inc.statements[step.statement or ""]
    if statement.draft is None or statement.draft.version in {
        r.version for r in statement.releases
    }:
        versions.new_draft(ctx, statement, correction=False)  # no approvers: rendered now
    draft = statement.draft
    assert draft is not None
    if lc.waiting(state):
        lc.fire(lc.STEP, "ready", state, f"step {step.id}")
        state.started_at = ctx.now
    lc.fire(lc.STEP, "release", state, f"step {step.id}")
    state.released_versions.append(draft.version)
    for audience in step.to:
        spec = ctx.book.audiences[audience]
        level = ctx.inc.level if spec.internal else levels.speaking_level(ctx.inc)
        if not ctx.book.applies(spec.from_level, level):
            ctx.note(f"{step.title}: {audience} skipped below its level")
        elif spec.contacts_at_release and audience not in ctx.inc.contact_lists:
            ctx.note(f"{step.title}: {spec.title} skipped: no contacts were loaded for it")
        else:
            release.release_audience(ctx, step.id, statement, draft, audience)
    steps.finish(ctx, step, state)


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
