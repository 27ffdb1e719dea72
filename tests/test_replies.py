"""Acknowledging and approving by SMS reply: understood when meant, harmless when not."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from warroom.channels.testing import RecordingChannel
from warroom.cli import app
from warroom.engine import events as ev
from warroom.engine.replies import Reply, parse_reply
from warroom.errors import CommandRejected
from warroom.runtime.clock import VirtualClock
from warroom.runtime.runtime import Runtime
from warroom.runtime.snapshot import Snapshot
from warroom.store.sqlite import SqliteStore

T0 = datetime.fromisoformat("2026-11-16T10:00:00+01:00")
ANNA, BARTEK, CELINA = "+48601234567", "+48602345678", "+48603456789"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("ok", Reply("ack", None)),
        ("ACK 4821", Reply("ack", "4821")),
        ("  tak ", Reply("ack", None)),
        ("Potwierdzam 1234.", Reply("ack", "1234")),
        ("1", Reply("ack", None)),
        ("APPROVE 4821", Reply("approve", "4821")),
        ("zatwierdzam", Reply("approve", None)),
        ("reject 4821 the date is wrong", Reply("reject", "4821", "the date is wrong")),
        ("ODRZUCAM zła data", Reply("reject", None, "zła data")),
    ],
)
def test_replies_people_type_are_understood(body: str, expected: Reply) -> None:
    assert parse_reply(body) == expected


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "empty reply"),
        ("   ", "empty reply"),
        ("x" * 5000, "reply of 5000 characters is not a command"),
        ("hello there", "'HELLO' is not understood"),
        ("REJECT 4821", "a rejection needs a reason"),
    ],
)
def test_replies_that_are_not_commands(body: str, message: str) -> None:
    with pytest.raises(CommandRejected, match=message):
        parse_reply(body)


@dataclass
class Desk:
    runtime: Runtime
    store: SqliteStore
    clock: VirtualClock
    sms: RecordingChannel
    incident: str

    def code_sent_to(self, address: str, purpose: str) -> str:
        codes = [m.code for m in self.sms.sent if m.address == address and m.purpose == purpose]
        assert codes, f"nothing sent to {address}"
        return str(codes[-1])


@pytest.fixture
def desk(mini: Path, tmp_path: Path) -> Iterator[Desk]:
    store = SqliteStore.open(tmp_path / "w.db")
    clock = VirtualClock(T0)
    sms = RecordingChannel("sms")
    runtime = Runtime(store, clock, {"sms": sms, "email": RecordingChannel("email")})
    snapshot = Snapshot.capture(mini / "outage.yaml", mini / "roster.yaml")
    facts = {"company": "Acme", "service": "the shop"}
    outcome = runtime.activate(snapshot, facts=facts, by="test")
    runtime.work()
    yield Desk(runtime, store, clock, sms, outcome.incident)
    store.close()


def test_ok_acknowledges_the_only_open_page(desk: Desk) -> None:
    outcome = desk.runtime.receive_sms(ANNA, "ok")
    assert outcome.accepted
    assert (outcome.verb, outcome.incident) == ("ack", desk.incident)
    assert outcome.summary == f"acknowledged: {outcome.subject} ({desk.incident})"
    incident = desk.runtime.incident(desk.incident)
    assert incident.roles["crisis_lead"].acked_at == T0
    events = desk.runtime.store.events(desk.incident)
    assert events[-1].event.by == f"sms:{ANNA}"


def test_the_code_picks_the_page(desk: Desk) -> None:
    code = desk.code_sent_to(BARTEK, "page")
    assert desk.runtime.receive_sms("+48 602 345 678", f"ACK {code}").verb == "ack"
    assert desk.runtime.incident(desk.incident).roles["spokesperson"].acked_at == T0


def test_approval_and_rejection_by_reply(desk: Desk, mini: Path) -> None:
    for person in ("anna", "bartek", "dawid"):
        desk.runtime.submit(desk.incident, ev.Acknowledged(person=person))
    desk.runtime.work()
    # dawid (legal) has no phone in the mini roster: give legal to ewa, who has one
    desk.runtime.submit(desk.incident, ev.Reassigned(role="legal", person="ewa"))
    desk.runtime.submit(desk.incident, ev.FactUpdated(facts={"service": "the web shop"}))
    desk.runtime.work()
    code = desk.code_sent_to("+48604567890", "approval")
    outcome = desk.runtime.receive_sms("+48604567890", f"REJECT {code} say when it is back")
    assert (outcome.accepted, outcome.verb) == (True, "reject")
    notes = [n for e in desk.runtime.store.events(desk.incident) for n in e.notes]
    assert any("rejected by Ewa Wiśniewska: say when it is back" in n for n in notes)
    desk.runtime.submit(desk.incident, ev.FactUpdated(facts={"service": "the shop (back 12:00)"}))
    desk.runtime.work()
    code = desk.code_sent_to("+48604567890", "approval")
    assert desk.runtime.receive_sms("+48604567890", f"approve {code}").verb == "approve"
    desk.runtime.work()
    released = [m for m in desk.sms.sent if m.purpose == "statement"]
    assert released


@pytest.mark.parametrize(
    ("sender", "body", "reason"),
    [
        ("+48 699 999 999", "ok", "is not in the roster of any open incident"),
        ("not-a-number", "ok", "is not a phone number"),
        (CELINA, "ok", "no ack is waiting for an open request"),  # never paged
        (ANNA, "ACK 0000", "no ack is waiting for code 0000"),
        (ANNA, "", "empty reply"),
        (ANNA, "x" * 5000, "is not a command"),
        (ANNA, "approve", "APPROVE without the code approves nothing"),
        (ANNA, "approve 0000", "no approve is waiting for code 0000"),
    ],
)
def test_a_reply_that_cannot_be_used_changes_nothing_and_is_logged(
    desk: Desk, sender: str, body: str, reason: str
) -> None:
    before = len(desk.runtime.store.events(desk.incident))
    outcome = desk.runtime.receive_sms(sender, body)
    assert not outcome.accepted
    assert outcome.summary.startswith("ignored: ")
    assert reason in outcome.reason
    assert len(desk.runtime.store.events(desk.incident)) == before
    logged = desk.store.inbound()[-1]
    assert logged.sender == sender
    assert (logged.verdict, logged.outcome) == ("no-effect", outcome.summary)


def test_a_reply_about_a_closed_incident_changes_nothing(desk: Desk) -> None:
    desk.runtime.submit(desk.incident, ev.Resolved())
    desk.runtime.submit(desk.incident, ev.Closed())
    before = len(desk.runtime.store.events(desk.incident))
    outcome = desk.runtime.receive_sms(ANNA, "ok")
    assert not outcome.accepted
    assert len(desk.runtime.store.events(desk.incident)) == before


def test_inbound_command(mini: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {
        "WARROOM_LIBRARY": str(mini),
        "WARROOM_DB": str(tmp_path / "w.db"),
        "WARROOM_CLOCK": T0.isoformat(),
    }
    facts = ["--fact", "company=Acme", "--fact", "service=the shop"]
    assert runner.invoke(app, ["activate", "outage", *facts], env=env).exit_code == 0
    later = {**env, "WARROOM_CLOCK": (T0 + timedelta(minutes=2)).isoformat()}
    result = runner.invoke(app, ["inbound", "sms", "--from", ANNA, "--body", "TAK"], env=later)
    assert result.exit_code == 0
    assert "acknowledged: Assemble the crisis team (outage-20261116-1000)" in result.stdout
    result = runner.invoke(
        app, ["inbound", "sms", "--from", "+48699999999", "--body", "ok"], env=later
    )
    assert result.exit_code == 2
    assert "ignored: +48699999999 is not in the roster of any open incident" in result.stdout


def test_approve_without_its_code_approves_nothing_even_with_one_request_open(
    desk: Desk,
) -> None:
    for person in ("anna", "bartek", "dawid"):
        desk.runtime.submit(desk.incident, ev.Acknowledged(person=person))
    desk.runtime.submit(desk.incident, ev.Reassigned(role="legal", person="ewa"))
    desk.runtime.submit(desk.incident, ev.FactUpdated(facts={"service": "the web shop"}))
    desk.runtime.work()
    outcome = desk.runtime.receive_sms("+48604567890", "APPROVE")
    assert (outcome.accepted, outcome.refusal) == (False, "needs-code")
    assert "reply APPROVE <code> with the code from the approval request" in outcome.reason
    draft = desk.runtime.incident(desk.incident).statements["holding"].draft
    assert draft is not None
    assert not draft.approvals
    code = desk.code_sent_to("+48604567890", "approval")
    assert desk.runtime.receive_sms("+48604567890", f"APPROVE {code}").accepted


def test_codes_come_from_a_secret_drawn_at_activation(mini: Path, tmp_path: Path) -> None:
    """Two fresh databases, the same playbook and minute: different codes. The secret is in
    the activation event (so replay makes the same codes) and on no timeline."""
    codes, secrets = [], []
    for name in ("a", "b"):
        store = SqliteStore.open(tmp_path / f"{name}.db")
        sms = RecordingChannel("sms")
        runtime = Runtime(store, VirtualClock(T0), {"sms": sms, "email": RecordingChannel("email")})
        snapshot = Snapshot.capture(mini / "outage.yaml", mini / "roster.yaml")
        incident = runtime.activate(snapshot, facts={"company": "A", "service": "s"}).incident
        runtime.work()
        codes.append(sorted({str(m.code) for m in sms.sent if m.code}))
        first = store.events(incident)[0].event
        assert isinstance(first, ev.Activated)
        secrets.append(first.secret)
        replayed = runtime.replay(incident)
        replayed_codes = {str(m.code) for m in replayed.messages.values() if m.code}
        assert set(codes[-1]) <= replayed_codes
        assert "secret" not in ev.shown(first)
        env = {"WARROOM_DB": str(tmp_path / f"{name}.db")}
        result = CliRunner().invoke(app, ["timeline", incident, "--format", "json"], env=env)
        assert result.exit_code == 0, result.stderr
        assert first.secret not in result.stdout
        store.close()
    assert len(secrets[0]) >= 32
    assert secrets[0] != secrets[1]
    assert codes[0] != codes[1]


def test_approval_requests_for_a_superseded_version_are_not_sent(desk: Desk) -> None:
    for person in ("anna", "bartek"):
        desk.runtime.submit(desk.incident, ev.Acknowledged(person=person))
    desk.runtime.submit(desk.incident, ev.Reassigned(role="legal", person="ewa"))
    desk.runtime.submit(desk.incident, ev.Acknowledged(person="ewa"))  # v1 requested, queued
    desk.runtime.submit(desk.incident, ev.FactUpdated(facts={"service": "the web shop"}))
    desk.runtime.work()  # the worker comes by only now
    sent = [(m.version, m.code) for m in desk.sms.sent if m.purpose == "approval"]
    assert [v for v, _ in sent] == [2]
    notes = [n for e in desk.runtime.store.events(desk.incident) for n in e.notes]
    assert any("not sent: v1 was superseded by v2" in n for n in notes)
    assert not any("failed over" in n for n in notes)
