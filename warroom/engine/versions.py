"""Facts and statement versions: the facts a playbook declares, checked as they are given;
the statement versions rendered from them; a fact that changes a draft's texts makes a new
version; a correction is a new version of what was already released.
"""

from __future__ import annotations

from warroom.engine import approval, release, staleness, steps
from warroom.engine.context import Ctx
from warroom.engine.events import CorrectionIssued, FactUpdated
from warroom.engine.registry import handles
from warroom.engine.render import draft_statement
from warroom.engine.state import Draft, StatementState
from warroom.errors import CommandRejected
from warroom.playbook.facts import clean_text, fact_problem, normal_value
from warroom.playbook.model import Action, Step
from warroom.specs import one_of


def checked_facts(ctx: Ctx, given: dict[str, str], *, activation: bool) -> dict[str, str]:
    """Facts with defaults applied; every problem is a rejection naming fact and value."""
    book = ctx.book
    # whatever path it came by (CLI, alert, a log written before the rule), a value reaches
    # statements, SMS and terminals without control characters
    given = {name: clean_text(value) for name, value in given.items()}
    for name in given:
        if name not in book.facts:
            raise CommandRejected(
                f"unknown fact {name!r} for {book.id} (expected one of: {one_of(book.facts)})"
            )
    given = {name: normal_value(book.facts[name], value) for name, value in given.items()}
    for name, value in given.items():
        problem = fact_problem(book.facts[name], value, ctx.inc.roster.people)
        if problem is not None:  # one rule for the command line and for alerts
            raise CommandRejected(f"fact {name}: {problem}")
    facts = dict(ctx.inc.facts)
    if activation:
        facts = {
            n: normal_value(f, f.default) for n, f in book.facts.items() if f.default is not None
        }
        missing = [
            n for n, f in book.facts.items() if f.required and f.default is None and n not in given
        ]
        if missing:
            raise CommandRejected(
                "missing required facts: "
                + ", ".join(missing)
                + " (give them as --fact NAME=VALUE)"
            )
    facts.update(given)
    return facts


def ensure_draft(ctx: Ctx, statement: StatementState, step: Step) -> None:
    """Render a new version unless one is in hand that this step may still use.

    An approve step needs a version not released anywhere; a send step one it has not sent
    itself, so two send steps can release one approved version to their audiences, while a
    recurring update renders (and is approved) afresh each time.
    """
    if step.action is Action.APPROVE:
        used = {r.version for r in statement.releases}
    else:
        used = set(ctx.inc.steps[step.id].released_versions)
    if statement.draft is None or statement.draft.version in used:
        new_draft(ctx, statement, correction=False)


def new_draft(ctx: Ctx, statement: StatementState, *, correction: bool) -> Draft:
    statement.version += 1
    texts = draft_statement(ctx.inc, statement.id, statement.version, correction, ctx.now)
    statement.draft = Draft(
        statement.version, texts, ctx.now, correction, facts=dict(ctx.inc.facts)
    )
    spec = ctx.book.statements[statement.id]
    ctx.note(f"{spec.title} v{statement.version} drafted ({len(texts)} renderings)")
    return statement.draft


@handles(FactUpdated)
def fact_updated(ctx: Ctx, event: FactUpdated) -> None:
    if not event.facts:
        raise CommandRejected("no fact given (expected NAME=VALUE)")
    facts = checked_facts(ctx, event.facts, activation=False)
    by = event.by or "unknown"
    for name in event.facts:
        value = facts[name]
        previous = ctx.inc.facts.get(name)
        ctx.note(f"Fact {name} = {value!r} (was {previous!r}) by {by}")
    before = ctx.inc.facts
    ctx.inc.facts = facts
    ctx.refresh_exclusions()  # someone newly named implicated hears nothing more
    for statement in ctx.inc.statements.values():
        draft = statement.draft
        if draft is None or draft.version in {r.version for r in statement.releases}:
            continue
        texts = draft_statement(ctx.inc, statement.id, draft.version, draft.correction, ctx.now)
        if texts == draft.texts:
            continue
        was_requested = draft.requested or bool(draft.rejections)
        new = new_draft(ctx, statement, correction=draft.correction)
        if draft.approvals:
            ctx.note(
                f"{ctx.book.statements[statement.id].title}: earlier approvals were of "
                f"v{draft.version}; v{new.version} needs approval again"
            )
        if was_requested:
            step = approval.approving_step(ctx, statement.id)
            approval.request_approvals(ctx, statement, step)
    for stale in staleness.facts_changed(ctx, before):
        correction = new_draft(ctx, stale, correction=True)
        ctx.note(f"{ctx.book.statements[stale.id].title}: correction v{correction.version}")
        approval.request_approvals(ctx, stale, approval.approving_step(ctx, stale.id))
    steps.advance(ctx)  # a step that `requires_facts` may start now


@handles(CorrectionIssued)
def correction_issued(ctx: Ctx, event: CorrectionIssued) -> None:
    statement, spec = ctx.known_statement(event.statement)
    if not statement.releases:
        raise CommandRejected(f"{spec.title} has not been released; there is nothing to correct")
    draft = new_draft(ctx, statement, correction=True)
    ctx.note(f"{spec.title}: correction v{draft.version} ({event.reason})")
    if spec.approvers:
        approval.request_approvals(ctx, statement, approval.approving_step(ctx, statement.id))
    else:
        release.release_correction(ctx, statement)
