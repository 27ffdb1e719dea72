"""`decide(incident, event, now)`: the whole behaviour of an incident, with no I/O.

Given the same events at the same moments it makes the same decisions, which is what lets an
exercise run days in milliseconds with the code that runs live, and lets any incident be
replayed from its log. Commands that make no sense raise `CommandRejected` *before* anything
is changed, so the shell writes nothing for them.

The handlers live in one module per concern, each registering the events it decides:

- `activation`: activation, and putting a person into a role by hand;
- `paging`: pages, acknowledgements, the escalation ladder;
- `approval`: approval requests, approvals and rejections;
- `release`: releasing a version audience by audience, delivery receipts, fail-over;
- `versions`: facts, the statement versions rendered from them, corrections;
- `media`: the media desk (inquiries answered with approved words) and notes on the record;
- `deadlines`: when an inquiry pages its owner, and escalates past its deadline;
- `levels`: raising and lowering the level;
- `closing`: resolving, cancelling, closing;
- `contact_lists`: an audience's contacts loaded during the incident (`contacts: at_release`);
- `update_requests`: a person asking for the recurring update now;
- `wakeups`: timers, handed to the concern that armed them;
- `steps`: how steps start, finish and recur, shared by all of the above.

Every decision says why in `Decision.notes`; the timeline is those notes in order.
"""

from __future__ import annotations

from datetime import datetime

from warroom.engine import (  # noqa: F401  (importing a concern registers its handlers)
    activation,
    approval,
    closing,
    contact_lists,
    levels,
    media,
    paging,
    release,
    update_requests,
    versions,
    wakeups,
)
from warroom.engine.context import Ctx, Decision
from warroom.engine.events import Event
from warroom.engine.lifecycles import IncidentPhase
from warroom.engine.registry import HANDLERS, Admit
from warroom.engine.state import Incident
from warroom.errors import CommandRejected
from warroom.playbook.model import Playbook
from warroom.roster.model import Roster

__all__ = ["Decision", "decide", "new_incident"]


def new_incident(incident_id: str, playbook: Playbook, roster: Roster) -> Incident:
    """An incident not yet activated, holding its snapshot of the playbook and roster."""
    return Incident(id=incident_id, playbook=playbook, roster=roster)


def decide(incident: Incident, event: Event, now: datetime) -> Decision:
    """Apply one event to `incident` (in place) and return what the shell must do and why.

    A refused command raises `CommandRejected` with the incident unchanged. Any other
    exception is a bug, after which the incident may be half-changed: the runtime drops it
    and folds the log again.
    """
    registered = HANDLERS.get(type(event))
    if registered is None:
        raise CommandRejected(f"the engine does not know the event {event.kind!r}")
    if not _admitted(incident, registered.admit):
        raise CommandRejected(f"incident {incident.id} is {incident.state}")
    decision = Decision()
    registered.handler(Ctx(incident, now, decision), event)
    return decision


def _admitted(incident: Incident, admit: Admit) -> bool:
    if admit is Admit.ALWAYS or incident.open:
        return True
    return admit is Admit.AFTER_RESOLUTION and incident.state == IncidentPhase.RESOLVED
