"""Recipients given during the incident: the list of an audience declared `contacts:
at_release` (the customers affected), loaded for this incident only.

Who is affected is known only once the investigation says so; the list is checked like the
roster's CSV files before it gets here, recorded on the timeline, and a release that waits for
it goes on as soon as it is loaded.
"""

from __future__ import annotations

from warroom.engine import lifecycles as lc
from warroom.engine import release, steps
from warroom.engine.context import Ctx
from warroom.engine.events import ContactsLoaded
from warroom.engine.registry import handles
from warroom.errors import CommandRejected
from warroom.roster.model import Contact
from warroom.specs import one_of


@handles(ContactsLoaded)
def contacts_loaded(ctx: Ctx, event: ContactsLoaded) -> None:
    book = ctx.book
    loadable = [a for a, spec in book.audiences.items() if spec.contacts_at_release]
    spec = book.audiences.get(event.audience)
    if spec is None:
        raise CommandRejected(
            f"unknown audience {event.audience!r} for {book.id} (audiences loaded during an "
            f"incident: {one_of(loadable) if loadable else 'none'})"
        )
    if not spec.contacts_at_release:
        raise CommandRejected(
            f"audience {event.audience!r} ({spec.title}) takes its contacts from the roster; "
            "only an audience declared `contacts: at_release` is loaded during an incident "
            f"({one_of(loadable) if loadable else 'this playbook has none'})"
        )
    contacts = tuple(_contact(row) for row in event.contacts)
    if not contacts:
        raise CommandRejected(f"{event.source}: no contacts to load for {spec.title}")
    unreachable = [c.name for c in contacts if not c.channels()]
    if unreachable:
        raise CommandRejected(f"{event.source}: contact {unreachable[0]!r} needs a phone or e-mail")
    before = ctx.inc.contact_lists.get(event.audience)
    ctx.inc.contact_lists[event.audience] = contacts
    reach = [c for c in contacts if set(spec.channels) & set(c.channels())]
    by_channel = ", ".join(
        f"{sum(channel in c.channels() for c in contacts)} by {_CHANNEL[channel]}"
        for channel in spec.channels
    )
    ctx.note(
        f"Contacts of {spec.title} loaded from {event.source} by {event.by or 'unknown'}: "
        f"{len(contacts)} contacts, {len(reach)} reachable ({by_channel})"
        + (f"; replaces the {len(before)} loaded before" if before is not None else "")
    )
    for step in book.steps:
        state = ctx.inc.steps[step.id]
        if lc.releasing(state) and state.waits_for_contacts == event.audience:
            release.release_next(ctx, step, state)
    steps.advance(ctx)


_CHANNEL = {"sms": "SMS", "email": "e-mail"}


def _contact(row: dict[str, object]) -> Contact:
    def text(key: str) -> str | None:
        value = row.get(key)
        return str(value) if value else None

    return Contact(
        name=str(row.get("name") or ""),
        phone=text("phone"),
        email=text("email"),
        language=text("language"),
        outlet=str(row.get("outlet") or ""),
        textable=bool(row.get("textable", True)),
    )


def contact_row(contact: Contact) -> dict[str, object]:
    """A contact as `ContactsLoaded` carries it: plain JSON for the event log."""
    return {
        "name": contact.name,
        "phone": contact.phone or "",
        "email": contact.email or "",
        "language": contact.language or "",
        "outlet": contact.outlet,
        "textable": contact.textable,
    }
