"""Delivery end to end: the runtime, the real Twilio and SMTP adapters, a misbehaving Twilio
stand-in and an SMTP server on loopback, on a virtual clock.

The question every test asks is the one a comms director asks after a release: did each
person get the statement exactly once, on a channel they can read, and does the timeline say
what happened when a channel failed?
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from warroom.channels.config import SmtpSettings, TwilioSettings
from warroom.channels.smtp_email import SmtpEmail
from warroom.channels.testing import Mailbox, free_port
from warroom.channels.twilio_sms import TwilioSms
from warroom.channels.twilio_standin import Faults, TwilioStandIn
from warroom.runtime.clock import VirtualClock
from warroom.runtime.runtime import MAX_ATTEMPTS, Runtime
from warroom.runtime.snapshot import Snapshot
from warroom.store.sqlite import OutboxRow, SqliteStore

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
"""In the past on purpose: the stand-in stamps messages with the wall clock, and reconciling
asks it for messages sent since the (virtual) claim time, so virtual time must not run ahead
of the wall clock."""
SID = "AC" + "7" * 32
TOKEN = "standin-token-for-delivery-tests"
FROM = "+48221234567"
SETTLED = {"sent", "delivered", "failed", "undeliverable"}
STATEMENT = "The Acme shop is down since 9:40. We are restoring it and will write again by 11:00."
SMS_TEXT = "Acme: the shop is down since 9:40. Next update by 11:00."


# -- a mail server on loopback ----------------------------------------------------------------


# -- the rig: runtime, channels, servers ------------------------------------------------------


@dataclass
class Rig:
    runtime: Runtime
    clock: VirtualClock
    store: SqliteStore
    twilio: TwilioStandIn
    mailbox: Mailbox
    email: SmtpEmail
    incident: str = ""
    passes: list[int] = field(default_factory=list)

    def activate(self, playbook: Path, roster: Path) -> None:
        outcome = self.runtime.activate(Snapshot.capture(playbook, roster), by="test")
        self.incident = outcome.incident

    def run(self, until: timedelta, *, step: timedelta = timedelta(seconds=30)) -> None:
        """Run the worker on the virtual clock, `step` at a time, up to T0 + `until`; retries
        and reconciliations wait in the outbox (not on timers), so time moves in steps."""
        while self.clock.now() < T0 + until:
            self.passes.append(self.runtime.run_until(self.clock.now() + step))

    def settle(self, *, within: timedelta = timedelta(hours=3)) -> None:
        """Run until every message has a final outcome (or `within` has passed)."""
        step = timedelta(seconds=30)
        while self.clock.now() < T0 + within:
            self.passes.append(self.runtime.run_until(self.clock.now() + step))
            if self.passes[-1] == 0 and all(row.state in SETTLED for row in self.outbox()):
                return

    def outbox(self) -> list[OutboxRow]:
        return self.store.outbox(self.incident)

    def notes(self) -> list[str]:
        return [n for e in self.store.events(self.incident) for n in e.notes]


RigFactory = Callable[..., Rig]


def twilio_sms(twilio: TwilioStandIn, clock: VirtualClock, auth_token: str = TOKEN) -> TwilioSms:
    """The real adapter, paced at 50 segments a second on the virtual clock."""
    return TwilioSms(
        TwilioSettings(
            account_sid=SID,
            auth_token=auth_token,
            from_number=FROM,
            base_url=twilio.base_url,
            segments_per_second=50,
            timeout=10.0,
        ),
        now=clock.now,
        sleep=lambda seconds: clock.advance(timedelta(seconds=seconds)),
    )


@pytest.fixture
def make_rig(tmp_path: Path) -> Iterator[RigFactory]:
    """Build a rig with the given stand-in faults; everything is closed at teardown."""
    with ExitStack() as stack:

        def make(faults: Faults | None = None, *, auth_token: str = TOKEN) -> Rig:
            twilio = stack.enter_context(TwilioStandIn(SID, TOKEN, faults=faults or Faults()))
            mailbox = Mailbox()
            controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
            controller.start()
            stack.callback(controller.stop)
            clock = VirtualClock(T0)
            sms = twilio_sms(twilio, clock, auth_token)
            email = SmtpEmail(
                SmtpSettings(
                    host="127.0.0.1",
                    port=controller.port,
                    security="none",
                    from_address="Acme Crisis Desk <alerts@acme.example>",
                    timeout=10.0,
                )
            )
            stack.callback(email.close)  # before the server stops: closes run last-in first
            stack.callback(sms.close)
            store = SqliteStore.open(tmp_path / "warroom.db")
            stack.callback(store.close)
            runtime = Runtime(store, clock, {"sms": sms, "email": email}, concurrency=16)
            rig = Rig(runtime, clock, store, twilio, mailbox, email)
            stack.callback(lambda: rig.runtime.close())  # the rig's runtime at the end
            return rig

        yield make


# -- a small library written for each test ----------------------------------------------------


STATEMENT_YAML = f"""
statements:
  notice:
    title: Shop outage notice
    subject: {{en: "Acme: shop outage"}}
    text: {{en: "{STATEMENT}"}}
    sms: {{en: "{SMS_TEXT}"}}
