"""The worker as a process: it runs until told to stop, and stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_worker_stops_cleanly_on_signal(mini: Path, tmp_path: Path, stop: signal.Signals) -> None:
    env = {
        **os.environ,
        "WARROOM_LIBRARY": str(mini),
        "WARROOM_DB": str(tmp_path / "w.db"),
        "WARROOM_CLOCK": "2026-11-16T10:00:00+01:00",
    }
    activate = [sys.executable, "-m", "warroom.cli", "activate", "outage"]
    facts = ["--fact", "company=Acme", "--fact", "service=the shop"]
    subprocess.run([*activate, *facts], env=env, check=True, capture_output=True)
    transcript = tmp_path / "t.jsonl"
    worker = subprocess.Popen(
        [sys.executable, "-m", "warroom.cli", "run", "--transcript", str(transcript)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert worker.stderr is not None
    warning = worker.stderr.readline()  # first, loudly: nothing configured is sent
    assert "NOT SENDING SMS AND EMAIL" in warning
    ready = worker.stderr.readline()  # blocks until the worker is in its loop
    assert "running on" in ready
    worker.send_signal(stop)
    assert worker.wait(timeout=30) == 0
    rest = worker.stderr.read()
    worker.stderr.close()
    assert "Traceback" not in rest
    # the pages queued at activation went out before it stopped
    assert len(transcript.read_text().splitlines()) == 5
