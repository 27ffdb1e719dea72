"""The engine's behaviour on the shipped playbooks, through the runtime, on a virtual clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from warroom.channels.testing import RecordingChannel
from warroom.engine import events as ev
from warroom.errors import CommandRejected
from warroom.runtime.clock import VirtualClock
from warroom.runtime.runtime import Runtime
from warroom.runtime.snapshot import Snapshot
from warroom.store.sqlite import SqliteStore

LIBRARY = Path(__file__).parent.parent / "playbooks"
T0 = datetime.fromisoformat("2026-11-23T09:00:00+01:00")
FACTS = {"company": "Acme Polska", "what_happened": "a leak of customer e-mail addresses"}
TEAM = ("anna-kowalska", "ewa-wisniewska", "piotr-zielinski", "michal-lewandowski")


@dataclass
class Drill:
    runtime: Runtime
    clock: VirtualClock
    sms: RecordingChannel
    email: RecordingChannel
    incident: str

    def at(self, minutes: float) -> None:
        """Run everything due up to T0 + minutes, then stop the clock there."""
        self.runtime.run_until(T0 + timedelta(minutes=minutes))

    def submit(self, event: ev.Event) -> tuple[str, ...]:
        notes = self.runtime.submit(self.incident, event).notes
        self.runtime.work()
        return notes

    def assemble(self) -> None:
        for person in TEAM:
            self.submit(ev.Acknowledged(person=person))

    def approve_holding(self) -> None:
        """The team assembled, and both approvers (legal, then the crisis lead) approve."""
        self.assemble()
        self.submit(ev.Approved(statement="holding", person="piotr-zielinski"))
        self.submit(ev.Approved(statement="holding", person="anna-kowalska"))

    def pages_to(self, person: str) -> list[str]:
        return [m.text for m in self.sms.to(person) if m.purpose == "page"]

    def notes(self) -> list[str]:
        return [n for e in self.runtime.store.events(self.incident) for n in e.notes]


@pytest.fixture
def drill(tmp_path: Path) -> Iterator[Drill]:
    store = SqliteStore.open(tmp_path / "warroom.db")
    clock = VirtualClock(T0)
    sms, email = RecordingChannel("sms"), RecordingChannel("email")
    runtime = Runtime(store, clock, {"sms": sms, "email": email})
    snapshot = Snapshot.capture(LIBRARY / "data-breach.yaml", LIBRARY / "roster.yaml")
    outcome = runtime.activate(snapshot, level="incident", facts=FACTS, by="test")
    runtime.work()
    yield Drill(runtime, clock, sms, email, outcome.incident)
    store.close()


def test_escalation_ladder_of_the_data_breach(drill: Drill) -> None:
    incident = drill.runtime.incident(drill.incident)
    # T+0: the crisis team is paged
    assert incident.roles["spokesperson"].person == "ewa-wisniewska"  # press-rota override
    for person in TEAM:
        assert len(drill.pages_to(person)) == 1, person
    drill.submit(ev.Acknowledged(person="anna-kowalska"))
    drill.submit(ev.Acknowledged(person="piotr-zielinski"))
    drill.submit(ev.Acknowledged(person="michal-lewandowski"))

    # T+10m: the spokesperson stayed silent; the next candidate is paged
    drill.at(9)
    assert len(drill.pages_to("anna-kowalska")) == 1
    drill.at(10)
    incident = drill.runtime.incident(drill.incident)
    assert incident.roles["spokesperson"].person == "anna-kowalska"
    assert len(drill.pages_to("anna-kowalska")) == 2
    assert "Spokesperson: Ewa Wiśniewska did not acknowledge; moves to Anna Kowalska" in " ".join(
        drill.notes()
    )

    # T+20m: still nobody: the CEO is paged and the level rises to crisis
    assert incident.level == "incident"
    assert incident.steps["notify-regulator"].state == "dormant"
    drill.at(20)
    incident = drill.runtime.incident(drill.incident)
    assert incident.level == "crisis"
    assert drill.pages_to("krzysztof-mazur")
    # ...which adds the regulator steps, with the 72h clock counted from activation
    assert incident.steps["notify-regulator"].state == "waiting"
    timers = {t.timer: t for t in drill.runtime.store.due_timers(T0 + timedelta(days=4))}
    assert timers["due:notify-regulator"].due_at == T0 + timedelta(hours=72)

    # an acknowledgement stops that step's paging at once
    pages_before = len(drill.sms.sent)
    drill.clock.set(T0 + timedelta(minutes=25))
    drill.submit(ev.Acknowledged(person="krzysztof-mazur"))
    assert drill.runtime.incident(drill.incident).steps["assemble"].state == "done"
    assert "esc:assemble" not in timers or all(
        t.timer != "esc:assemble" for t in drill.runtime.store.due_timers(T0 + timedelta(days=9))
    )
    drill.at(120)
    later_pages = [m for m in drill.sms.sent[pages_before:] if m.step == "assemble"]
    assert later_pages == []


def test_no_statement_is_released_before_every_approver(drill: Drill) -> None:
    drill.assemble()
    drill.at(5)
    incident = drill.runtime.incident(drill.incident)
    assert incident.steps["approve-holding"].state == "awaiting_approval"
    statements = [m for m in drill.sms.sent + drill.email.sent if m.purpose == "statement"]
    assert statements == []

    drill.submit(ev.Approved(statement="holding", person="piotr-zielinski"))
    drill.at(6)
    statements = [m for m in drill.sms.sent + drill.email.sent if m.purpose == "statement"]
    assert statements == [], "released with one of two approvals"

    # a rejection goes back to the owner with its reason, on the timeline
    drill.submit(
        ev.Rejected(statement="holding", person="anna-kowalska", reason="too vague on scope")
    )
    assert any("rejected by Anna Kowalska: too vague on scope" in n for n in drill.notes())
    with pytest.raises(CommandRejected, match="not waiting for approval"):
        drill.submit(ev.Approved(statement="holding", person="anna-kowalska"))

    # a revised fact makes v2, which needs both approvals again
    revised = {
        "what_happened": "exposure of 1,200 e-mail addresses",
        "what_happened_pl": "ujawnienie 1200 adresów e-mail",
    }
    drill.submit(ev.FactUpdated(facts=revised))  # both languages at once: one new version
    drill.submit(ev.Approved(statement="holding", person="anna-kowalska"))
    drill.at(8)
    assert not [m for m in drill.email.sent if m.purpose == "statement"]
    drill.submit(ev.Approved(statement="holding", person="piotr-zielinski"))
    drill.at(15)  # staff at +8m, the media after the step's 5-minute hold
    released = [m for m in drill.email.sent if m.purpose == "statement"]
    assert released
    assert {m.version for m in released} == {2}
    for message in released:
        expected = "1200 adresów" if message.language == "pl" else "1,200 e-mail"
        assert expected in message.text, (message.language, message.text)

    # employees hear it before the media
    staff = [i for i, m in enumerate(released) if m.audience == "employees"]
    media = [i for i, m in enumerate(released) if m.audience == "media"]
    assert staff
    assert media
    assert max(staff) < min(media)

    # a released statement cannot be approved again
    with pytest.raises(CommandRejected, match=r"^Holding statement v2 is already released; "):
        drill.submit(ev.Approved(statement="holding", person="anna-kowalska"))


def test_each_recipient_gets_one_copy(drill: Drill) -> None:
    drill.approve_holding()
    drill.at(30)
    statements = [m for m in drill.sms.sent + drill.email.sent if m.purpose == "statement"]
    assert {m.audience for m in statements} == {"employees", "media"}  # both were released
    keys = [(m.statement, m.version, m.address, m.channel) for m in statements]
    assert len(keys) == len(set(keys))
    # Anna leads the crisis team and is one of all staff: one copy by SMS, one by e-mail
    anna = drill.runtime.incident(drill.incident).roster.person("anna-kowalska")
    assert sorted(m.channel for m in statements if m.address in (anna.phone, anna.email)) == [
        "email",
        "sms",
    ]


def test_replaying_the_log_rebuilds_the_same_state(drill: Drill) -> None:
    drill.submit(ev.Acknowledged(person="anna-kowalska"))
    drill.submit(ev.MediaInquiryLogged(outlet="Rzeczpospolita", question="Is data affected?"))
    drill.at(45)
    live = drill.runtime.incident(drill.incident)
    rebuilt = Runtime(drill.runtime.store, drill.clock).replay(drill.incident)
    assert rebuilt == live
    assert rebuilt.level == "crisis"  # the unanswered ladder raised it
    assert rebuilt.inquiries[0].outlet == "Rzeczpospolita"


def test_the_implicated_person_is_never_paged_as_spokesperson(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "w.db")
    try:
        clock = VirtualClock(T0)
        sms = RecordingChannel("sms")
        runtime = Runtime(store, clock, {"sms": sms, "email": RecordingChannel("email")})
        snapshot = Snapshot.capture(LIBRARY / "data-breach.yaml", LIBRARY / "roster.yaml")
        facts = {**FACTS, "implicated": "ewa-wisniewska"}
        outcome = runtime.activate(snapshot, level="incident", facts=facts, by="test")
        runtime.run_until(T0 + timedelta(hours=2))
        incident = runtime.incident(outcome.incident)
        assert incident.roles["spokesperson"].person != "ewa-wisniewska"
        assert "ewa-wisniewska" not in incident.roles["spokesperson"].tried
    finally:
        store.close()


def test_recurring_updates_are_approved_each_time_and_stop_when_resolved(drill: Drill) -> None:
    drill.approve_holding()
    drill.at(20)
    drill.submit(ev.FactUpdated(facts={"progress": "The affected server is isolated."}))
    drill.submit(ev.Approved(statement="update", person="anna-kowalska"))
    drill.at(30)

    def updates() -> set[int]:
        released = [m for m in drill.email.sent if m.purpose == "statement"]
        return {m.version or 0 for m in released if m.statement == "update"}

    first = updates()
    assert len(first) == 1
    drill.at(30 + 120)  # the next update is due: a new version, waiting for approval
    incident = drill.runtime.incident(drill.incident)
    assert incident.statements["update"].draft is not None
    assert incident.statements["update"].draft.version == max(first) + 1
    assert updates() == first
    drill.submit(ev.Approved(statement="update", person="anna-kowalska"))
    assert len(updates()) == 2
    for approver in ("piotr-zielinski", "anna-kowalska"):  # legal and the crisis lead
        drill.submit(ev.Approved(statement="closing", person=approver))
    drill.submit(ev.Resolved(summary="contained"))
    drill.at(30 + 24 * 60)
    assert len(updates()) == 2
