"""A worker that dies mid-job: nothing decided is lost, nothing is sent twice, every timer fires.

The worker is a real `warroom run` process on a frozen clock (`WARROOM_CLOCK`). The one that
dies is `crash_worker.py`, the same worker run from the tests' own entry script: it SIGKILLs
itself after it has fired the due timers and before it sends anything.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from warroom.channels.console import TranscriptChannel
from warroom.engine.events import TimerFired
from warroom.runtime.clock import VirtualClock
from warroom.runtime.runtime import Runtime
from warroom.store.sqlite import SqliteStore

CRASHING_WORKER = Path(__file__).parent / "crash_worker.py"
T0 = datetime.fromisoformat("2026-11-16T10:00:00+01:00")
INCIDENT = "outage-20261116-1000"
KILLED = -signal.SIGKILL
RUN = ("run", "--until-idle", "--transcript", "t.jsonl")

FIRST_RUNG = [  # +10m: each silent role holder is replaced by the next candidate
    "Crisis lead: Anna Kowalska did not acknowledge; moves to Bartek Nowak (candidate 2, "
    "tag:deputy)",
    "Spokesperson: Bartek Nowak did not acknowledge; moves to Anna Kowalska (candidate 2, "
    "tag:comms-director)",
    "Legal approver: Dawid Lis did not acknowledge; moves to Ewa Wiśniewska (candidate 2, "
    "tag:counsel)",
]
SECOND_RUNG = [  # +20m: the CEO is paged and the level is proposed (silence never confirms)
    "Level major proposed, not confirmed (Assemble the crisis team not acknowledged): its "
    "pages go out; nothing for outside audiences waits on it (`warroom confirm-level`)",
    "Spokesperson: at level major, Celina Wójcik takes over from Anna Kowalska (tag:ceo)",
]


class Desk:
    """One incident database and library in tmp_path, driven by `warroom` subprocesses."""

    def __init__(self, tmp_path: Path, mini: Path) -> None:
        self.folder = tmp_path
        self.db = tmp_path / "warroom.db"
        self.mini = mini
        self.transcript = tmp_path / "t.jsonl"

    def warroom(
        self, *args: str, minutes: int, fault: bool = False
    ) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
        env.update(
            WARROOM_DB=str(self.db),
            WARROOM_LIBRARY=str(self.mini),
            WARROOM_CLOCK=(T0 + timedelta(minutes=minutes)).isoformat(),
            PYTHONIOENCODING="utf-8",
        )
        command = [sys.executable, "-m", "warroom.cli", *args]
        if fault:
            assert args == RUN, "only the worker is killed"
            command = [sys.executable, str(CRASHING_WORKER), "t.jsonl"]
        return subprocess.run(
            command,
            cwd=self.folder,
            env=env,
            capture_output=True,
            encoding="utf-8",
            timeout=120,
            check=False,
        )

    def ok(self, *args: str, minutes: int) -> subprocess.CompletedProcess[str]:
        done = self.warroom(*args, minutes=minutes)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        return done

    def activate(self) -> None:
        self.ok("activate", "outage", "--fact", "company=Acme", "--fact", "service=Shop", minutes=0)

    def outbox(self) -> dict[str, str]:
        """Idempotency key -> state, for every message the engine ever decided to send."""
        with closing(sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)) as db:
            rows = db.execute("SELECT key, state FROM outbox ORDER BY event_seq, rowid")
            return dict(rows.fetchall())

    def sent(self) -> list[str]:
        """The idempotency key of every line in the transcript, in order."""
        if not self.transcript.exists():
            return []
        lines = self.transcript.read_text(encoding="utf-8").splitlines()
        return [json.loads(line)["key"] for line in lines]

    def timeline(self, minutes: int) -> list[dict[str, Any]]:
        done = self.ok("timeline", "--format", "json", minutes=minutes)
        entries: list[dict[str, Any]] = json.loads(done.stdout)["timeline"]
        return entries

    def assert_everything_sent_once(self) -> None:
        outbox, sent = self.outbox(), self.sent()
        assert set(outbox.values()) == {"printed"}  # a transcript: nobody received them
        assert sorted(sent) == sorted(outbox)  # every key, each exactly once
        assert len(sent) == len(outbox)


def escalations(timeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        e
        for e in timeline
        if e["event"]["kind"] == "timer-fired" and e["event"]["timer"] == "esc:assemble"
    ]


def notes(timeline: list[dict[str, Any]]) -> list[str]:
    return [note for entry in timeline for note in entry["notes"]]


def when(entries: list[dict[str, Any]]) -> list[timedelta]:
    """How long after activation each timeline entry happened."""
    return [datetime.fromisoformat(e["at"]) - T0 for e in entries]


def offsets(*values: int) -> list[timedelta]:
    return [timedelta(minutes=m) for m in values]


@pytest.fixture
def desk(tmp_path: Path, mini: Path) -> Desk:
    desk = Desk(tmp_path, mini)
    desk.activate()
    return desk


def test_worker_killed_before_dispatch_sends_everything_once_after_restart(desk: Desk) -> None:
    paged_at_activation = set(desk.outbox())
    assert len(paged_at_activation) == 5

    # +10m, nobody has acknowledged: the worker fires the first rung, then dies
    killed = desk.warroom(*RUN, minutes=10, fault=True)
    assert killed.returncode == KILLED, killed.stderr
    outbox = desk.outbox()
    first_rung = set(outbox) - paged_at_activation
    assert first_rung, "the first rung's pages were not committed before the kill"
    assert set(outbox.values()) == {"queued"}
    assert not desk.transcript.exists()  # nothing was sent

    desk.ok(*RUN, minutes=10)  # restarted, no fault
    desk.assert_everything_sent_once()
    sent_before_second_kill = desk.sent()

    # +20m: the second rung is decided, the worker dies again before sending it
    killed = desk.warroom(*RUN, minutes=20, fault=True)
    assert killed.returncode == KILLED, killed.stderr
    outbox = desk.outbox()
    second_rung = set(outbox) - set(sent_before_second_kill)
    assert any("/+48603456789/sms" in key for key in second_rung)  # the CEO's phone
    assert {outbox[key] for key in second_rung} == {"queued"}
    assert desk.sent() == sent_before_second_kill  # none of the new keys went out

    desk.ok(*RUN, minutes=20)
    desk.assert_everything_sent_once()

    # timers made after the restarts still fire: the repeat rung at +30m and again at +40m
    desk.ok(*RUN, minutes=30)
    desk.ok(*RUN, minutes=40)
    desk.assert_everything_sent_once()

    timeline = desk.timeline(minutes=40)
    assert when(escalations(timeline)) == offsets(10, 20, 30, 40)
    written = notes(timeline)
    for note in FIRST_RUNG + SECOND_RUNG:
        assert written.count(note) == 1, note
    assert sum("paged Celina Wójcik, code" in n for n in written) == 1  # the CEO page, once
    status = desk.ok("status", minutes=40).stdout
    assert "level minor (major proposed, not confirmed)" in status
    assert f"Messages: {len(desk.outbox())} printed" in status  # a transcript, not a person


def test_worker_killed_at_25m_had_committed_both_overdue_rungs(desk: Desk) -> None:
    killed = desk.warroom(*RUN, minutes=25, fault=True)
    assert killed.returncode == KILLED, killed.stderr
    assert not desk.transcript.exists()
    written = notes(desk.timeline(minutes=25))
    for note in FIRST_RUNG + SECOND_RUNG:  # both +10m and +20m rungs are in the log
        assert written.count(note) == 1, note

    desk.ok(*RUN, minutes=25)
    desk.assert_everything_sent_once()
    desk.ok(*RUN, minutes=45)  # the repeats due at +30m and +40m...
    desk.assert_everything_sent_once()
    # ...are one re-page when the worker comes back: missed repeats are not replayed in a burst
    assert len(escalations(desk.timeline(minutes=45))) == 3


def test_worker_started_late_catches_up_on_every_overdue_rung(desk: Desk) -> None:
    desk.ok(*RUN, minutes=25)
    timeline = desk.timeline(minutes=25)
    assert len(escalations(timeline)) == 2  # +10m and +20m were both due
    assert "(major proposed, not confirmed)" in desk.ok("status", minutes=25).stdout

    desk.ok(*RUN, minutes=45)
    # the repeats due at +30m and +40m come as one re-page, not a burst of two
    assert len(escalations(desk.timeline(minutes=45))) == 3
    desk.ok(*RUN, minutes=50)  # and the repeat after that keeps the ladder's beat
    assert len(escalations(desk.timeline(minutes=50))) == 4


def test_messages_a_dead_worker_left_sending_are_requeued_and_sent_once(desk: Desk) -> None:
    # a worker claims every queued page (as it does before sending), gets two of them out,
    # and dies before it can record any receipt
    store = SqliteStore.open(desk.db)
    try:
        claimed = store.claim("dead-worker:4242", T0 + timedelta(minutes=1))
        channel = TranscriptChannel("sms", desk.transcript)
        for row in claimed[:2]:
            channel.send(row.message)
        channel.close()
    finally:
        store.close()
    assert len(claimed) == 5
    assert set(desk.outbox().values()) == {"sending"}

    # a minute later its lease has not run out: it may still be alive, so nothing is taken
    early = desk.ok(*RUN, minutes=2)
    assert "requeued" not in early.stderr
    assert set(desk.outbox().values()) == {"sending"}
    assert len(desk.sent()) == 2

    # more than two minutes after the claim, the messages go back to the queue and out
    late = desk.ok(*RUN, minutes=4)
    assert "requeued 5 messages a stopped worker left unsent" in late.stderr
    desk.assert_everything_sent_once()
    assert len(desk.sent()) == 5


def test_a_wake_up_two_workers_both_picked_up_fires_once(desk: Desk) -> None:
    now = T0 + timedelta(minutes=10)
    first, second = SqliteStore.open(desk.db), SqliteStore.open(desk.db)
    try:
        # two `warroom run` at once each read the due timers, then each submits the wake-up
        one, two = Runtime(first, VirtualClock(now)), Runtime(second, VirtualClock(now))
        seen_by_one, seen_by_two = first.due_timers(now), second.due_timers(now)
        (due,) = [t for t in seen_by_one if t.timer == "esc:assemble"]
        assert due in seen_by_two
        wake_up = TimerFired(timer=due.timer, token=due.token, by="timer")
        one.submit(INCIDENT, wake_up)
        again = two.submit(INCIDENT, wake_up)

        assert again.notes == (f"wake-up esc:assemble #{due.token} is stale; ignored",)
        assert two.incident(INCIDENT).level == "minor"  # the CEO is not woken at +10m
    finally:
        first.close()
        second.close()
