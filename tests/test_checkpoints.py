"""Checkpoints of the folded state: reopening an incident loads the latest one and folds only
the events after it, and gives exactly the state that folding the whole log gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from warroom.channels.testing import RecordingChannel
from warroom.engine.events import NoteAdded
from warroom.runtime import runtime as runtime_module
from warroom.runtime.clock import VirtualClock
from warroom.runtime.runtime import Runtime
from warroom.runtime.snapshot import Snapshot
from warroom.store.sqlite import SqliteStore

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
PLAYBOOK = """\
playbook: bulk
title: Release to a large audience
languages: [pl]
levels: [{id: high, title: High}]
timezone: Europe/Warsaw
audiences:
  everyone: {title: Everyone, groups: [everyone], channels: [sms]}
statements:
  notice:
    text:
      pl: "Acme: awaria systemu płatności."
steps:
  - {id: notify, send: notice, to: [everyone]}
"""


def library(folder: Path, count: int) -> Snapshot:
    rows = "".join(f"Odbiorca {i},+4860030{i:04d}\n" for i in range(count))
    (folder / "everyone.csv").write_text("name,phone\n" + rows, "utf-8")
    (folder / "bulk.yaml").write_text(PLAYBOOK, "utf-8")
    (folder / "roster.yaml").write_text("groups:\n  everyone: {csv: everyone.csv}\n", "utf-8")
    return Snapshot.capture(folder / "bulk.yaml", folder / "roster.yaml")


def test_reopening_from_a_checkpoint_gives_the_state_a_replay_from_zero_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime_module, "CHECKPOINT_EVERY", 7)
    store = SqliteStore.open(tmp_path / "warroom.db")
    clock = VirtualClock(T0)
    sms = RecordingChannel("sms", failing={"+48600300003"})
    runtime = Runtime(store, clock, {"sms": sms, "email": RecordingChannel("email")})
    try:
        incident = runtime.activate(library(tmp_path, 30), by="test").incident
        runtime.work()
        clock.advance(timedelta(minutes=5))
        runtime.submit(incident, NoteAdded(text="after the release", by="anna"))
        last = store.last_n(incident)
        saved = store.checkpoint(incident)
        assert saved is not None
        assert 0 < saved[0] < last  # taken mid-log: reopening must fold what came after
    finally:
        runtime.close()

    reopened = Runtime(store, clock)
    from_checkpoint = reopened.incident(incident)
    replayed = Runtime(store, clock).replay(incident)
    store.close()

    assert from_checkpoint == replayed
    assert len(replayed.messages) == 30
    assert {m.state for m in replayed.messages.values()} == {"delivered", "undeliverable"}


def test_a_checkpoint_from_other_code_is_ignored(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "warroom.db")
    runtime = Runtime(store, VirtualClock(T0), {"sms": RecordingChannel("sms")})
    try:
        incident = runtime.activate(library(tmp_path, 5), by="test").incident
        runtime.work()
        with store.transaction():
            store.save_checkpoint(incident, store.last_n(incident), "other-code", b"not a pickle")
        assert Runtime(store, VirtualClock(T0)).incident(incident) == runtime.replay(incident)
    finally:
        runtime.close()
        store.close()


def test_timeline_folds_delivery_reports_per_audience_and_lists_them_with_all(
    tmp_path: Path,
) -> None:
    from typer.testing import CliRunner

    from warroom.cli import app

    store = SqliteStore.open(tmp_path / "warroom.db")
    sms = RecordingChannel("sms", failing={"+48600300001"})
    runtime = Runtime(store, VirtualClock(T0), {"sms": sms})
    try:
        incident = runtime.activate(library(tmp_path, 12), by="test").incident
        runtime.work()
    finally:
        runtime.close()
        store.close()
    runner = CliRunner()
    env = {"WARROOM_DB": str(tmp_path / "warroom.db"), "COLUMNS": "200"}

    folded = runner.invoke(app, ["timeline", incident], env=env)
    every = runner.invoke(app, ["timeline", incident, "--all"], env=env)

    assert folded.exit_code == 0, folded.output
    assert "Everyone (sms): 11 delivered, 1 undeliverable" in folded.output
    # the one report that left a note (the refusal) is still shown; the eleven others are not
    assert folded.output.count("delivery-reported") == 1
    assert every.exit_code == 0, every.output
    assert every.output.count("delivery-reported") == 12
