"""Issue 13, finding 5: implicated people never receive.

Everyone a role's `exclude` names (the executive-misconduct playbook's `implicated`) is kept
out of every audience and page of that incident, with a line on the timeline: an implicated
board member does not receive the confidential notice about themself.
"""

from __future__ import annotations

from test_decide import LIBRARY, ROSTER, Desk

from warroom.engine import events as ev
from warroom.runtime.snapshot import Snapshot

BOOK, _ = Snapshot.capture(LIBRARY / "executive-misconduct.yaml", LIBRARY / "roster.yaml").compile()
CHAIR = ROSTER.person("elzbieta-nowicka")  # Chair of the Supervisory Board, tag:board-chair
LINE = (
    "Elżbieta Nowicka is excluded from every audience and page of this incident "
    "(excluded from Crisis lead, Spokesperson"
)


def everything_to(desk: Desk, person: str) -> list[str]:
    found = ROSTER.person(person)
    addresses = {found.phone, found.email}
    return [m.message for m in desk.sent("statement") + desk.sent("page") if m.address in addresses]


def released_to_the_board(implicated: str) -> Desk:
    desk = Desk(book=BOOK, level="investigation", facts={"implicated": implicated})
    paged = [desk.incident.roles[name] for name in BOOK.audiences["crisis-team"].roles]
    holders = {r.person for r in paged if r.person}
    desk.assemble(*sorted(holders))
    for statement in ("board-notice",):
        approvers = BOOK.statements[statement].approvers
        desk.approve(statement, tuple(desk.incident.holder(r) or "" for r in approvers))
    return desk


def test_an_implicated_board_member_is_not_sent_the_notice_about_themself() -> None:
    desk = released_to_the_board(CHAIR.id)
    assert desk.saw(LINE)
    board = desk.sent("statement", audience="board")
    assert board  # the rest of the Supervisory Board is told
    assert not {m.address for m in board} & {CHAIR.phone, CHAIR.email}
    assert not everything_to(desk, CHAIR.id)


def test_without_anyone_implicated_the_chair_is_told() -> None:
    desk = released_to_the_board("tomasz-wojcik")
    addresses = {m.address for m in desk.sent("statement", audience="board")}
    assert {CHAIR.phone, CHAIR.email} <= addresses


def test_an_implicated_chair_is_not_paged_by_the_escalation_ladder() -> None:
    desk = Desk(book=BOOK, level="allegation", facts={"implicated": CHAIR.id})
    desk.wait(31)  # +30m: the ladder pages tag:board-chair, who is the person concerned
    assert not everything_to(desk, CHAIR.id)


def test_someone_named_later_hears_nothing_more() -> None:
    desk = Desk(book=BOOK, level="investigation", facts={"implicated": "tomasz-wojcik"})
    desk.decide(ev.FactUpdated(facts={"implicated": CHAIR.id}))
    assert desk.saw(LINE)
    paged = [desk.incident.roles[name] for name in BOOK.audiences["crisis-team"].roles]
    holders = {r.person for r in paged if r.person}
    desk.assemble(*sorted(holders))
    approvers = BOOK.statements["board-notice"].approvers
    desk.approve("board-notice", tuple(desk.incident.holder(r) or "" for r in approvers))
    assert not {m.address for m in desk.sent("statement")} & {CHAIR.phone, CHAIR.email}