"""


def write_library(
    folder: Path,
    *,
    audiences: str,
    steps: str,
    people: str = "people: []\n",
    groups: str = "",
    csv_rows: list[str] | None = None,
    roles: str = "",
    statements: str = STATEMENT_YAML,
) -> tuple[Path, Path]:
    playbook = folder / "playbook.yaml"
    playbook.write_text(
        "playbook: shop-outage\ntitle: Shop outage\nlanguages: [en]\n"
        "levels:\n  - {id: incident, title: Incident}\n" + roles + audiences + statements + steps,
        encoding="utf-8",
    )
    if csv_rows is not None:
        (folder / "everyone.csv").write_text(
            "name,email,phone\n" + "\n".join(csv_rows) + "\n", encoding="utf-8"
        )
    roster = folder / "roster.yaml"
    roster.write_text(people + (f"groups:\n{groups}" if groups else ""), encoding="utf-8")
    return playbook, roster


def crowd(size: int) -> tuple[list[str], list[str], list[str]]:
    """CSV rows for `size` contacts: even ones with only a Polish mobile, odd ones with only
    an e-mail address; with the phones and addresses in order."""
    rows, phones, emails = [], [], []
    for i in range(size):
        if i % 2 == 0:
            phone = f"+48600{i:06d}"
            rows.append(f"Person {i},,{phone}")
            phones.append(phone)
        else:
            address = f"user{i}@example.com"
            rows.append(f"Person {i},{address},")
            emails.append(address)
    return rows, phones, emails


# -- a release to 5,000 through a misbehaving Twilio ------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "faults",
    [
        pytest.param(
            Faults(rate_limited=0.05, server_error=0.05, drop_after_accept=0.01, seed=7),
            id="429-and-5xx-5%-each-drops-1%",
        ),
        pytest.param(Faults(server_error=0.10, drop_after_accept=0.01, seed=7), id="5xx-10%"),
    ],
)
def test_a_release_to_5000_reaches_everyone_exactly_once(
    make_rig: RigFactory, tmp_path: Path, faults: Faults
) -> None:
    rows, phones, emails = crowd(5000)
    playbook, roster = write_library(
        tmp_path,
        audiences="audiences:\n  everyone: {groups: [everyone], channels: [sms, email]}\n",
        steps="steps:\n  - id: tell-everyone\n    send: notice\n    to: [everyone]\n",
        groups="  everyone: {csv: everyone.csv}\n",
        csv_rows=rows,
    )
    rig = make_rig(faults)
    rig.activate(playbook, roster)

    rig.settle()

    outbox = rig.outbox()
    assert len(outbox) == 5000
    assert Counter(row.state for row in outbox) == {"sent": 5000}
    at_twilio = Counter(m["to"] for m in rig.twilio.messages)
    assert at_twilio == dict.fromkeys(phones, 1)
    assert {m["body"] for m in rig.twilio.messages} == {SMS_TEXT}
    assert rig.mailbox.received() == dict.fromkeys(emails, 1)
    # the stand-in did misbehave: some sends had to be tried again or reconciled
    assert rig.twilio.requests > len(phones)
    assert any(row.attempts > 1 for row in outbox if row.channel == "sms")
    step = rig.runtime.incident(rig.incident).steps["tell-everyone"]
    assert step.state == "done"
    assert any("v1 released to Everyone: 5000 messages" in n for n in rig.notes())


def test_a_large_e_mail_release_opens_no_more_connections_than_senders(
    make_rig: RigFactory, tmp_path: Path
) -> None:
    emails = [f"user{i}@example.com" for i in range(600)]
    playbook, roster = write_library(
        tmp_path,
        audiences="audiences:\n  everyone: {groups: [everyone], channels: [email]}\n",
        steps="steps:\n  - id: tell-everyone\n    send: notice\n    to: [everyone]\n",
        groups="  everyone: {csv: everyone.csv}\n",
        csv_rows=[f"Person {i},{address}," for i, address in enumerate(emails)],
    )
    rig = make_rig()
    rig.activate(playbook, roster)

    rig.settle()

    assert rig.mailbox.received() == dict.fromkeys(emails, 1)
    assert len(set(rig.mailbox.peers)) <= rig.runtime.concurrency


# -- fail-over, duplicates, outages -----------------------------------------------------------


def test_a_revoked_twilio_token_mid_release_sends_no_e_mail_twice(
    make_rig: RigFactory, tmp_path: Path
) -> None:
    rows, phones, emails = crowd(20)
    playbook, roster = write_library(
        tmp_path,
        audiences="audiences:\n  everyone: {groups: [everyone], channels: [sms, email]}\n",
        steps="steps:\n  - id: tell-everyone\n    send: notice\n    to: [everyone]\n",
        groups="  everyone: {csv: everyone.csv}\n",
        csv_rows=rows,
    )
    rig = make_rig(auth_token="0badc0de" * 4)
    rig.activate(playbook, roster)

    rig.runtime.run_until(T0 + timedelta(seconds=30))  # the worker goes on
    assert rig.mailbox.received() == dict.fromkeys(emails, 1)  # the other channel went out
    assert rig.twilio.messages == []
    assert "authentication failed" in rig.runtime.channel_trouble["sms"]
    incident = rig.store.incidents()[0].id

    def said() -> list[str]:
        notes = [n for e in rig.store.events(incident) for n in e.notes]
        return [n for n in notes if "the sms channel cannot send" in n]

    assert len(said()) == 1  # on the timeline, once
    assert "retried with back-off until it is fixed" in said()[0]
    rig.runtime.run_until(T0 + timedelta(minutes=4))  # retried, still refused, said once
    assert len(said()) == 1
    assert rig.twilio.messages == []

    # the operator fixes the token; a worker started later sends what was left behind
    rig.clock.advance(timedelta(minutes=5))
    rig.runtime.close()
    rig.runtime = Runtime(
        rig.store, rig.clock, {"sms": twilio_sms(rig.twilio, rig.clock), "email": rig.email}
    )
    rig.runtime.recover()
    rig.settle()

    assert Counter(m["to"] for m in rig.twilio.messages) == dict.fromkeys(phones, 1)
    assert rig.mailbox.received() == dict.fromkeys(emails, 1)
    assert {row.state for row in rig.outbox()} == {"sent"}


OLA = (
    "people:\n"
    "  - {id: ola, name: Ola Nowak, phone: '+48 600 000 001', email: ola@example.com}\n"
    "  - {id: jan, name: Jan Lis, phone: '+48 600 000 002'}\n"
)


def test_an_invalid_number_fails_over_to_e_mail(make_rig: RigFactory, tmp_path: Path) -> None:
    playbook, roster = write_library(
        tmp_path,
        audiences="audiences:\n  staff: {groups: [staff], channels: [sms]}\n",
        steps="steps:\n  - id: tell-staff\n    send: notice\n    to: [staff]\n",
        people=OLA,
        groups="  staff: [ola, jan]\n",
    )
    rig = make_rig(Faults(codes={"+48600000001": 21211}))
    rig.activate(playbook, roster)

    rig.settle()

    states = {(row.message.address, row.channel): row.state for row in rig.outbox()}
    assert states == {
        ("+48600000001", "sms"): "undeliverable",
        ("ola@example.com", "email"): "sent",
        ("+48600000002", "sms"): "sent",
    }
    assert rig.twilio.to("+48600000001") == []
    assert rig.twilio.refused == [(21211, "+48600000001")]
    [body] = rig.mailbox.bodies("ola@example.com")
    assert b"The Acme shop is down since 9:40." in body
    assert rig.mailbox.received() == {"ola@example.com": 1}
    notes = rig.notes()
    assert any("invalid 'To' number" in n and "undeliverable" in n for n in notes), notes
    assert "Ola Nowak: failed over from sms to email" in notes
    assert rig.runtime.incident(rig.incident).steps["tell-staff"].state == "done"


def test_a_mail_server_that_keeps_deferring_is_given_up_on_and_sms_takes_over(
    make_rig: RigFactory, tmp_path: Path
) -> None:
    playbook, roster = write_library(
        tmp_path,
        audiences="audiences:\n  staff: {groups: [staff], channels: [email]}\n",
        steps="steps:\n  - id: tell-staff\n    send: notice\n    to: [staff]\n",
        people=OLA,
        groups="  staff: [ola]\n",
    )
    rig = make_rig()
    rig.mailbox.refuse["ola@example.com"] = "451 4.2.1 mailbox busy, try later"
    rig.activate(playbook, roster)

    rig.settle()

    [mail, sms] = rig.outbox()
    assert (mail.channel, mail.state, mail.attempts) == ("email", "failed", MAX_ATTEMPTS)
    assert mail.detail.startswith(f"gave up after {MAX_ATTEMPTS} attempts: SMTP 451")
    assert rig.mailbox.refused["ola@example.com"] == MAX_ATTEMPTS
    assert (sms.channel, sms.state) == ("sms", "sent")
    assert [m["body"] for m in rig.twilio.to("+48600000001")] == [SMS_TEXT]
    notes = rig.notes()
    assert "Ola Nowak: failed over from email to sms" in notes
    assert any(n.startswith("Message to Ola Nowak by email failed: gave up") for n in notes)
    # the retries backed off: eight attempts took minutes of (virtual) time, not seconds
    assert rig.clock.now() - T0 > timedelta(minutes=5)


def test_someone_listed_twice_gets_one_message(make_rig: RigFactory, tmp_path: Path) -> None:
    playbook, roster = write_library(
        tmp_path,
        audiences="audiences:\n  everyone: {groups: [staff, everyone], channels: [sms, email]}\n",
        steps="steps:\n  - id: tell-everyone\n    send: notice\n    to: [everyone]\n",
        people=OLA,
        groups="  staff: [ola, jan]\n  everyone: {csv: everyone.csv}\n",
        csv_rows=[
            "Ola Nowak,ola@example.com,+48 600 000 001",  # as in the roster
            "Ola,,+48600000001",  # her phone alone
            "Ola N.,ola@example.com,",  # her address alone
            "Jan Lis,,+48 600-000-002",  # the same number written another way
            "Ewa Kot,ewa@example.com,",
            "Ewa Kot,ewa@example.com,",  # the same row twice
        ],
    )
    rig = make_rig()
    rig.activate(playbook, roster)

    rig.settle()

    assert Counter(m["to"] for m in rig.twilio.messages) == {"+48600000001": 1, "+48600000002": 1}
    assert rig.mailbox.received() == {"ola@example.com": 1, "ewa@example.com": 1}
    assert len(rig.outbox()) == 4


PAGE_DRILL = """
roles:
  lead:
    title: Crisis lead
    candidates: [ola, piotr]
