"""Who pressed the key: the person a command acts for, and the login that typed it.

A command from the CLI names a person (`--as`) and carries the operating-system login that
ran it. When that login is one of the person's `logins:` in the roster, the act is theirs;
otherwise it was entered on their behalf, and the record says so. An SMS reply (sender and
code) or a signed link carries no login: its identity was proven on the way in.

An approval is the one act whose worth is the approver's own word, so an approval or
rejection on behalf counts only where the playbook allows it, and always with a reason.
"""

from __future__ import annotations

from warroom.engine.context import Ctx
from warroom.engine.events import Event
from warroom.errors import CommandRejected


def on_behalf(ctx: Ctx, event: Event, person: str) -> bool:
    """Whether `event` was typed by a login that is not `person`'s own."""
    if not event.login:
        return False
    found = ctx.inc.roster.people.get(person)
    if found is None:  # `by` is the login itself (`cli:anna`): nobody else to act for
        return False
    return event.login not in found.logins


def entered(ctx: Ctx, event: Event, person: str) -> str:
    """What the record adds to an act by `person`: nothing, or who entered it for them."""
    if not on_behalf(ctx, event, person):
        return ""
    return f" (entered by {event.login} on behalf of {ctx.name(person)})"


def answer_on_behalf(ctx: Ctx, event: Event, person: str, verb: str, reason: str) -> str:
    """Refuse an approval or rejection on behalf unless the playbook allows it and a reason
    is given; returns what the record adds (empty when the approver acted themselves)."""
    if not on_behalf(ctx, event, person):
        return ""
    name = ctx.name(person)
    if not ctx.book.on_behalf:
        raise CommandRejected(
            f"{verb} entered by {event.login} on behalf of {name} does not count: playbook "
            f"{ctx.book.id} does not allow approvals on behalf (approvals: on_behalf); "
            f"{name} answers by SMS with the code, by the e-mailed link, or from their own login"
        )
    if not reason.strip():
        raise CommandRejected(
            f"{verb} entered by {event.login} on behalf of {name} needs --reason "
            '(e.g. --reason "phoned in")'
        )
    return f" (entered by {event.login} on behalf of {name}: {reason.strip()})"
