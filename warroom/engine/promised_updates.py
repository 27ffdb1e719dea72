"""Promised updates: "next update by 15:08", once released to an audience, is a commitment
to it. The lead is paged when 75% of the interval is gone; a promise that falls due without
an update is recorded as missed (and so is the late update that follows); a recurring update
with nothing new goes to an audience only when its promise is near, or a person asks.

Its wake-ups draw their tokens from a counter of their own, like the media desk's: drawing
them from the incident's sequence would renumber the messages and reply codes of every log
written before promises were kept, and such a log must replay as it ran.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from warroom.durations import format_duration as _span
from warroom.engine.context import Ctx
from warroom.engine.effects import StartTimer, Timer, TimerKind
from warroom.engine.render import update_interval
from warroom.engine.state import Draft, Promise, PromiseMissed, StatementState
from warroom.playbook import templates
from warroom.playbook.model import Step

PROMISE_TOKEN = 2_000_000_000
LEAD_AT = 0.75
"""The share of the interval after which the lead is paged about an update still to come."""
NEAR = 0.5
"""An update with nothing new goes only when its promise is less than this share away."""


def _local(ctx: Ctx, moment: datetime) -> str:
    return f"{moment.astimezone(ZoneInfo(ctx.book.timezone)):%H:%M}"


def _title(ctx: Ctx, audience: str) -> str:
    spec = ctx.book.audiences.get(audience)
    return spec.title if spec else audience


def _arm(ctx: Ctx, kind: TimerKind, audience: str, at: datetime) -> None:
    ctx.inc.promise_timers += 1
    timer = Timer(kind, audience)
    token = PROMISE_TOKEN + ctx.inc.promise_timers
    ctx.inc.timers[timer] = token
    ctx.out.effects.append(StartTimer(timer, token, at, kind.value))


def heard(
    ctx: Ctx,
    audience: str,
    statement: StatementState,
    draft: Draft,
    promised: datetime | None,
) -> None:
    """An audience was just released a version. A text that says when the next update comes
    is that update: it keeps the promise the audience held (or completes a missed one) and
    makes a new one. Any other text (a correction, a notice) leaves the promise standing."""
    spec = ctx.book.statements[statement.id]
    ctx.inc.heard[audience] = draft.facts
    ctx.inc.update_asked.discard(audience)
    statement.stale.pop(audience, None)
    if promised is None:
        return
    owed = ctx.inc.promises.pop(audience, None)
    if owed is not None:
        for kind in (TimerKind.PROMISE_LEAD, TimerKind.PROMISE_DUE):
            ctx.cancel_timer(Timer(kind, audience))
        if ctx.now > owed.due:
            missed = _missed(ctx, owed)
            missed.released_at = ctx.now
            missed.released = f"{statement.id} v{draft.version}"
            ctx.note(
                f"Promise missed: {_title(ctx, audience)} were promised an update by "
                f"{_local(ctx, owed.due)}; {spec.title} v{draft.version} reached them "
                f"{_span(ctx.now - owed.due)} late"
            )
    interval = promised - ctx.now
    ctx.inc.promises[audience] = Promise(
        audience, promised, ctx.now, statement.id, draft.version, interval
    )
    _arm(ctx, TimerKind.PROMISE_LEAD, audience, ctx.now + interval * LEAD_AT)
    _arm(ctx, TimerKind.PROMISE_DUE, audience, promised)


def _missed(ctx: Ctx, owed: Promise) -> PromiseMissed:
    for missed in ctx.inc.promises_missed:
        if (missed.audience, missed.promised_by) == (owed.audience, owed.due):
            return missed
    missed = PromiseMissed(
        owed.audience, owed.due, owed.made_at, owed.statement, owed.version, ctx.now
    )
    ctx.inc.promises_missed.append(missed)
    return missed


def _lead(ctx: Ctx, audience: str, owed: Promise) -> str | None:
    """Who answers for the next update to `audience`: the owner of the statement of a step
    that updates it, else of the statement that made the promise."""
    owners = [
        ctx.book.statements[s.statement].owner
        for s in ctx.book.steps
        if s.every is not None and audience in s.to and s.statement
    ]
    owners.append(ctx.book.statements[owed.statement].owner)
    for role in owners:
        if role and (holder := ctx.inc.holder(role)):
            return holder
    return None


def wake(ctx: Ctx, timer: Timer) -> None:
    audience = timer.step
    owed = ctx.inc.promises.get(audience)
    if owed is None:
        return
    due = _local(ctx, owed.due)
    if timer.kind is TimerKind.PROMISE_DUE:
        _missed(ctx, owed)
        ctx.note(
            f"Promise missed: {_title(ctx, audience)} were promised an update by {due}, "
            "and none has been released"
        )
        return
    lead = _lead(ctx, audience, owed)
    if lead is None:
        ctx.note(f"Update to {_title(ctx, audience)} promised by {due}; nobody to remind")
        return
    text = (
        f"[warroom] {ctx.book.title}, incident {ctx.inc.id}: the next update to "
        f"{_title(ctx, audience)} is promised by {due} ({_span(owed.due - ctx.now)} from now). "
        "See that it is approved and released in time: warroom status"
    )
    ctx.notify(
        ctx.inc.roster.person(lead).contact(),
        f"promise:{audience}",
        text,
        f"[warroom] Update to {_title(ctx, audience)} due by {due}",
        f"promise-{audience}-{int(owed.due.timestamp())}",
    )
    ctx.note(
        f"Update to {_title(ctx, audience)} promised by {due}: {int(LEAD_AT * 100)}% of the "
        f"interval gone; {ctx.name(lead)} reminded"
    )


# -- "nothing new" -----------------------------------------------------------------------------


def facts_used(ctx: Ctx, statement_id: str) -> frozenset[str]:
    """The facts a statement's templates read, in any language or channel."""
    spec = ctx.book.statements[statement_id]
    sources = [*spec.text.values(), *spec.subject.values(), *spec.sms.values()]
    used: set[str] = set()
    for source in sources:
        used |= templates.variables(source)
    return frozenset(used & set(ctx.book.facts))