audiences:
  crisis-team: {roles: [lead]}
"""
PAGE_STEP = """
steps:
  - id: assemble
    title: Assemble the crisis team
    page: crisis-team
    ack_within: 10m
    escalate:
      - {after: 10m, page: next_candidate}
"""
PAGE_PEOPLE = (
    "people:\n"
    "  - {id: ola, name: Ola Nowak, phone: '+48 600 000 001'}\n"
    "  - {id: piotr, name: Piotr Lis, email: piotr@example.com}\n"
)


def test_a_page_nobody_could_receive_still_escalates(make_rig: RigFactory, tmp_path: Path) -> None:
    playbook, roster = write_library(
        tmp_path,
        roles=PAGE_DRILL,
        audiences="",
        statements="",
        steps=PAGE_STEP,
        people=PAGE_PEOPLE,
    )
    rig = make_rig(Faults(fail_next=10**9))  # Twilio answers every send 503
    rig.activate(playbook, roster)

    rig.run(until=timedelta(minutes=9))
    [page] = rig.outbox()
    assert (page.channel, page.state) == ("sms", "unknown")
    assert page.attempts > 1  # reconciled (nothing there) and tried again
    assert not any("did not acknowledge" in n for n in rig.notes())

    rig.run(until=timedelta(minutes=12))

    notes = rig.notes()
    assert "Crisis lead: Ola Nowak did not acknowledge; moves to Piotr Lis" in " ".join(notes)
    assert rig.runtime.incident(rig.incident).roles["lead"].person == "piotr"
    assert rig.mailbox.received() == {"piotr@example.com": 1}
    ola = [row for row in rig.outbox() if row.channel == "sms"]
    assert [row.state for row in ola] == ["unknown"]
    assert rig.twilio.messages == []


# -- reply addresses --------------------------------------------------------------------------


def test_an_audience_with_reply_to_gets_e_mails_answered_to_its_own_desk(
    make_rig: RigFactory, tmp_path: Path
) -> None:
    playbook, roster = write_library(
        tmp_path,
        audiences=(
            "audiences:\n"
            "  staff: {groups: [staff], channels: [email], internal: true}\n"
            "  customers: {groups: [customers], channels: [sms, email],"
            " reply_to: klienci@acme.example}\n"
        ),
        steps="steps:\n  - id: tell\n    send: notice\n    to: [staff, customers]\n",
        groups=(
            "  staff: [{name: Ola Nowak, email: ola@acme.example}]\n"
            "  customers: {csv: everyone.csv}\n"
        ),
        csv_rows=["Ewa Kot,ewa@example.com,+48600000009"],
    )
    rig = make_rig()
    rig.activate(playbook, roster)

    rig.settle()

    [to_customer] = rig.mailbox.to("ewa@example.com")
    assert to_customer["Reply-To"] == "klienci@acme.example"
    [to_staff] = rig.mailbox.to("ola@acme.example")
    assert to_staff["Reply-To"] is None  # the channel's own (none here): staff answer the desk
    assert [m["body"] for m in rig.twilio.messages] == [SMS_TEXT]  # an SMS has no reply address
