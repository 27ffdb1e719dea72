"""A `warroom run --until-idle --transcript FILE` that dies where a real worker can: after the
due timers are fired and committed, before anything queued is sent. `test_crash_recovery.py`
runs it as its own process; the product CLI carries no fault hook.

    python tests/crash_worker.py TRANSCRIPT   (WARROOM_DB, WARROOM_CLOCK as for `warroom`)
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from warroom.channels import Channel
from warroom.channels.console import TranscriptChannel
from warroom.cli import opened_runtime
from warroom.engine.lifecycles import OutboxPhase


def main(transcript: Path) -> None:
    channels: dict[str, Channel] = {k: TranscriptChannel(k, transcript) for k in ("sms", "email")}
    with opened_runtime(None, channels) as runtime:
        runtime.recover()
        runtime.fire_due_timers()
        if any(row.state == OutboxPhase.QUEUED for row in runtime.store.outbox()):
            os.kill(os.getpid(), signal.SIGKILL)
        runtime.work()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
