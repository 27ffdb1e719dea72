"""`decide()` itself: events in, effects and state out, with no store, no CLI and no runtime.

The data-breach playbook of the shipped library drives every case. A `Desk` keeps the
incident, a virtual `now` and the wake-ups the engine asked for, and fires them itself, so
each case reads as the incident's timeline. Two tables: commands the engine must refuse (and
leave the incident exactly as it was), and scenarios, one per behaviour, each asserting on
the effects and the state that follow.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from warroom.engine import events as ev
from warroom.engine import lifecycles as lc
from warroom.engine.context import Ctx
from warroom.engine.decide import Decision, decide, new_incident
from warroom.engine.effects import CancelTimer, Effect, SendMessage, StartTimer, Timer, TimerKind
from warroom.engine.registry import HANDLERS, handles
from warroom.engine.state import Incident
from warroom.errors import CommandRejected, EngineBug, UnreadableEvent
from warroom.playbook.model import CandidateTier, Playbook
from warroom.runtime.snapshot import Snapshot

LIBRARY = Path(__file__).parent.parent / "playbooks"
T0 = datetime.fromisoformat("2026-11-23T09:00:00+01:00")
FACTS = {"what_happened": "a leak of customer e-mail addresses"}
BOOK, ROSTER = Snapshot.capture(LIBRARY / "data-breach.yaml", LIBRARY / "roster.yaml").compile()
TEAM = ("anna-kowalska", "ewa-wisniewska", "piotr-zielinski", "michal-lewandowski")
APPROVERS = ("piotr-zielinski", "anna-kowalska")  # legal, crisis lead
DATA_CATEGORIES = {"data_categories": "e-mail addresses", "data_categories_pl": "adresy e-mail"}
"""The facts the regulator and customer notices require before anyone is asked to approve."""
ESCALATION = Timer(TimerKind.ESCALATION, "assemble")


class Desk:
    """One incident on a virtual clock; wake-ups fire when `wait` passes their moment."""

    def __init__(
        self, *, level: str = "incident", book: Playbook = BOOK, facts: dict[str, str] | None = None
    ) -> None:
        self.incident = new_incident("breach-1", book, ROSTER)
        self.now = T0
        self.timers: dict[Timer, tuple[int, datetime]] = {}
        self.effects: list[Effect] = []
        self.notes: list[str] = []
        self.decide(ev.Activated(level=level, facts=FACTS if facts is None else facts, by="test"))

    def decide(self, event: ev.Event) -> Decision:
        decision = decide(self.incident, event, self.now)
        for effect in decision.effects:
            if isinstance(effect, StartTimer):
                self.timers[effect.timer] = (effect.token, effect.at)
            elif isinstance(effect, CancelTimer):
                del self.timers[effect.timer]
        self.effects += decision.effects
        self.notes += decision.notes
        return decision

    def wait(self, minutes: float) -> None:
        """Fire every wake-up due by T0 + minutes, in time order, and stop the clock there."""
        until = T0 + timedelta(minutes=minutes)
        while due := sorted((at, str(t), t) for t, (_, at) in self.timers.items() if at <= until):
            at, _, timer = due[0]
            token, _ = self.timers.pop(timer)
            self.now = max(self.now, at)
            self.decide(ev.TimerFired(timer=str(timer), token=token, by="timer"))
        self.now = until

    def sent(self, purpose: str, **match: object) -> list[SendMessage]:
        return [
            e
            for e in self.effects
            if isinstance(e, SendMessage)
            and e.purpose == purpose
            and all(getattr(e, k) == v for k, v in match.items())
        ]

    def pages(self, person: str) -> int:
        """How many times a person was paged (each page has its code, on every channel)."""
        return len({m.code for m in self.sent("page", person=person)})

    def report(self, status: str, messages: list[SendMessage]) -> None:
        for message in messages:
            self.decide(ev.DeliveryReported(message=message.message, status=status))

    def step(self, step_id: str) -> str:
        return self.incident.steps[step_id].state

    def assemble(self, *people: str) -> None:
        for person in people or TEAM:
            self.decide(ev.Acknowledged(person=person))

    def approve(self, statement: str = "holding", people: tuple[str, ...] = APPROVERS) -> None:
        for person in people:
            self.decide(ev.Approved(statement=statement, person=person))

    def approved_holding(self) -> Desk:
        """The team assembled and the holding statement approved: released to staff."""
        self.assemble()
        self.approve()
        return self

    def released_holding(self) -> Desk:
        """The holding statement released to staff and, their messages settled and the step's
        5-minute hold over, the media."""
        self.approved_holding()
        self.report("delivered", self.sent("statement", audience="employees"))
        self.wait((self.now - T0) / timedelta(minutes=1) + 5)
        return self

    def ready_to_resolve(self) -> Desk:
        """The holding statement out and the closing statement approved by legal and the crisis
        lead, as the team does before resolving: the close is said with approved words."""
        self.released_holding()
        self.approve("closing")
        return self

    def saw(self, text: str) -> bool:
        return any(text in note for note in self.notes)


def fingerprint(incident: Incident) -> dict[str, Any]:
    """Everything decide may change: all of the incident but its playbook and roster."""
    return copy.deepcopy(
        {k: v for k, v in vars(incident).items() if k not in ("playbook", "roster")}
    )


def variant(**changes: Any) -> Playbook:
    return dataclasses.replace(BOOK, **changes)


# -- what the engine refuses, and leaves untouched ----------------------------------------------


def fresh() -> Desk:
    return Desk()


def acknowledged() -> Desk:
    desk = Desk()
    desk.assemble()
    return desk


def released() -> Desk:
    return Desk().released_holding()


def approved_by_legal() -> Desk:
    desk = acknowledged()
    desk.approve(people=("piotr-zielinski",))
    return desk


def counting_company() -> Desk:
    company = dataclasses.replace(BOOK.facts["company"], kind="number")
    return Desk(book=variant(facts={**BOOK.facts, "company": company}))


def boolean_contained() -> Playbook:
    """The library's `contained` ("yes" or "no", as text) made a `boolean` fact, with the
    regulator notice testing it as one: the engine's own kind, which no shipped playbook
    uses any more."""
    contained = dataclasses.replace(BOOK.facts["contained"], kind="boolean", max_length=None)
    notice = BOOK.statements["regulator-notice"]
    text = {
        k: v.replace('contained == "yes"', 'contained == "true"') for k, v in notice.text.items()
    }
    return variant(
        facts={**BOOK.facts, "contained": contained},
        statements={**BOOK.statements, "regulator-notice": dataclasses.replace(notice, text=text)},
    )


def containing() -> Desk:
    return Desk(book=boolean_contained())


def resolved() -> Desk:
    desk = Desk().ready_to_resolve()
    desk.decide(ev.Resolved(summary="contained"))
    return desk


class Rumour(ev.Event):
    """An event the engine has no handler for (no `kind`, so it is not even loggable)."""


Command = ev.Event | Callable[[Desk], ev.Event]
"""An event, or how to make it from the incident as it stands (naming one of its messages)."""

REFUSED: list[tuple[str, Callable[[], Desk], Command, str]] = [
    ("activate twice", fresh, ev.Activated(level="incident"), "incident breach-1 is already active"),
    ("unhandled event", fresh, Rumour(), "the engine does not know the event ''"),
    ("unknown level", fresh, ev.LevelRaised(level="mayhem"), "unknown level 'mayhem' for data-breach (expected one of: watch, incident, crisis)"),
    ("raise to the same level", fresh, ev.LevelRaised(level="incident"), "level 'incident' is not above the current level 'incident'"),
    ("lower to a higher level", fresh, ev.LevelLowered(level="crisis"), "level 'crisis' is not below the current level 'incident'"),
    ("ack by a stranger", fresh, ev.Acknowledged(person="zofia"), "unknown person 'zofia' (not in this incident's roster)"),
    ("ack with another's code", fresh, ev.Acknowledged(person="anna-kowalska", code="0000"), "code '0000' was not sent to Anna Kowalska"),
    ("ack of an unknown step", fresh, ev.Acknowledged(person="anna-kowalska", step="lunch"), "unknown step 'lunch' (expected one of: "),
    ("ack of a step not paging", fresh, ev.Acknowledged(person="anna-kowalska", step="approve-holding"), "Anna Kowalska has no open page for step 'approve-holding' (open: assemble)"),
    ("ack by someone not paged", fresh, ev.Acknowledged(person="krzysztof-mazur"), "Krzysztof Mazur was not paged, or has already acknowledged"),
    ("ack twice", acknowledged, ev.Acknowledged(person="anna-kowalska"), "Anna Kowalska was not paged, or has already acknowledged"),
    ("approval before a request", fresh, ev.Approved(statement="holding", person="anna-kowalska"), "Holding statement is not waiting for approval"),
    ("approval of an unknown statement", fresh, ev.Approved(statement="tweet", person="anna-kowalska"), "unknown statement 'tweet' (expected one of: closing, customer-notice, holding, key-messages, qa:data-affected, qa:how-many, qa:regulator, qa:what-data, qa:what-to-do, regulator-notice, update)"),
    ("approval by a non-approver", acknowledged, ev.Approved(statement="holding", person="ewa-wisniewska"), "Ewa Wiśniewska is not an approver of Holding statement (legal: Piotr Zieliński, crisis_lead: Anna Kowalska)"),
    ("approval with a code not sent", acknowledged, ev.Approved(statement="holding", person="anna-kowalska", code="0000"), "code '0000' was not sent to Anna Kowalska"),
    ("approval of a released version", released, ev.Approved(statement="holding", person="anna-kowalska"), "Holding statement v1 is already released; use `warroom correct` to issue a correction"),
    ("approval twice", approved_by_legal, ev.Approved(statement="holding", person="piotr-zielinski"), "Piotr Zieliński has already approved Holding statement v1"),
    ("rejection without a reason", acknowledged, ev.Rejected(statement="holding", person="anna-kowalska", reason=" "), "a rejection needs a reason (--reason), so the owner can revise"),
    ("unknown fact", fresh, ev.FactUpdated(facts={"colour": "red"}), "unknown fact 'colour' for data-breach (expected one of: "),
    ("fact too long", fresh, ev.FactUpdated(facts={"company": "x" * 41}), "fact company: 41 characters, over max_length 40"),
    ("fact naming no person", fresh, ev.FactUpdated(facts={"implicated": "zofia"}), "fact implicated: 'zofia' is not a person in the roster (expected a person id)"),
    ("fact that is no number", counting_company, ev.FactUpdated(facts={"company": "Acme"}), "fact company: 'Acme' is not a number"),
    ("fact neither true nor false", containing, ev.FactUpdated(facts={"contained": "maybe"}), "fact contained: 'maybe' is not true or false"),
    ("no fact", fresh, ev.FactUpdated(facts={}), "no fact given (expected NAME=VALUE)"),
    ("reassign an unknown role", fresh, ev.Reassigned(role="mascot", person="anna-kowalska"), "unknown role 'mascot' (expected one of: crisis_lead, legal, media_relations, security_lead, spokesperson)"),
    ("reassign to a stranger", fresh, ev.Reassigned(role="legal", person="zofia"), "unknown person 'zofia' (not in this incident's roster)"),
    ("reassign to the holder", fresh, ev.Reassigned(role="legal", person="piotr-zielinski"), "Piotr Zieliński already holds legal"),
    ("escalate a step not paging", fresh, ev.EscalationRequested(step="approve-holding"), "step 'approve-holding' is not waiting for acknowledgement (waiting: assemble)"),
    ("escalate with nobody waiting", acknowledged, ev.EscalationRequested(), "no step with an escalation ladder is waiting for acknowledgement"),
    ("empty note", fresh, ev.NoteAdded(text="  "), "a note needs some text"),
    ("inquiry without a question", fresh, ev.MediaInquiryLogged(outlet="TVN24", question=""), "a media inquiry needs --outlet and --question"),
    ("correct what was never released", fresh, ev.CorrectionIssued(statement="holding", reason="typo"), "Holding statement has not been released; there is nothing to correct"),
    ("correct an unknown statement", fresh, ev.CorrectionIssued(statement="tweet", reason="typo"), "unknown statement 'tweet' (expected one of: "),
    ("receipt for an unknown message", fresh, ev.DeliveryReported(message="m0", status="sent"), "unknown message 'm0' in incident breach-1"),
    ("receipt with an unknown status", fresh, lambda d: ev.DeliveryReported(message=d.sent("page")[0].message, status="lost"), "unknown delivery status 'lost' (expected sent, delivered, printed, withheld, failed or undeliverable)"),
    ("contacts for an unknown audience", fresh, ev.ContactsLoaded(audience="clients", source="a.csv", contacts=[{"name": "Jan Kot", "email": "jan@example.com"}]), "unknown audience 'clients' for data-breach (audiences loaded during an incident: customers)"),
    ("contacts for a roster audience", fresh, ev.ContactsLoaded(audience="media", source="a.csv", contacts=[{"name": "Jan Kot", "email": "jan@example.com"}]), "audience 'media' (Media) takes its contacts from the roster; only an audience declared `contacts: at_release` is loaded during an incident (customers)"),
    ("cancel without a reason", fresh, ev.Cancelled(reason=""), "cancelling needs a reason"),
    ("close an active incident", fresh, ev.Closed(), "incident breach-1 is active; cannot close (possible now: resolve, cancel)"),
    ("raise once resolved", resolved, ev.LevelRaised(level="crisis"), "incident breach-1 is resolved"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("setup", "event", "message"),
    [case[1:] for case in REFUSED],
    ids=[case[0] for case in REFUSED],
)
def test_a_refused_command_changes_nothing(
    setup: Callable[[], Desk], event: Command, message: str
) -> None:
    desk = setup()
    before = fingerprint(desk.incident)
    with pytest.raises(CommandRejected) as refused:
        desk.decide(event if isinstance(event, ev.Event) else event(desk))
    assert str(refused.value).startswith(message)
    assert fingerprint(desk.incident) == before


def test_a_refused_activation_leaves_a_new_incident_new() -> None:
    incident = new_incident("breach-2", BOOK, ROSTER)
    before = fingerprint(incident)
    for event, message in [
        (ev.Activated(level="incident"), "missing required facts: what_happened"),
        (ev.Activated(level="mayhem", facts=FACTS), "unknown level 'mayhem'"),
    ]:
        with pytest.raises(CommandRejected, match=message):
            decide(incident, event, T0)
        assert fingerprint(incident) == before
    with pytest.raises(CommandRejected, match=r"^incident breach-2 is new$"):
        decide(incident, ev.NoteAdded(text="too early"), T0)


# -- behaviours, one scenario each -----------------------------------------------------------


def activation() -> Desk:
    desk = Desk()
    assert desk.incident.state == "active"
    assert desk.incident.roles["spokesperson"].person == "ewa-wisniewska"
    pages = desk.sent("page")
    assert {p.person for p in pages} == set(TEAM)
    assert {p.channel for p in pages} == {"sms", "email"}
    assert len({p.code for p in pages}) == len(TEAM)  # one code per person, on both channels
    assert desk.step("assemble") == "paged"
    assert desk.step("approve-holding") == "waiting"
    assert desk.step("approve-regulator-notice") == "dormant"
    assert desk.timers[ESCALATION][1] == T0 + timedelta(minutes=10)
    return desk


def acknowledgement_completes_the_page() -> Desk:
    desk = Desk()
    desk.assemble("anna-kowalska")
    assert desk.saw("still waiting for Spokesperson, Legal approver, Security lead")
    code = next(p.code for p in desk.sent("page", person="ewa-wisniewska"))
    desk.decide(ev.Acknowledged(person="ewa-wisniewska", code=code))
    desk.decide(ev.Acknowledged(person="piotr-zielinski", step="assemble"))
    desk.assemble("michal-lewandowski")
    assert desk.step("assemble") == "done"
    assert desk.saw("(ack within 10m met); paging stops")
    assert desk.step("approve-holding") == "awaiting_approval"
    assert {m.person for m in desk.sent("approval", statement="holding")} == set(APPROVERS)
    return desk


def staff_hear_first_then_the_media() -> Desk:
    desk = Desk().approved_holding()
    staff = desk.sent("statement", audience="employees")
    assert staff
    assert not desk.sent("statement", audience="media")
    assert desk.step("release-holding") == "released"
    desk.report("sent", staff[:-1])
    desk.report("delivered", staff[:-1])  # sent, then delivered: settled once
    assert not desk.sent("statement", audience="media")
    desk.report("delivered", staff[-1:])
    desk.wait(4)
    assert not desk.sent("statement", audience="media")  # settled, but the hold is 5m
    desk.wait(5)
    assert desk.saw(
        "Release the holding statement, staff first: next audience goes after the hold of 5m"
    )
    assert desk.sent("statement", audience="media")
    assert desk.step("release-holding") == "done"
    state = desk.incident.steps["release-holding"]
    assert (state.pending, state.unsettled) == (set(), 0)  # a finished step holds nothing
    return desk


def the_next_audience_goes_anyway() -> Desk:
    desk = Desk().approved_holding()
    desk.wait(9)
    assert not desk.sent("statement", audience="media")
    desk.wait(11)
    assert desk.saw("next audience goes after 10m")
    assert desk.sent("statement", audience="media")
    assert desk.step("release-holding") == "done"
    return desk


def without_a_hold_the_next_audience_goes_once_settled() -> Desk:
    desk = Desk(book=with_step("release-holding", hold=None)).approved_holding()
    desk.report("delivered", desk.sent("statement", audience="employees"))
    assert desk.sent("statement", audience="media")  # at the same moment: no hold was asked
    return desk


def a_hold_never_cuts_the_ten_minute_cap_short() -> Desk:
    """Messages still unanswered when the hold is over: the next audience waits for them, up
    to the ten minutes it always waits at most."""
    desk = Desk().approved_holding()
    desk.wait(9)
    assert not desk.sent("statement", audience="media")
    desk.wait(10)
    assert desk.saw("next audience goes after 10m")
    assert desk.sent("statement", audience="media")
    return desk


def a_failed_message_fails_over() -> Desk:
    desk = Desk().released_holding()
    email = desk.sent("statement", audience="media", channel="email")[0]
    desk.decide(ev.DeliveryReported(message=email.message, status="failed", detail="550"))
    assert desk.saw(f"Message to {email.recipient} by email failed: 550")
    assert desk.saw(f"{email.recipient}: failed over from email to sms")
    assert desk.sent("statement", audience="media", channel="sms", recipient=email.recipient)
    before = len(desk.notes)
    desk.decide(ev.DeliveryReported(message=email.message, status="delivered"))  # too late
    assert len(desk.notes) == before
    return desk


def a_message_already_on_the_other_channel_is_not_repeated() -> Desk:
    desk = Desk().approved_holding()
    staff_sms = desk.sent("statement", audience="employees", channel="sms")[0]
    desk.decide(ev.DeliveryReported(message=staff_sms.message, status="undeliverable"))
    assert desk.saw(f"{staff_sms.recipient}: already reached by email")
    assert len(desk.sent("statement", recipient=staff_sms.recipient)) == 2
    return desk


def a_failed_page_fails_over_where_it_can() -> Desk:
    desk = Desk()
    page = desk.sent("page", person="ewa-wisniewska", channel="sms")[0]
    desk.decide(ev.DeliveryReported(message=page.message, status="failed"))
    assert desk.saw("Ewa Wiśniewska: already reached by email")
    return desk


def staff_first_waits_for_fail_overs() -> Desk:
    """An audience's failed message and its fail-over: the next audience waits for both."""
    book = variant(
        steps=tuple(
            dataclasses.replace(s, to=("media", "employees"), hold=None)
            if s.id == "release-holding"
            else s
            for s in BOOK.steps
        )
    )
    desk = Desk(book=book)
    desk.assemble()
    desk.approve()
    media = desk.sent("statement", audience="media")
    desk.report("failed", media[:1])
    desk.report("delivered", media[1:])
    assert not desk.sent("statement", audience="employees")
    fail_over = desk.sent("statement", audience="media", channel="sms")
    assert len(fail_over) == 1
    desk.report("delivered", fail_over)
    assert desk.sent("statement", audience="employees")
    return desk


