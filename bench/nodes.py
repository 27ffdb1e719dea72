"""One release on one node and on two: SQLite against PostgreSQL, and the failover gap.

1. `--messages` (10,000) SMS released to as many phones, sent by `warroom run --until-idle`
   worker processes to the local Twilio stand-in (in this process): on SQLite with one
   worker, on PostgreSQL (127.0.0.1:5432) with one worker, and with two. Timed from the
   workers' start to the last SMS at the stand-in; each run is checked for exactly one SMS
   per phone. Goal: PostgreSQL with one node <= 1.3x SQLite.
2. The failover gap: two workers on PostgreSQL, one SIGKILLed once a quarter of the release
   is out; the time from the kill to the first SMS the survivor sends to a phone the dead
   worker had claimed and not sent. Goal: <= lease + 1 s (the survivor sees at once that
   the dead worker's process is gone, on one host; across hosts it waits for the lease).

Figures are printed, never asserted:

    .venv/bin/python bench/nodes.py [--messages N]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from warroom.channels.testing import bulk_library
from warroom.channels.twilio_standin import Faults, TwilioStandIn
from warroom.runtime.clock import VirtualClock
from warroom.runtime.runtime import SENDING_LEASE, Runtime
from warroom.runtime.snapshot import Snapshot
from warroom.store import open_store

ADMIN = os.environ.get("WARROOM_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
SID = "AC" + "9" * 32
TOKEN = "standin-token-for-the-nodes-bench"
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def library(folder: Path, phones: list[str]) -> Snapshot:
    return Snapshot.capture(*bulk_library(folder, phones))


def worker(db: str, twilio: TwilioStandIn) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WARROOM_", "TWILIO_"))}
    env.update(
        WARROOM_DB=db,
        WARROOM_CLOCK=T0.isoformat(),
        TWILIO_ACCOUNT_SID=SID,
        TWILIO_AUTH_TOKEN=TOKEN,
        TWILIO_FROM="+48221234567",
        TWILIO_BASE_URL=twilio.base_url,
        TWILIO_SEGMENTS_PER_SECOND="1000000",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "warroom.cli", "run", "--until-idle", "--poll", "0.1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def fresh_database() -> str:
    name = f"warroom_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"{ADMIN.rsplit('/', 1)[0]}/{name}"


def drop(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


def release(db: str, snapshot: Snapshot, phones: list[str], nodes: int) -> float:
    store = open_store(db)
    try:
        Runtime(store, VirtualClock(T0)).activate(snapshot, by="bench")
    finally:
        store.close()
    with TwilioStandIn(SID, TOKEN) as twilio:
        began = time.perf_counter()
        workers = [worker(db, twilio) for _ in range(nodes)]
        for process in workers:
            process.wait(timeout=1800)
        took = time.perf_counter() - began
        sent = Counter(m["to"] for m in twilio.messages)
    if sent != dict.fromkeys(phones, 1):
        raise SystemExit(f"{db}: not exactly one SMS per phone ({sum(sent.values())} sent)")
    return took


def failover(snapshot: Snapshot, phones: list[str]) -> float | None:
    url = fresh_database()
    try:
        store = open_store(url)
        try:
            Runtime(store, VirtualClock(T0)).activate(snapshot, by="bench")
        finally:
            store.close()
        with TwilioStandIn(SID, TOKEN, Faults(answer_after=0.002)) as twilio:
            doomed, survivor = worker(url, twilio), worker(url, twilio)
            while len(twilio.messages) < len(phones) // 4:
                time.sleep(0.005)
            doomed.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            doomed.wait()
            with psycopg.connect(url) as db:
                held = {
                    row[0]
                    for row in db.execute(
                        "SELECT body::jsonb->>'address' FROM outbox"
                        " WHERE state IN ('sending', 'reconciling') AND claimed_by LIKE %s",
                        (f"%:{doomed.pid}",),
                    )
                }
            already = {m["to"] for m in twilio.messages}
            orphans = held - already
            seen = len(twilio.messages)
            gap = None
            while gap is None and survivor.poll() is None:
                for message in twilio.messages[seen:]:
                    if message["to"] in orphans:
                        gap = time.monotonic() - killed_at
                        break
                seen = len(twilio.messages)
                time.sleep(0.001)
            survivor.wait(timeout=600)
            return gap
    finally:
        drop(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    args = parser.parse_args()
    phones = [f"+48601{i:06d}" for i in range(args.messages)]
    with tempfile.TemporaryDirectory() as folder:
        snapshot = library(Path(folder), phones)
        sqlite = release(str(Path(folder) / "warroom.db"), snapshot, phones, 1)
        timings = {}
        for nodes in (1, 2):
            url = fresh_database()
            try:
                timings[nodes] = release(url, snapshot, phones, nodes)
            finally:
                drop(url)
        gap = failover(snapshot, phones)
    n = args.messages
    print(f"{n:,} SMS through worker processes to the Twilio stand-in (exactly once each):")
    print(f"  SQLite, 1 node       {sqlite:6.1f} s  ({n / sqlite:,.0f} msg/s)  1.00x")
    for nodes, took in timings.items():
        print(
            f"  PostgreSQL, {nodes} node{'s' if nodes > 1 else ' '} {took:6.1f} s  "
            f"({n / took:,.0f} msg/s)  {took / sqlite:.2f}x SQLite (goal for 1 node <= 1.3x)"
        )
    lease = SENDING_LEASE.total_seconds()
    shown = f"{gap:.2f} s" if gap is not None else "none (the dead node had sent all it held)"
    print(f"failover gap, SIGKILL to the survivor's first send of a taken-over message: {shown}")
    print(f"  (goal <= lease + 1 s = {lease + 1:.0f} s)")


if __name__ == "__main__":
    main()