def changed_since(ctx: Ctx, told: Mapping[str, str], names: frozenset[str]) -> list[str]:
    return [n for n in ctx.book.facts if n in names and told.get(n, "") != ctx.inc.facts.get(n, "")]


def why_update(ctx: Ctx, step: Step, audience: str) -> str | None:
    """Why a recurring update goes to `audience` now, or None when it has nothing to say."""
    if audience in ctx.inc.update_asked:
        return "a person asked for it"
    told = ctx.inc.heard.get(audience)
    if told is None:
        return "first update"
    changed = changed_since(ctx, told, facts_used(ctx, step.statement or ""))
    if changed:
        return "new: " + ", ".join(changed)
    owed = ctx.inc.promises.get(audience)
    if owed is not None and owed.due - ctx.now < update_interval(ctx.book, audience) * NEAR:
        return f"promised by {_local(ctx, owed.due)}"
    return None


def nothing_to_say(ctx: Ctx, step: Step) -> bool:
    """A recurring update with nothing new for any of its audiences and no promise near."""
    return step.every is not None and all(why_update(ctx, step, a) is None for a in step.to)


def next_occurrence(ctx: Ctx, step: Step) -> datetime:
    """When a recurring update is due again: a quarter of its interval before the earliest
    promise it keeps (time to draft and approve it), else `every` from now."""
    every = step.every or timedelta(hours=1)
    dues = [p.due - every * (1 - LEAD_AT) for a, p in ctx.inc.promises.items() if a in step.to]
    return max(ctx.now, min(dues)) if dues else ctx.now + every


def open_promises(promises: Mapping[str, Promise]) -> list[Promise]:
    return sorted(promises.values(), key=lambda p: (p.due, p.audience))
