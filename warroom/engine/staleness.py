"""Statements that went stale: a fact used by a released version changed, so its audiences
hold words we no longer stand by. Each is flagged (for `status` and the timeline) and its
author is asked for a new version, shown the changed facts as a diff.

A statement updated by a recurring step is put right by its next update, which now has
something new to say; any other (with approvers) gets its correction drafted at once and
sent to them, so the new words wait only for a person's yes.
"""

from __future__ import annotations

from collections.abc import Mapping

from warroom.engine.context import Ctx
from warroom.engine.promised_updates import facts_used
from warroom.engine.state import Release, StatementState, StatementWentStale

MAX_SHOWN = 60
"""A changed value is shown up to this many characters in the author's page."""


def _shown(value: str) -> str:
    value = " ".join(value.split())
    return repr(value if len(value) <= MAX_SHOWN else value[: MAX_SHOWN - 1] + "…")


def diff(changes: tuple[tuple[str, str, str], ...]) -> str:
    return "; ".join(f"{name}: {_shown(was)} -> {_shown(now)}" for name, was, now in changes)


def latest_releases(statement: StatementState) -> dict[str, Release]:
    latest: dict[str, Release] = {}
    for release in statement.releases:
        if release.audience not in latest or release.order >= latest[release.audience].order:
            latest[release.audience] = release
    return latest


def recurring(ctx: Ctx, statement_id: str) -> bool:
    return any(s.every is not None and s.statement == statement_id for s in ctx.book.steps)


def facts_changed(ctx: Ctx, before: Mapping[str, str]) -> list[StatementState]:
    """Flag every released statement a change made stale; returns those whose correction the
    engine should draft now (see the module's docstring)."""
    changed = {n for n in ctx.book.facts if before.get(n, "") != ctx.inc.facts.get(n, "")}
    to_correct: list[StatementState] = []
    if not changed:
        return to_correct
    for statement in ctx.inc.statements.values():
        spec = ctx.book.statements[statement.id]
        if not statement.releases or spec.media:
            continue
        used = facts_used(ctx, statement.id)
        if not used & changed:
            continue
        newly: list[str] = []
        changes: dict[tuple[str, str, str], None] = {}
        for audience, release in latest_releases(statement).items():
            now = tuple(
                (n, release.facts.get(n, ""), ctx.inc.facts.get(n, ""))
                for n in ctx.book.facts
                if n in used and release.facts.get(n, "") != ctx.inc.facts.get(n, "")
            )
            if not now:
                statement.stale.pop(audience, None)
                continue
            flagged = {n: (was, new) for n, was, new in now}
            if statement.stale.get(audience) != flagged:
                newly.append(audience)
                changes.update(dict.fromkeys(c for c in now if c[0] in changed))
            statement.stale[audience] = flagged
        if not newly:
            continue
        version = max(r.version for r in statement.releases)
        record = StatementWentStale(ctx.now, statement.id, version, tuple(newly), tuple(changes))
        ctx.inc.went_stale.append(record)
        titles = ", ".join(ctx.book.audiences[a].title for a in newly)
        ctx.note(f"Stale: {spec.title} as released to {titles} ({diff(record.changes)})")
        correct = (
            bool(spec.approvers)
            and not recurring(ctx, statement.id)
            and statement.draft is not None
            and statement.draft.version in {r.version for r in statement.releases}
        )
        if not ctx.inc.keeps_promises:
            continue  # flagged, but a log from before replays with the messages it had
        _ask_author(ctx, statement, record, correct)
        if correct:
            to_correct.append(statement)
    return to_correct


def _ask_author(
    ctx: Ctx, statement: StatementState, record: StatementWentStale, correct: bool
) -> None:
    spec = ctx.book.statements[statement.id]
    owner = ctx.inc.holder(spec.owner) if spec.owner else None
    if owner is None:
        ctx.note(f"{spec.title}: nobody holds {spec.owner or 'its owner role'} to revise it")
        return
    titles = ", ".join(ctx.book.audiences[a].title for a in record.audiences)
    if correct:
        then = f"A correction v{statement.version + 1} goes to the approvers now."
    elif recurring(ctx, statement.id):
        then = "The next update carries the change; ask for it now if it cannot wait."
    else:
        then = f"Issue a new version: warroom correct {statement.id} --reason ..."
    text = (
        f"[warroom] {ctx.book.title}, incident {ctx.inc.id}: {spec.title} v{record.version} "
        f"as released to {titles} is out of date. Changed: {diff(record.changes)}. {then}"
    )
    ctx.notify(
        ctx.inc.roster.person(owner).contact(),
        f"statement:{statement.id}",
        text,
        f"[warroom] {spec.title} is out of date",
        f"stale-{statement.id}-{len(ctx.inc.went_stale)}",
    )
    ctx.note(f"{spec.title}: its author {ctx.name(owner)} is asked for a new version")
