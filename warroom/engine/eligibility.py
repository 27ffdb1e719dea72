"""Who may hold a role in a running incident: the tags and languages the role requires, and
four eyes (one person never approves one statement twice). `assign` and `ack --take-over`
both ask here, so a role cannot reach someone by one door that the other refuses.
"""

from __future__ import annotations

from warroom.engine.assignment import role_filter
from warroom.engine.context import Ctx


def refusals(ctx: Ctx, role_id: str, person_id: str) -> list[str]:
    """Why `person_id` must not hold `role_id`: a tag or a language the role requires, or a
    statement they would then approve twice (four eyes). Empty when nothing stands in the
    way."""
    person = ctx.known_person(person_id)
    demands = role_filter(ctx.book, role_id, ctx.inc.facts)
    reasons = [f"lacks tag {tag}" for tag in demands.require_tags if tag not in person.tags]
    reasons += [
        f"does not speak {lang}" for lang in demands.languages if lang not in person.languages
    ]
    titles, roles = [], []
    for spec in ctx.book.statements.values():
        if role_id not in spec.approvers:
            continue
        also = [r for r in spec.approvers if r != role_id and ctx.inc.holder(r) == person_id]
        if also:
            titles.append(spec.title)
            roles += [r for r in also if r not in roles]
    if titles:
        reasons.append(
            f"{person.name} already approves {', '.join(titles)} as {', '.join(roles)}; "
            "four eyes need a second person"
        )
    return reasons