def a_rejection_goes_back_to_the_owner() -> Desk:
    desk = Desk()
    desk.assemble()
    desk.decide(ev.Rejected(statement="holding", person="piotr-zielinski", reason="too vague"))
    assert desk.saw("Holding statement v1: rejected by Piotr Zieliński: too vague")
    assert desk.sent("notice", person="anna-kowalska", step="statement:holding")
    desk.decide(ev.FactUpdated(facts={"what_happened": "a leak of delivery addresses"}))
    assert desk.saw("Holding statement v2 drafted")
    assert {m.person for m in desk.sent("approval", version=2)} == set(APPROVERS)
    desk.approve()
    assert desk.sent("statement", version=2, audience="employees")
    return desk


def a_changed_fact_voids_earlier_approvals() -> Desk:
    desk = Desk()
    desk.assemble()
    desk.approve(people=("piotr-zielinski",))
    desk.decide(ev.FactUpdated(facts={"what_happened": "a leak of delivery addresses"}))
    assert desk.saw("earlier approvals were of v1; v2 needs approval again")
    desk.decide(ev.FactUpdated(facts={"hotline": "+48 22 123 45 67"}))  # the same texts
    assert not desk.saw("v3 drafted")
    return desk


def escalation_by_hand() -> Desk:
    desk = Desk()
    desk.assemble("anna-kowalska", "piotr-zielinski", "michal-lewandowski")
    desk.decide(ev.EscalationRequested(step="assemble", by="anna-kowalska"))
    assert desk.saw("Assemble the crisis team: escalated by hand by anna-kowalska")
    assert desk.saw("Spokesperson: Ewa Wiśniewska did not acknowledge; moves to Anna Kowalska")
    assert desk.step("assemble") == "escalated"
    desk.decide(ev.EscalationRequested())  # the next rung: the CEO, and the crisis level
    assert desk.incident.level == "crisis"
    assert desk.sent("page", person="krzysztof-mazur")
    desk.assemble("krzysztof-mazur")  # an escalation target takes the page over
    assert desk.step("assemble") == "done"
    return desk


