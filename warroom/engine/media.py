"""The media desk, and the record: inquiries from journalists and notes anyone adds. Both
only grow the timeline (and the after-action report); neither moves a step."""

from __future__ import annotations

from warroom.engine.context import Ctx
from warroom.engine.events import MediaInquiryLogged, NoteAdded
from warroom.engine.registry import Admit, handles
from warroom.engine.state import Inquiry
from warroom.errors import CommandRejected


@handles(MediaInquiryLogged)
def inquiry_logged(ctx: Ctx, event: MediaInquiryLogged) -> None:
    if not event.outlet.strip() or not event.question.strip():
        raise CommandRejected("a media inquiry needs --outlet and --question")
    ctx.inc.inquiries.append(Inquiry(event.outlet, event.question, event.journalist, ctx.now))
    who = f"{event.journalist}, " if event.journalist else ""
    ctx.note(f"Media inquiry #{len(ctx.inc.inquiries)} from {who}{event.outlet}: {event.question}")


@handles(NoteAdded, Admit.AFTER_RESOLUTION)
def note_added(ctx: Ctx, event: NoteAdded) -> None:
    if not event.text.strip():
        raise CommandRejected("a note needs some text")
    ctx.note(f"Note by {event.by or 'unknown'}: {event.text}")
