"""The exercise interlock: an exercise reaches only its participants, always marked."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from warroom.channels.sandbox import EXERCISE_MARK
from warroom.channels.testing import RecordingChannel
from warroom.engine import events as ev
from warroom.runtime.clock import VirtualClock
from warroom.runtime.runtime import Runtime
from warroom.runtime.snapshot import Snapshot
from warroom.server.board import WORDS, build
from warroom.store.sqlite import SqliteStore

T0 = datetime.fromisoformat("2026-11-16T10:00:00+01:00")


def test_an_exercise_reaches_only_its_participants(mini: Path, tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "w.db")
    try:
        sms, email = RecordingChannel("sms"), RecordingChannel("email")
        runtime = Runtime(store, VirtualClock(T0), {"sms": sms, "email": email})
        snapshot = Snapshot.capture(mini / "outage.yaml", mini / "roster.yaml")
        outcome = runtime.activate(
            snapshot,
            facts={"company": "Acme", "service": "the shop"},
            by="facilitator",
            exercise=True,
            participants=("anna",),
        )
        incident = outcome.incident
        for person in ("anna", "bartek", "dawid"):
            runtime.submit(incident, ev.Acknowledged(person=person))
        runtime.submit(incident, ev.Approved(statement="holding", person="dawid"))
        runtime.run_until(T0 + timedelta(hours=1))

        # the playbook released to staff and press: only Anna's messages were delivered; the
        # rest were withheld, and the incident says so rather than "delivered"
        statements = list(runtime.incident(incident).messages.values())
        assert len({m.recipient for m in statements}) > 3
        assert {m.state for m in statements if m.person == "anna"} == {"delivered"}
        assert {m.state for m in statements if m.person != "anna"} == {"withheld"}
        # and the war-room page counts them apart, never as delivered
        state = runtime.incident(incident)
        board = build(state, store.outbox(incident), [], T0 + timedelta(hours=1), WORDS["en"])
        shown: Counter[str] = Counter()
        for line in board.delivery:
            shown.update(dict(line.counts))
        assert shown["withheld"] == sum(m.person != "anna" for m in statements)
        assert shown["delivered"] == sum(m.person == "anna" for m in statements)
        # but only Anna's phone and mailbox were ever handed to a channel
        reached = {m.address for m in sms.sent + email.sent}
        assert reached == {"+48601234567", "anna@acme.example"}
        for message in sms.sent + email.sent:
            assert message.text.startswith(EXERCISE_MARK)
        assert all(m.subject.startswith(EXERCISE_MARK) for m in email.sent)
    finally:
        store.close()