def the_escalation_ladder_on_its_own() -> Desk:
    desk = Desk()
    desk.assemble("anna-kowalska", "piotr-zielinski", "michal-lewandowski")
    desk.wait(10)
    assert desk.incident.roles["spokesperson"].person == "anna-kowalska"
    desk.wait(20)  # the CEO is paged, the level is raised, and the CEO becomes spokesperson
    assert desk.incident.level == "crisis"
    assert desk.incident.roles["spokesperson"].person == "krzysztof-mazur"
    assert desk.step("approve-regulator-notice") == "waiting"  # woken by the level
    assert desk.pages("krzysztof-mazur") == 1  # once, though a target and now spokesperson
    desk.wait(30)  # the last rung: everyone not yet answering is paged again
    assert desk.pages("krzysztof-mazur") == 2
    assert desk.pages("piotr-zielinski") == 1  # answered: not chased
    assert desk.timers[ESCALATION][1] == T0 + timedelta(minutes=40)
    desk.now = T0 + timedelta(minutes=75)  # a worker back after a while re-pages once
    desk.wait(75)
    assert desk.pages("krzysztof-mazur") == 3
    assert desk.timers[ESCALATION][1] == T0 + timedelta(minutes=80)
    return desk


def a_silent_team_breaches_the_sla() -> Desk:
    desk = Desk()
    desk.wait(31)
    assert desk.saw("Approve the holding statement: SLA 30m breached")
    assert desk.incident.steps["approve-holding"].due_outcome == "breached"
    return desk


