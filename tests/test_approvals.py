"""Approvals that mean something (issue 12): four eyes, who pressed the key, and a page step
done only when the people who hold its roles answered. On `decide()` itself, with the desk of
`test_decide`."""

from __future__ import annotations

import dataclasses
import re

import pytest
from test_decide import BOOK, ROSTER, Desk, variant

from warroom.engine import events as ev
from warroom.errors import CommandRejected

ONE_LEGAL = ev.Reassigned(role="legal", person="anna-kowalska")  # Anna is the crisis lead


def test_assign_refuses_a_second_approver_role_to_one_person_and_says_why() -> None:
    desk = Desk()
    with pytest.raises(CommandRejected) as refused:
        desk.decide(ONE_LEGAL)
    assert str(refused.value).startswith(
        "cannot assign legal to Anna Kowalska: Anna Kowalska already approves Holding statement, "
    )
    assert str(refused.value).endswith(
        " as crisis_lead; four eyes need a second person (--force --reason TEXT overrides, on "
        "the record)"
    )
    assert desk.incident.roles["legal"].person == "piotr-zielinski"


def test_assign_refuses_a_person_without_the_roles_tags() -> None:
    desk = Desk()
    with pytest.raises(CommandRejected, match="lacks tag media-trained"):
        desk.decide(ev.Reassigned(role="spokesperson", person="piotr-zielinski"))


def test_forced_assignment_needs_a_reason_and_still_cannot_release_on_one_word() -> None:
    desk = Desk()
    with pytest.raises(CommandRejected, match="needs --reason"):
        desk.decide(dataclasses.replace(ONE_LEGAL, force=True))
    desk.decide(dataclasses.replace(ONE_LEGAL, force=True, reason="Piotr is on a plane"))
    assert desk.saw("forced over: Anna Kowalska already approves Holding statement")
    assert desk.saw("(Piotr is on a plane)")
    desk.assemble("anna-kowalska", "ewa-wisniewska", "michal-lewandowski")
    desk.decide(ev.Approved(statement="holding", person="anna-kowalska"))
    assert not desk.sent("statement")  # one person is not two approvers
    assert desk.saw("Holding statement cannot be released until a second person is assigned")
    with pytest.raises(CommandRejected, match="crisis_lead needs a second person \\(four eyes\\)"):
        desk.decide(ev.Approved(statement="holding", person="anna-kowalska"))
    desk.decide(ev.Reassigned(role="legal", person="joanna-szymanska"))
    desk.decide(ev.FactUpdated(facts={"what_happened": "a leak of e-mail addresses"}))
    desk.approve(people=("joanna-szymanska", "anna-kowalska"))
    approvers = {p for r in desk.incident.statements["holding"].releases for _, p in r.approved_by}
    assert approvers == {"joanna-szymanska", "anna-kowalska"}


def test_activation_gives_approver_roles_to_distinct_people() -> None:
    desk = Desk()
    for spec in BOOK.statements.values():
        holders = [desk.incident.holder(r) for r in spec.approvers]
        assert len(set(holders)) == len(holders)


# -- who pressed the key ------------------------------------------------------------------------

PHONED = variant(on_behalf=True)
IN_PERSON = variant(on_behalf=False)


def test_an_approval_typed_by_another_login_is_refused_unless_the_playbook_allows_it() -> None:
    desk = Desk(book=IN_PERSON)
    desk.assemble()
    typed = ev.Approved(statement="holding", person="piotr-zielinski", login="ewa", reason="x")
    with pytest.raises(CommandRejected, match="does not allow approvals on behalf"):
        desk.decide(typed)
    assert not desk.incident.statements["holding"].draft.approvals  # type: ignore[union-attr]


def test_an_approval_on_behalf_needs_a_reason_and_says_who_entered_it() -> None:
    desk = Desk(book=PHONED)
    desk.assemble()
    typed = ev.Approved(statement="holding", person="piotr-zielinski", login="ewa")
    needs = re.escape('needs --reason (e.g. --reason "phoned in")')
    with pytest.raises(CommandRejected, match=needs):
        desk.decide(typed)
    desk.decide(dataclasses.replace(typed, reason="phoned in"))
    assert desk.saw(
        "approved by Piotr Zieliński (Legal approver) (entered by ewa on behalf of "
        "Piotr Zieliński: phoned in)"
    )


