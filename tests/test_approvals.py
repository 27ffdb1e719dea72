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
from warroom.playbook.model import CandidateTier

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
    assert desk.sent("approval", person="joanna-szymanska", version=1)  # asked at once
    desk.approve(people=("joanna-szymanska",))
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
    no_longer = "Michał Lewandowski no longer holds security_lead (now Paweł Krawczyk)"
    with pytest.raises(CommandRejected, match=re.escape(no_longer)):
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


# -- smaller truths: facts ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "message"),
    [
        ({"what_happened": ""}, "fact what_happened: is required and cannot be empty"),
        ({"what_happened": " \x07 "}, "fact what_happened: is required and cannot be empty"),
        ({"hotline": "call Anna"}, "fact hotline: 'call Anna' is not a phone number"),
        ({"press_office": "prasa at acme"}, "fact press_office: 'prasa at acme' is not an e-mail"),
        ({"customer_page": "javascript:alert(1)"}, "is not a web address"),
        ({"customer_page": "acme.example/faq"}, "is not a web address"),
    ],
)
def test_a_fact_is_held_to_its_declared_kind(facts: dict[str, str], message: str) -> None:
    desk = Desk()
    before = dict(desk.incident.facts)
    with pytest.raises(CommandRejected, match=re.escape(message)):
        desk.decide(ev.FactUpdated(facts=facts))
    assert desk.incident.facts == before


def test_a_required_fact_given_empty_at_activation_is_refused() -> None:
    with pytest.raises(CommandRejected, match="what_happened: is required and cannot be empty"):
        Desk(facts={"what_happened": ""})


def test_control_characters_never_reach_a_fact() -> None:
    desk = Desk()
    desk.decide(ev.FactUpdated(facts={"what_happened": "a leak\x1b[2J\nof addresses\x07"}))
    assert desk.incident.facts["what_happened"] == "a leak[2J of addresses"
    assert desk.saw("Fact what_happened = 'a leak[2J of addresses'")


def test_alert_facts_are_held_to_their_declared_kind_too() -> None:
    from warroom.playbook.compile import compile_playbook
    from warroom.triggers.matching import match_alert
    from warroom.triggers.payloads import alerts_from
    from warroom.yamlsource import parse_yaml

    text = (
        "playbook: outage\ntitle: T\nlanguages: [en]\nlevels: [{id: incident, title: I}]\n"
        "facts:\n  hotline: {kind: phone}\n  page: {kind: url}\n  press: {kind: email}\n"
        "roles:\n  lead: {title: Lead, candidates: [tag:lead]}\n"
        "audiences:\n  team: {roles: [lead]}\nsteps:\n  - id: assemble\n    page: team\n"
        "triggers:\n  - source: generic\n"
        "    facts: {hotline: '{{ a }}', page: '{{ b }}', press: '{{ c }}'}\n"
    )
    book, _ = compile_playbook(parse_yaml(text, "outage.yaml"))
    body = {"a": "+48 22 123 45 67", "b": "https://acme.example/faq", "c": "not an address"}
    (alert,) = alerts_from("generic", body)
    found = match_alert([book], alert, people=set())
    assert found is not None
    assert (found.facts["hotline"], found.facts["page"]) == (
        "+48 22 123 45 67",
        "https://acme.example/faq",
    )
    assert found.facts["press"] == "(not in alert)"  # a stand-in a person must replace
    assert [str(f) for f in found.flagged] == [
        "press: 'not an address' is not an e-mail address (expected e.g. press@example.com)"
    ]


def test_activation_keeps_approvers_apart_when_everyone_is_already_busy() -> None:
    # legal may be Anna (crisis lead, a fellow approver) or Ewa (spokesperson): both busy
    book = variant(
        roles={
            **BOOK.roles,
            "legal": dataclasses.replace(
                BOOK.roles["legal"],
                tiers=(CandidateTier(None, ("anna-kowalska", "ewa-wisniewska")),),
            ),
        }
    )
    desk = Desk(book=book)
    assert desk.incident.holder("crisis_lead") == "anna-kowalska"
    assert desk.incident.holder("legal") == "ewa-wisniewska"


def test_a_level_never_hands_an_approver_a_second_approver_role() -> None:
    # at crisis the crisis lead's tier would pick Piotr, who already holds legal
    lead = dataclasses.replace(
        BOOK.roles["crisis_lead"],
        tiers=(
            CandidateTier("crisis", ("piotr-zielinski",)),
            *BOOK.roles["crisis_lead"].tiers,
        ),
    )
    desk = Desk(book=variant(roles={**BOOK.roles, "crisis_lead": lead}))
    desk.decide(ev.LevelRaised(level="crisis"))
    assert desk.incident.holder("crisis_lead") == "anna-kowalska"
    assert desk.saw(
        "Crisis lead: at level crisis, Piotr Zieliński does not take over from Anna Kowalska: "
        "Piotr Zieliński already approves"
    )


def test_a_second_person_assigned_for_four_eyes_is_asked_at_once() -> None:
    desk = Desk()
    desk.decide(dataclasses.replace(ONE_LEGAL, force=True, reason="Piotr is on a plane"))
    desk.assemble("anna-kowalska", "ewa-wisniewska", "michal-lewandowski")
    desk.decide(ev.Approved(statement="holding", person="anna-kowalska"))
    desk.decide(ev.Reassigned(role="legal", person="joanna-szymanska"))
    assert desk.saw("Anna Kowalska's approval now counts for crisis_lead; legal is asked of")
    assert desk.sent("approval", person="joanna-szymanska", version=1)
    desk.approve(people=("joanna-szymanska",))
    assert desk.sent("statement", audience="employees")


def test_a_role_moved_to_someone_who_already_answered_needs_and_takes_their_answer() -> None:
    """Found by readiness runs: the ladder moves a silent spokesperson to the crisis lead,
    who had acknowledged as crisis lead; her answer for the new role must count."""
    desk = Desk()
    desk.assemble("anna-kowalska", "piotr-zielinski", "michal-lewandowski")
    desk.wait(10)
    assert desk.incident.holder("spokesperson") == "anna-kowalska"
    assert desk.incident.roles["spokesperson"].acked_at is None
    assert desk.step("assemble") == "escalated"
    desk.decide(ev.Acknowledged(person="anna-kowalska"))
    assert desk.incident.roles["spokesperson"].acked_at is not None
    assert desk.step("assemble") == "done"
    with pytest.raises(CommandRejected, match="was not paged, or has already acknowledged"):
        desk.decide(ev.Acknowledged(person="anna-kowalska"))