def a_late_approval_reports_the_breach() -> Desk:
    desk = Desk()
    desk.assemble()
    desk.wait(40)
    desk.approve()
    assert desk.saw("Approve the holding statement: done 40m after activation; SLA 30m breached")
    return desk


def a_stale_wake_up_is_ignored() -> Desk:
    desk = Desk()
    token, _ = desk.timers[ESCALATION]
    for timer, stale in (("esc:assemble", token - 1), ("lunch:assemble", 1)):
        decision = desk.decide(ev.TimerFired(timer=timer, token=stale))
        assert decision.notes == [f"wake-up {timer} #{stale} is stale; ignored"]
        assert not decision.effects
    return desk


def raising_the_level_hands_roles_over() -> Desk:
    desk = Desk()
    desk.decide(ev.LevelRaised(level="crisis", reason="data confirmed"))
    assert desk.saw("Level raised from incident to crisis (data confirmed)")
    assert desk.incident.roles["spokesperson"].person == "krzysztof-mazur"
    assert desk.sent("page", person="krzysztof-mazur")  # the page is still open: paged
    assert desk.step("approve-regulator-notice") == "waiting"
    return desk


def a_new_holder_after_the_page_is_told() -> Desk:
    desk = Desk()
    desk.assemble()
    desk.decide(ev.FactUpdated(facts=DATA_CATEGORIES))
    desk.decide(ev.LevelRaised(level="crisis"))
    # the page has been answered, so the CEO taking the role over at crisis is not paged but
    # briefed: the spokesperson faces the press in any language, whoever drafts the words
    told = desk.sent("briefing", person="krzysztof-mazur", step="role:spokesperson")
    assert told
    assert all("Spokesperson" in m.text for m in told)
    assert not desk.sent("page", person="krzysztof-mazur")
    assert desk.step("approve-regulator-notice") == "awaiting_approval"
    return desk


def lowering_the_level_withdraws_nothing() -> Desk:
    desk = Desk()
    sent = len(desk.effects)
    desk.decide(ev.LevelLowered(level="watch", by="anna-kowalska"))
    assert desk.incident.level == "watch"
    assert desk.saw("Level lowered from incident to watch (by anna-kowalska); nothing sent")
    assert len(desk.effects) == sent
    return desk


def reassignment_pages_the_new_holder() -> Desk:
    desk = Desk()
    desk.decide(ev.Reassigned(role="legal", person="joanna-szymanska", by="anna-kowalska"))
    assert desk.incident.roles["legal"].person == "joanna-szymanska"
    assert desk.sent("page", person="joanna-szymanska")
    assert desk.saw("Legal approver: Piotr Zieliński -> Joanna Szymańska, assigned by anna")
    desk.decide(ev.Reassigned(role="legal", person="piotr-zielinski"))
    assert desk.incident.roles["legal"].tried == [
        "piotr-zielinski",
        "joanna-szymanska",
        "piotr-zielinski",
    ]
    return desk


def a_correction_goes_to_everyone_who_heard() -> Desk:
    desk = Desk().released_holding()
    desk.decide(ev.CorrectionIssued(statement="holding", reason="wrong hotline"))
    assert desk.saw("Holding statement: correction v2 (wrong hotline)")
    assert not desk.sent("statement", step="correct:holding")
    desk.approve()
    corrected = desk.sent("statement", step="correct:holding")
    assert {m.audience for m in corrected} == {"employees", "media"}
    assert desk.saw("Holding statement v2 correction to All staff")
    return desk


def a_correction_without_approvers_goes_at_once() -> Desk:
    holding = dataclasses.replace(BOOK.statements["holding"], approvers=())
    steps = tuple(s for s in BOOK.steps if s.id != "approve-holding")
    steps = tuple(
        dataclasses.replace(s, after=("assemble",)) if s.id == "release-holding" else s
        for s in steps
    )
    desk = Desk(book=variant(statements={**BOOK.statements, "holding": holding}, steps=steps))
    desk.assemble()
    desk.wait(10)
    desk.decide(ev.CorrectionIssued(statement="holding", reason="wrong hotline"))
    assert {m.audience for m in desk.sent("statement", step="correct:holding")} == {
        "employees",
        "media",
    }
    return desk


