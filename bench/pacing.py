"""Does pacing hold? One large release through the engine at a configured
`TWILIO_SEGMENTS_PER_SECOND`, measured from the Twilio stand-in's receive timestamps.

For each rate (10 and 100 segments a second by default) the engine releases one-segment SMS
to enough people to keep it busy for `--seconds` (60 by default) through `TwilioSms` on its
async dispatcher, pacing on the real clock, to the stand-in in its own process
(`bench/sms.py`'s). Printed for each rate: the achieved rate over the run (goal: within
±2% of the setting) and the most messages received in any 1-second window (goal: at most
one over the setting). Figures are printed, never asserted:

    .venv/bin/python bench/pacing.py [--seconds S] [--rates 10,100]
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr
from sms import FROM, Remote, numbers, write_library

from warroom.channels.config import TwilioSettings
from warroom.channels.testing import RecordingChannel
from warroom.channels.twilio_sms import TwilioSms
from warroom.runtime.clock import VirtualClock
from warroom.runtime.runtime import Runtime
from warroom.runtime.snapshot import Snapshot
from warroom.store.sqlite import SqliteStore


def release(standin: Remote, folder: Path, rate: float, count: int) -> list[float]:
    settings = TwilioSettings(
        account_sid=standin.account_sid,
        auth_token=SecretStr(standin.auth_token),
        from_number=FROM,
        base_url=standin.base_url,
        segments_per_second=rate,
    )
    store = SqliteStore.open(folder / "warroom.db")
    runtime = Runtime(
        store,
        VirtualClock(datetime.now(UTC)),
        {"sms": TwilioSms(settings), "email": RecordingChannel("email")},
        concurrency=8,
    )
    since = standin.count()
    try:
        playbook, roster = write_library(folder, numbers(count))
        runtime.activate(Snapshot.capture(playbook, roster), by="bench")
        runtime.work()
    finally:
        runtime.close()
        store.close()
    stamps = sorted(standin.times(since))
    if len(stamps) != count:
        raise SystemExit(f"{rate}/s: the stand-in received {len(stamps)} of {count}")
    return stamps


def busiest_second(stamps: list[float]) -> int:
    """The most messages received within any 1-second window (a sliding window)."""
    most, start = 0, 0
    for end, moment in enumerate(stamps):
        while moment - stamps[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rates", default="10,100")
    args = parser.parse_args()
    standin = Remote(latency=False)
    try:
        for rate in (float(r) for r in args.rates.split(",")):
            count = int(rate * args.seconds) + 1
            with tempfile.TemporaryDirectory() as tmp:
                stamps = release(standin, Path(tmp), rate, count)
            span = stamps[-1] - stamps[0]
            achieved = (len(stamps) - 1) / span
            most = busiest_second(stamps)
            print(
                f"{rate:>5.0f} segments/s: {len(stamps):,} SMS over {span:.1f} s, "
                f"achieved {achieved:.2f}/s ({(achieved / rate - 1) * 100:+.2f}%, goal ±2%); "
                f"busiest 1-s window {most} ({most - rate:+.0f} over, goal ≤ +1)"
            )
    finally:
        standin.close()


if __name__ == "__main__":
    main()
