"""A worker on the async dispatcher killed mid-release, with sends on the wire: after a
restart every recipient has the statement exactly once.

The killed worker (`crash_async_worker.py`) and the restarted one (`warroom run`) are real
processes sending through the real twilio client's `create_async` to `TwilioStandIn` in this
process. The kill comes after the worker's second commit of receipts, so the provider holds
messages the outbox still calls `sending`: the restart must reconcile them, not resend them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from warroom.channels.testing import bulk_library
from warroom.channels.twilio_standin import Faults, TwilioStandIn
from warroom.runtime.clock import VirtualClock
from warroom.runtime.runtime import Runtime
from warroom.runtime.snapshot import Snapshot
from warroom.store.sqlite import SqliteStore

WORKER = Path(__file__).parent / "crash_async_worker.py"
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
"""In the past: reconciling asks the stand-in (stamping with the wall clock) what it got
since the virtual claim time."""
SID = "AC" + "5" * 32
TOKEN = "standin-token-for-the-async-crash"
PHONES = [f"+4860020{i:04d}" for i in range(120)]


def worker(
    command: list[str], db: Path, twilio: TwilioStandIn, at: datetime
) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("WARROOM_", "TWILIO_", "SMTP_"))
    }
    env.update(
        WARROOM_DB=str(db),
        WARROOM_CLOCK=at.isoformat(),
        TWILIO_ACCOUNT_SID=SID,
        TWILIO_AUTH_TOKEN=TOKEN,
        TWILIO_FROM="+48221234567",
        TWILIO_BASE_URL=twilio.base_url,
        TWILIO_SEGMENTS_PER_SECOND="100000",
        PYTHONIOENCODING="utf-8",
    )
    return subprocess.run(
        [sys.executable, *command],
        cwd=db.parent,
        env=env,
        capture_output=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "restart_after",
    [timedelta(0), timedelta(minutes=4)],
    ids=["restarted-at-once", "restarted-past-the-lease"],
)
def test_a_worker_killed_with_sends_in_flight_leaves_nobody_twice_and_nobody_out(
    tmp_path: Path, restart_after: timedelta
) -> None:
    db = tmp_path / "warroom.db"
    store = SqliteStore.open(db)
    try:
        snapshot = Snapshot.capture(*bulk_library(tmp_path, PHONES))
        incident = Runtime(store, VirtualClock(T0)).activate(snapshot, by="test").incident
    finally:
        store.close()

    # answers after 0.3 s: when the worker dies, sends are certainly on the wire
    with TwilioStandIn(SID, TOKEN, Faults(answer_after=0.3)) as twilio:
        killed = worker([str(WORKER)], db, twilio, T0 + timedelta(minutes=1))
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        store = SqliteStore.open(db)
        try:
            states = Counter(row.state for row in store.outbox(incident))
        finally:
            store.close()
        assert 0 < states["sent"] <= 10  # two commits of at most five receipts...
        assert len(twilio.messages) > states["sent"]  # ...while more had reached Twilio
        assert states["sending"] > 0

        # what the dead worker left `sending` is reconciled, then resent: at once (its
        # process is gone, so its claims are swept) or later (its lease ran out)
        restarted = worker(
            ["-m", "warroom.cli", "run", "--until-idle"],
            db,
            twilio,
            T0 + timedelta(minutes=1) + restart_after,
        )
        assert restarted.returncode == 0, restarted.stderr
        assert "requeued" in restarted.stderr
        received = Counter(m["to"] for m in twilio.messages)

    assert received == dict.fromkeys(PHONES, 1)
    store = SqliteStore.open(db)
    try:
        rows = store.outbox(incident)
    finally:
        store.close()
    assert {row.state for row in rows} == {"sent"}
    assert sum(row.detail == "reconciled" for row in rows) > 0