def recurring_updates_wait_for_approval() -> Desk:
    desk = Desk().released_holding()  # at 09:00, promising its audiences an update by 11:00
    desk.decide(ev.FactUpdated(facts={"progress": "The affected server is isolated."}))
    desk.approve("update", ("anna-kowalska",))
    assert desk.step("updates") == "released"  # something new: it goes at once
    desk.wait(16)  # released at +5m, after the holding statement's hold
    assert desk.step("updates") == "done"
    desk.wait(2 * 60 + 16)
    assert desk.saw("Regular updates: update 2 is due")
    assert desk.step("updates") == "awaiting_approval"
    assert desk.saw("Regular updates: waits for approval of Update")
    desk.approve("update", ("anna-kowalska",))
    assert desk.step("updates") == "released"
    assert desk.sent("statement", statement="update", version=3)
    return desk


def times_are_filled_in_at_release() -> Desk:
    desk = Desk().approved_holding()  # approved at 09:00: staff hear at once
    request = desk.sent("approval", statement="holding", channel="email")[0]
    assert "[time of the next update: filled in at release]" in request.text
    assert "\ue000" not in request.text
    desk.wait(10)  # staff's messages unanswered: the media go after the 10 minutes' hold
    staff = desk.sent("statement", audience="employees", channel="email")
    media = desk.sent("statement", audience="media", channel="email")
    assert all("update by 11:00" in m.text or "do godz. 11:00" in m.text for m in staff)
    assert all("update by 11:10" in m.text or "do godz. 11:10" in m.text for m in media)
    releases = {r.audience: r for r in desk.incident.statements["holding"].releases}
    assert releases["media"].promised == T0 + timedelta(minutes=130)
    assert "11:10" in releases["media"].sms
    assert "\ue000" not in releases["media"].text
    return desk


def a_promise_nobody_keeps_is_recorded_missed() -> Desk:
    desk = Desk().released_holding()  # update promised by 11:00; the update is not approved
    desk.wait(90)  # 75% of the two hours: the lead is reminded
    # the update's owner is reminded: media relations, who drafts it in the shipped library
    assert desk.saw(
        "Update to All staff promised by 11:00: 75% of the interval gone; Marcin Pietrzak reminded"
    )
    assert not desk.sent("notice", person="marcin-pietrzak", step="promise:media")
    desk.wait(95)  # the media heard 5 minutes later (the step's hold): so is their promise
    assert desk.sent("notice", person="marcin-pietrzak", step="promise:media")
    desk.wait(126)
    assert desk.saw("Promise missed: Media were promised an update by 11:05")
    missed = {m.audience: m for m in desk.incident.promises_missed}
    assert set(missed) == {"employees", "media"}
    assert missed["media"].released_at is None
    desk.wait(130)
    desk.approve("update", ("anna-kowalska",))
    assert desk.saw("Promise missed: All staff were promised an update by 11:00; Update v1")
    assert missed["employees"].released_at == T0 + timedelta(minutes=130)
    assert desk.incident.promises["employees"].due == T0 + timedelta(minutes=250)
    return desk


def nothing_new_waits_for_the_promise() -> Desk:
    desk = Desk().released_holding()  # update promised by 11:00
    desk.approve("update", ("anna-kowalska",))
    assert desk.saw("Regular updates: nothing new for its audiences and no promised update near")
    assert not desk.sent("statement", statement="update")
    desk.wait(90)  # a quarter of the interval before the promise: the approved update goes
    assert desk.saw("Update v1 released to All staff")
    release = desk.incident.statements["update"].releases[0]
    assert release.at == T0 + timedelta(minutes=90)
    assert "10:30" in release.text
    assert "12:30" in release.text
    return desk


def a_person_asks_for_an_update_with_nothing_new() -> Desk:
    desk = Desk().released_holding()
    desk.approve("update", ("anna-kowalska",))
    assert not desk.sent("statement", statement="update")  # nothing new, promise far
    desk.wait(20)
    desk.decide(ev.UpdateRequested(audiences=("media",), by="anna-kowalska"))
    assert desk.saw("Update asked for by anna-kowalska: Media")
    assert desk.sent("statement", statement="update", audience="media")
    assert not desk.sent("statement", statement="update", audience="employees")
    return desk


def a_changed_fact_makes_a_released_statement_stale() -> Desk:
    desk = Desk().released_holding()
    desk.wait(27)
    desk.decide(ev.FactUpdated(facts={"what_happened": "a leak of names and addresses"}))
    holding = desk.incident.statements["holding"]
    assert set(holding.stale) == {"employees", "media"}
    assert desk.incident.went_stale[0].changes == (
        ("what_happened", FACTS["what_happened"], "a leak of names and addresses"),
    )
    assert desk.saw("Stale: Holding statement as released to All staff, Media")
    asked = desk.sent("notice", person="anna-kowalska", step="statement:holding")
    assert "-> 'a leak of names and addresses'" in asked[0].text
    assert holding.draft is not None
    assert holding.draft.correction
    desk.approve()
    english = desk.sent("statement", statement="holding", version=2, language="en")
    polish = desk.sent("statement", statement="holding", version=2, language="pl")
    assert all(m.text.startswith("CORRECTION:") for m in english)  # the roster is Polish
    drafted = holding.draft.texts[("media", "en")]
    # the media heard it at 09:05, after the step's hold: their correction says so
    assert drafted.text.startswith("CORRECTION: this replaces our statement of 09:05.")
    assert drafted.subject.startswith("CORRECTION:")
    assert drafted.sms.startswith("CORRECTION:")
    assert polish
    heard = {"employees": "09:00", "media": "09:05"}
    assert all(
        m.text.startswith(f"SPROSTOWANIE: zastępuje nasze oświadczenie z {heard[str(m.audience)]}.")
        for m in polish
    )
    assert not holding.stale
    return desk


def notes_and_media_inquiries() -> Desk:
    desk = Desk()
    desk.decide(ev.NoteAdded(text="security call at 9:30", by="anna-kowalska"))
    desk.decide(
        ev.MediaInquiryLogged(outlet="TVN24", question="Is data leaked?", journalist="J. Nowak")
    )
    desk.decide(ev.MediaInquiryLogged(outlet="Onet", question="How many?"))
    assert desk.saw("Note by anna-kowalska: security call at 9:30")
    assert desk.saw("Media inquiry #1 from J. Nowak, TVN24: Is data leaked?")
    assert desk.saw("Media inquiry #2 from Onet: How many?")
    assert [i.outlet for i in desk.incident.inquiries] == ["TVN24", "Onet"]
    return desk


def resolving_then_closing() -> Desk:
    desk = Desk().ready_to_resolve()
    desk.decide(ev.Resolved(summary="contained", by="anna-kowalska"))
    assert desk.incident.state == "resolved"
    assert not desk.timers
    assert desk.step("say-closing") == "done"
    assert desk.step("approve-update") == "cancelled"  # open steps stop
    desk.decide(ev.NoteAdded(text="lessons learnt"))  # the record still grows
    desk.decide(ev.Closed(by="anna-kowalska"))
    assert desk.incident.state == "closed"
    assert desk.saw("Incident closed by anna-kowalska")
    return desk