def test_the_approvers_own_login_acts_for_them() -> None:
    piotr = dataclasses.replace(ROSTER.people["piotr-zielinski"], logins=("pzielinski",))
    roster = dataclasses.replace(ROSTER, people={**ROSTER.people, piotr.id: piotr})
    desk = Desk()
    desk.incident.roster = roster
    desk.assemble()
    desk.decide(ev.Approved(statement="holding", person="piotr-zielinski", login="pzielinski"))
    assert not desk.saw("entered by")
    assert desk.saw("approved by Piotr Zieliński (Legal approver)")


# -- done only when the right people answered ---------------------------------------------------


def silent_security_lead() -> Desk:
    """Everyone but the security lead answers; the ladder moves the role on and, at 20
    minutes, pages the CEO and raises the level (the CEO becomes spokesperson)."""
    desk = Desk()
    desk.assemble("anna-kowalska", "ewa-wisniewska", "piotr-zielinski")
    desk.wait(20)
    return desk


def test_an_escalation_targets_answer_does_not_finish_a_step_whose_role_is_silent() -> None:
    desk = silent_security_lead()
    desk.decide(ev.Acknowledged(person="krzysztof-mazur"))
    assert desk.step("assemble") == "escalated"
    assert desk.notes[-1] == "Assemble the crisis team: still waiting for Security lead"
    desk.decide(ev.Acknowledged(person="pawel-krawczyk"))  # the role's holder, moved by the ladder
    assert desk.step("assemble") == "done"


def test_an_escalation_target_can_take_a_role_over_on_the_record() -> None:
    desk = silent_security_lead()
    with pytest.raises(CommandRejected, match="does not page the role 'mascot'"):
        desk.decide(ev.Acknowledged(person="krzysztof-mazur", take_over="mascot"))
    desk.decide(ev.Acknowledged(person="krzysztof-mazur", take_over="security_lead"))
    assert desk.saw(
        "Security lead: Krzysztof Mazur takes over from Paweł Krawczyk (ack --take-over)"
    )
    assert desk.incident.holder("security_lead") == "krzysztof-mazur"
    assert desk.step("assemble") == "done"


def test_a_person_replaced_in_a_role_cannot_acknowledge_for_it() -> None:
    desk = silent_security_lead()
    with pytest.raises(CommandRejected, match="Michał Lewandowski was not paged"):
        desk.decide(ev.Acknowledged(person="michal-lewandowski"))
    assert desk.incident.roles["security_lead"].acked_at is None


def test_nobody_is_paged_twice_by_one_rung() -> None:
    desk = Desk()
    desk.assemble("anna-kowalska", "ewa-wisniewska", "piotr-zielinski")
    desk.wait(10)
    before = desk.pages("krzysztof-mazur")
    desk.wait(20)  # the CEO: a target of the rung, and spokesperson at the level it raises
    assert desk.pages("krzysztof-mazur") == before + 1
    assert desk.saw("Krzysztof Mazur already paged; now also Spokesperson")


def test_a_ladder_that_ends_leaves_the_step_open_and_says_so() -> None:
    short = tuple(
        dataclasses.replace(s, escalations=s.escalations[:1]) if s.id == "assemble" else s
        for s in BOOK.steps
    )
    desk = Desk(book=variant(steps=short))
    desk.assemble("anna-kowalska", "ewa-wisniewska", "piotr-zielinski")
    desk.wait(60)
    assert desk.step("assemble") == "escalated"
    assert desk.saw(
        "Assemble the crisis team: the escalation ladder has ended with Security lead not "
        "acknowledged; the step stays open (`warroom assign security_lead PERSON`)"
    )
    desk.decide(ev.Reassigned(role="security_lead", person="michal-lewandowski"))
    desk.assemble("michal-lewandowski")
    assert desk.step("assemble") == "done"
