"""A worker on the async dispatcher that dies mid-release: after its second commit of
receipts, with sends still on the wire and more messages at the provider than recorded.
`test_crash_recovery_async.py` runs it as its own process; the product carries no fault hook.

    python tests/crash_async_worker.py   (WARROOM_DB, WARROOM_CLOCK, TWILIO_* as for `warroom`)
"""

from __future__ import annotations

import os
import signal
import sys

from warroom.channels.config import load_settings
from warroom.channels.registry import build_channels
from warroom.cli import opened_runtime
from warroom.store import OutboxRow

RECEIPTS_PER_COMMIT = 5
DIE_AFTER_COMMITS = 2


def main() -> None:
    channels = build_channels(load_settings(), sys.stderr)
    with opened_runtime(None, channels) as runtime:
        runtime.receipts_per_commit = RECEIPTS_PER_COMMIT
        commits = 0
        record = runtime._record_batch

        def dying(batch: list[tuple[bool, OutboxRow, object]]) -> object:
            nonlocal commits
            refused = record(batch)
            commits += 1
            if commits == DIE_AFTER_COMMITS:
                os.kill(os.getpid(), signal.SIGKILL)
            return refused

        runtime._record_batch = dying  # type: ignore[method-assign,assignment]
        runtime.recover()
        runtime.work()


if __name__ == "__main__":
    main()