def cancelling_a_false_alarm() -> Desk:
    desk = Desk()
    desk.decide(ev.Cancelled(reason="false alarm", by="michal-lewandowski"))
    assert desk.incident.state == "cancelled"
    assert desk.saw("Incident cancelled by michal-lewandowski: false alarm")
    assert not desk.timers
    assert {s.state for s in desk.incident.steps.values()} == {"cancelled"}
    with pytest.raises(CommandRejected, match="incident breach-1 is cancelled"):
        desk.decide(ev.NoteAdded(text="too late"))
    return desk


def a_closed_incident_ignores_its_wake_ups() -> Desk:
    desk = Desk().ready_to_resolve()
    timer, (token, _) = min(desk.timers.items(), key=lambda item: str(item[0]))
    desk.decide(ev.Resolved())
    decision = desk.decide(ev.TimerFired(timer=str(timer), token=token))
    assert decision.notes == [f"wake-up {timer} #{token} is stale; ignored"]
    return desk


def a_watch_level_pages_and_waits() -> Desk:
    desk = Desk(level="watch", facts={**FACTS, "implicated": "ewa-wisniewska"})
    assert desk.incident.roles["spokesperson"].person == "anna-kowalska"  # never the implicated
    assert desk.step("approve-holding") == "dormant"
    desk.assemble(*(p for p in TEAM if p != "ewa-wisniewska"))
    assert desk.step("assemble") == "done"
    assert desk.step("approve-holding") == "dormant"
    return desk


def two_open_pages_need_a_step() -> Desk:
    assemble = BOOK.step("assemble")
    again = dataclasses.replace(assemble, id="assemble-again", title="Assemble again")
    desk = Desk(book=variant(steps=(*BOOK.steps, again)))
    with pytest.raises(CommandRejected, match="has open pages for assemble, assemble-again"):
        desk.decide(ev.Acknowledged(person="anna-kowalska"))
    desk.decide(ev.Acknowledged(person="anna-kowalska", step="assemble-again"))
    assert "anna-kowalska" in desk.incident.steps["assemble-again"].acked
    return desk


def with_roles(**tiers: tuple[str, ...]) -> Playbook:
    """The playbook with some roles' candidates replaced (no candidates: nobody holds it)."""
    roles = dict(BOOK.roles)
    for role, pick in tiers.items():
        roles[role] = dataclasses.replace(
            roles[role], tiers=(CandidateTier(None, pick),) if pick else ()
        )
    return variant(roles=roles)


def with_audience(audience_id: str, **changes: Any) -> Playbook:
    audience = dataclasses.replace(BOOK.audiences[audience_id], **changes)
    return variant(audiences={**BOOK.audiences, audience_id: audience})


def with_step(step_id: str, **changes: Any) -> Playbook:
    return variant(
        steps=tuple(dataclasses.replace(s, **changes) if s.id == step_id else s for s in BOOK.steps)
    )


def a_step_waits_for_the_facts_it_requires() -> Desk:
    desk = Desk(book=with_step("approve-holding", requires_facts=("data_categories",)))
    desk.assemble()
    assert desk.step("approve-holding") == "waiting"
    assert desk.saw(
        "Approve the holding statement: waits for facts data_categories (`warroom fact NAME=VALUE`)"
    )
    assert not desk.sent("approval", statement="holding")
    desk.decide(ev.FactUpdated(facts={"data_categories": "still being established"}))
    assert desk.step("approve-holding") == "waiting"  # its default is no answer
    desk.decide(ev.FactUpdated(facts={"data_categories": "e-mail addresses"}))
    assert desk.step("approve-holding") == "awaiting_approval"
    assert desk.incident.steps["approve-holding"].waits_for_facts == ()
    assert {m.person for m in desk.sent("approval", statement="holding")} == set(APPROVERS)
    return desk


def a_yes_or_no_fact_decides_what_a_statement_claims() -> Desk:
    desk = Desk(book=boolean_contained())
    desk.assemble()
    # the notice names the data concerned before anyone is asked to approve it
    desk.decide(ev.FactUpdated(facts=DATA_CATEGORIES))
    desk.decide(ev.LevelRaised(level="crisis", by="anna-kowalska"))

    def notice(language: str) -> str:
        draft = desk.incident.statements["regulator-notice"].draft
        assert draft is not None
        return " ".join(draft.texts[("regulator", language)].text.split())

    assert "Measures taken: work to contain the incident is under way, and" in notice("en")
    assert "has been contained" not in notice("en")
    desk.decide(ev.FactUpdated(facts={"contained": "TRUE"}, by="anna-kowalska"))
    assert desk.incident.facts["contained"] == "true"
    assert "Measures taken: the incident has been contained, and it is" in notice("en")
    assert "Podjęte działania: incydent został opanowany; sprawa" in notice("pl")
    assert "trwają działania" not in notice("pl")
    assert desk.saw("Notice to the President of UODO (GDPR art. 33) v2 drafted")
    return desk


def a_correction_drafted_mid_release_holds_the_rest_for_its_approvers() -> Desk:
    """Staff heard v1; a fact changes before the media's turn: the media never get the
    correction unapproved, nor the words we no longer stand by, but v2 once approved."""
    desk = Desk().approved_holding()
    desk.decide(ev.FactUpdated(facts={"what_happened": "a leak of delivery addresses"}))
    assert desk.saw("Holding statement: correction v2")
    desk.wait(10)  # the 10 minutes' cap is over: the media would be next
    assert desk.saw(
        "Release the holding statement, staff first: Media waits for approval of "
        "Holding statement v2"
    )
    assert not desk.sent("statement", audience="media")
    desk.approve()
    (v1_staff, v2_staff, v2_media) = dict.fromkeys(
        (r.version, r.audience, frozenset(p for _, p in r.approved_by))
        for r in desk.incident.statements["holding"].releases
    )
    assert v1_staff == (1, "employees", frozenset(APPROVERS))
    assert v2_staff == (2, "employees", frozenset(APPROVERS))
    assert v2_media == (2, "media", frozenset(APPROVERS))
    assert desk.sent("statement", audience="media", version=2)
    return desk


def a_closing_message_is_said_on_resolve_once_approved() -> Desk:
    desk = Desk()
    assert desk.step("say-closing") == "waiting"  # never before the incident is resolved
    before = fingerprint(desk.incident)
    with pytest.raises(CommandRejected) as refused:
        desk.decide(ev.Resolved(summary="contained", by="anna-kowalska"))
    assert str(refused.value) == (
        "cannot resolve yet: Close the incident with staff and the press: Closing statement has "
        "no version to approve yet (its approve step has not started)"
    )
    assert fingerprint(desk.incident) == before
    desk.released_holding()  # the closing statement is asked for once the holding one is out
    with pytest.raises(CommandRejected) as refused:
        desk.decide(ev.Resolved(summary="contained", by="anna-kowalska"))
    assert str(refused.value) == (
        "cannot resolve yet: Close the incident with staff and the press: Closing statement v1 "
        "is said on resolve and is not approved (waits for legal: Piotr Zieliński, "
        "crisis_lead: Anna Kowalska; `warroom approve closing`)"
    )
    desk.approve("closing")
    assert not desk.sent("statement", statement="closing")
    desk.decide(ev.Resolved(summary="contained", by="anna-kowalska"))
    said = desk.sent("statement", statement="closing")
    assert {m.audience for m in said} == {"employees", "media"}  # at once: nothing waits now
    assert any(
        m.audience == "media" and "Zakończyliśmy działania w związku z incydentem" in m.text
        for m in said
    )
    assert desk.saw("Closing statement v1 released to All staff")
    assert desk.step("say-closing") == "done"
    assert desk.incident.state == "resolved"
    return desk


CUSTOMERS = [
    {"name": "Jan Kot", "email": "jan@example.com", "phone": "", "language": "pl"},
    {"name": "Ann Lee", "email": "ann@example.com", "phone": "+48605111222", "language": "en"},
]


def a_release_waits_for_contacts_given_during_the_incident() -> Desk:
    book = with_audience("customers", groups=(), contacts_at_release=True)
    desk = Desk(book=book).released_holding()
    desk.decide(ev.LevelRaised(level="crisis", by="anna-kowalska"))
    desk.decide(ev.FactUpdated(facts=DATA_CATEGORIES))  # the notices' `requires_facts`
    desk.approve("regulator-notice")  # the letter goes once UODO has been notified
    assert desk.step("notify-regulator") == "done"
    desk.approve("customer-notice")
    assert desk.step("notify-customers") == "released"
    assert desk.incident.steps["notify-customers"].waits_for_contacts == "customers"
    assert desk.saw(
        "Write to the customers affected: waits for the contacts of Customers affected "
        "(`warroom contacts load customers FILE.csv`)"
    )
    assert not desk.sent("statement", audience="customers")
    rejected = ev.ContactsLoaded(audience="customers", source="a.csv", contacts=[], by="anna")
    with pytest.raises(
        CommandRejected, match=r"a\.csv: no contacts to load for Customers affected"
    ):
        desk.decide(rejected)
    desk.decide(ev.ContactsLoaded(audience="customers", source="a.csv", contacts=CUSTOMERS))
    letters = desk.sent("statement", audience="customers")
    assert {(m.address, m.language) for m in letters} == {
        ("jan@example.com", "pl"),
        ("ann@example.com", "en"),  # e-mail only: the audience's channels
    }
    assert desk.saw("Contacts of Customers affected loaded from a.csv by unknown: 2 contacts")
    assert desk.step("notify-customers") == "done"
    return desk


def an_unheld_role_is_named_not_paged() -> Desk:
    desk = Desk(book=with_roles(security_lead=(), legal=()))
    assert desk.saw("Assemble the crisis team: nobody holds security_lead to page")
    desk.assemble("anna-kowalska", "ewa-wisniewska")
    desk.wait(10)
    assert desk.saw("no further candidate for security_lead; nobody still paged")
    return desk


def an_unheld_approver_is_named() -> Desk:
    desk = Desk(book=with_roles(legal=()))
    desk.assemble("anna-kowalska", "ewa-wisniewska", "michal-lewandowski")
    desk.decide(ev.EscalationRequested())
    desk.decide(ev.EscalationRequested())  # the CEO answers, but nobody holds legal
    desk.assemble("krzysztof-mazur")
    assert desk.step("assemble") == "escalated"  # no dead end: the lead can assign
    assert desk.saw("Assemble the crisis team: still waiting for Legal approver")
    assert desk.saw("no further candidate for legal; nobody still paged")
    desk.decide(ev.Reassigned(role="legal", person="joanna-szymanska"))
    desk.assemble("joanna-szymanska")
    assert desk.step("assemble") == "done"
    with pytest.raises(CommandRejected, match=r"\(legal: Joanna Szymańska, crisis_lead: Anna"):
        desk.decide(ev.Approved(statement="holding", person="ewa-wisniewska"))
    return desk


def nobody_to_page() -> Desk:
    desk = Desk(book=with_audience("crisis-team", roles=()))
    assert desk.saw("Assemble the crisis team: nobody could be paged; escalation will go on")
    return desk


def a_page_to_a_group_needs_one_answer() -> Desk:
    book = with_audience("crisis-team", groups=("supervisory-board",), channels=("sms",))
    desk = Desk(book=book)
    desk.assemble()
    assert desk.step("assemble") == "paged"  # the roles answered; nobody of the board yet
    board = desk.sent("page", person=None)
    assert {m.channel for m in board} == {"sms"}  # the audience's channels only
    desk.report("failed", board[:1])
    assert desk.saw(f"{board[0].recipient}: failed over from sms to email")
    desk.assemble("elzbieta-nowicka")
    assert desk.step("assemble") == "done"
    return desk


def a_ladder_rung_pages_role_holders_and_skips_the_away() -> Desk:
    rung = dataclasses.replace(
        BOOK.step("assemble").escalations[1], page=("role:legal", "tag:general-counsel")
    )
    ladder = (BOOK.step("assemble").escalations[0], rung)
    desk = Desk(book=with_step("assemble", escalations=ladder))
    desk.assemble("anna-kowalska", "piotr-zielinski", "michal-lewandowski")
    desk.wait(20)
    assert desk.saw("not paging Katarzyna Dąbrowska: ")  # on leave
    assert desk.pages("piotr-zielinski") == 2
    assert ESCALATION not in desk.timers  # no repeat on this ladder: it ends
    return desk


def an_audience_below_the_level_is_skipped() -> Desk:
    desk = Desk(book=with_step("release-holding", to=("employees", "customers", "media")))
    desk.assemble()
    desk.approve()
    desk.wait(10)
    assert desk.saw("Release the holding statement, staff first: customers skipped below its level")
    assert desk.sent("statement", audience="media")
    assert not desk.sent("statement", audience="customers")
    return desk


def a_notice_cannot_fail_over() -> Desk:
    desk = Desk()
    desk.assemble()
    desk.decide(ev.Rejected(statement="holding", person="piotr-zielinski", reason="too vague"))
    notice = desk.sent("notice", person="anna-kowalska", channel="sms")
    desk.report("failed", notice)
    assert desk.saw("Anna Kowalska: no other channel to try")
    approval = desk.sent("approval", person="anna-kowalska", channel="sms")
    desk.report("failed", approval)
    assert desk.saw("Anna Kowalska: already reached by email")
    return desk


def an_earlier_version_fails_over_by_e_mail_only() -> Desk:
    desk = Desk().approved_holding()
    staff = desk.sent("statement", audience="employees")
    kept = next(m for m in staff if m.channel == "sms" and m.person)
    desk.report("delivered", [m for m in staff if m is not kept])
    desk.wait(10)  # the media hear it anyway
    desk.decide(ev.CorrectionIssued(statement="holding", reason="wrong hotline"))
    media = desk.sent("statement", audience="media", version=1)[0]
    desk.report("failed", [media])
    assert desk.saw(f"{media.recipient}: no other channel to try")  # v1 is not re-texted
    desk.report("failed", [kept])
    assert desk.saw(f"{kept.recipient}: already reached by email")
    return desk


def printed_staff_messages_let_the_media_go_but_are_not_delivered() -> Desk:
    """Printed (no channel configured) is settled, so staff first goes on once the hold is
    over; it is said on the timeline and never failed over, since the other channel printed
    alike."""
    desk = Desk().approved_holding()
    staff = desk.sent("statement", audience="employees")
    desk.report("printed", staff)
    desk.wait(5)
    assert desk.sent("statement", audience="media")
    assert {desk.incident.messages[m.message].state for m in staff} == {"printed"}
    assert not desk.saw("failed over")
    assert not desk.saw("printed")  # counted per audience on the timeline, not one by one
    page = desk.sent("page", person="ewa-wisniewska", channel="sms")
    desk.report("printed", page)
    assert desk.saw("Page to Ewa Wiśniewska by sms printed, not sent: nobody received it")
    return desk


def a_withheld_page_acknowledges_nothing_and_the_ladder_climbs() -> Desk:
    """A page the exercise sandbox kept back was seen by nobody: like a failed one, it leaves
    the step waiting, and the escalation ladder goes on."""
    desk = Desk()
    pages = desk.sent("page", person="ewa-wisniewska")
    desk.report("withheld", pages)
    assert desk.saw("Page to Ewa Wiśniewska by sms withheld, not sent")
    assert desk.step("assemble") == "paged"
    desk.wait(BOOK.step("assemble").escalations[0].after.total_seconds() / 60)
    assert desk.step("assemble") == "escalated"
    return desk


def a_level_already_reached_changes_nothing() -> Desk:
    desk = Desk()
    desk.decide(ev.Reassigned(role="spokesperson", person="krzysztof-mazur"))
    desk.decide(ev.LevelRaised(level="crisis"))
    assert not desk.saw("takes over")  # the CEO already holds the role
    desk.assemble("anna-kowalska", "krzysztof-mazur", "piotr-zielinski", "michal-lewandowski")
    desk.wait(20)  # the ladder's rung would raise the level: it is already there
    assert desk.notes.count("Level raised from incident to crisis (raised by unknown)") == 1
    return desk


SCENARIOS: list[Callable[[], Desk]] = [
    activation,
    acknowledgement_completes_the_page,
    staff_hear_first_then_the_media,
    the_next_audience_goes_anyway,
    without_a_hold_the_next_audience_goes_once_settled,
    a_step_waits_for_the_facts_it_requires,
    a_release_waits_for_contacts_given_during_the_incident,
    a_yes_or_no_fact_decides_what_a_statement_claims,
    a_correction_drafted_mid_release_holds_the_rest_for_its_approvers,
    a_closing_message_is_said_on_resolve_once_approved,
    a_hold_never_cuts_the_ten_minute_cap_short,
    a_failed_message_fails_over,
    a_message_already_on_the_other_channel_is_not_repeated,
    a_failed_page_fails_over_where_it_can,
    staff_first_waits_for_fail_overs,
    a_rejection_goes_back_to_the_owner,
    a_changed_fact_voids_earlier_approvals,
    escalation_by_hand,
    the_escalation_ladder_on_its_own,
    a_silent_team_breaches_the_sla,
    a_late_approval_reports_the_breach,
    a_stale_wake_up_is_ignored,
    raising_the_level_hands_roles_over,
    a_new_holder_after_the_page_is_told,
    lowering_the_level_withdraws_nothing,
    reassignment_pages_the_new_holder,
    a_correction_goes_to_everyone_who_heard,
    a_correction_without_approvers_goes_at_once,
    recurring_updates_wait_for_approval,
    times_are_filled_in_at_release,
    a_promise_nobody_keeps_is_recorded_missed,
    nothing_new_waits_for_the_promise,
    a_person_asks_for_an_update_with_nothing_new,
    a_changed_fact_makes_a_released_statement_stale,
    notes_and_media_inquiries,
    resolving_then_closing,
    cancelling_a_false_alarm,
    a_closed_incident_ignores_its_wake_ups,
    a_watch_level_pages_and_waits,
    two_open_pages_need_a_step,
    an_unheld_role_is_named_not_paged,
    an_unheld_approver_is_named,
    nobody_to_page,
    a_page_to_a_group_needs_one_answer,
    a_ladder_rung_pages_role_holders_and_skips_the_away,
    an_audience_below_the_level_is_skipped,
    a_notice_cannot_fail_over,
    an_earlier_version_fails_over_by_e_mail_only,
    a_level_already_reached_changes_nothing,
    printed_staff_messages_let_the_media_go_but_are_not_delivered,
    a_withheld_page_acknowledges_nothing_and_the_ladder_climbs,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_scenario(scenario: Callable[[], Desk]) -> None:
    scenario()


def test_every_move_of_the_engine_lifecycles_is_made_by_some_handler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    machines = {
        id(lc.INCIDENT): lc.INCIDENT_LIFECYCLE,
        id(lc.STEP): lc.STEP_LIFECYCLE,
        id(lc.MESSAGE): lc.MESSAGE_LIFECYCLE,
    }
    made: dict[str, set[str]] = {lifecycle.name: set() for lifecycle in machines.values()}
    real = lc.fire

    def recording(machine: Any, trigger: str, obj: lc.Stateful, what: str) -> None:
        made[machines[id(machine)].name].add(trigger)
        real(machine, trigger, obj, what)

    monkeypatch.setattr(lc, "fire", recording)
    for scenario in SCENARIOS:
        scenario()
    for lifecycle in machines.values():
        assert made[lifecycle.name] == lifecycle.triggers, lifecycle.name


def test_an_update_for_an_audience_no_update_reaches_is_refused() -> None:
    desk = Desk()
    with pytest.raises(CommandRejected, match="no recurring update goes to regulator"):
        desk.decide(ev.UpdateRequested(audiences=("regulator",)))


def test_a_handler_is_registered_once_and_given_only_its_event() -> None:
    with pytest.raises(EngineBug, match="two handlers for the event 'note'"):
        handles(ev.NoteAdded)(lambda ctx, event: None)
    desk = Desk()
    note = HANDLERS[ev.NoteAdded].handler
    with pytest.raises(EngineBug, match="note_added was given a 'closed' event"):
        note(Ctx(desk.incident, desk.now, Decision()), ev.Closed())


def test_events_read_back_as_they_were_written() -> None:
    for event in [
        ev.Activated(level="incident", facts=FACTS, participants=("anna-kowalska",)),
        ev.TimerFired(timer=str(ESCALATION), token=3, by="timer"),
    ]:
        assert ev.event_from_json(event.to_json()) == event
    with pytest.raises(UnreadableEvent, match="an event warroom cannot read"):
        ev.event_from_json({"kind": "rumour"})


def test_the_same_events_make_the_same_decisions() -> None:
    one, two = the_escalation_ladder_on_its_own(), the_escalation_ladder_on_its_own()
    assert one.notes == two.notes
    assert one.effects == two.effects
