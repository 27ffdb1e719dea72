"""How fast the war-room page hears of an acknowledgement, with a room full of browsers.

`warroom serve --no-worker` runs in its own process on a SQLite file holding one activated
data-breach incident. `--clients` (50) server-sent-event streams connect to
`/incidents/{id}/events`, as 50 open pages would, and each waits for its first board. Then
an acknowledgement is written to the database from this process (as the CLI would), and
every stream is timed until its next `board` event. Repeated `--rounds` (5) times. Prints
p50/p99/max over all clients and rounds (goal: p99 <= 500 ms), and the server's resident
memory per connected client (RSS with the clients connected, minus before, over clients).

Figures are printed, never asserted:

    .venv/bin/python bench/page.py [--clients N] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from warroom.channels.testing import free_port
from warroom.engine.events import Acknowledged, NoteAdded
from warroom.library import load_library
from warroom.runtime.clock import SystemClock
from warroom.runtime.runtime import Runtime
from warroom.runtime.snapshot import Snapshot
from warroom.store.sqlite import SqliteStore

REPO = Path(__file__).parent.parent
TOKEN = "bench-page-api-token-0123456789"


def rss(pid: int) -> int:
    """Resident memory of a process, in bytes (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


async def stream(port: int, path: str, boards: asyncio.Queue[float], ready: asyncio.Event) -> None:
    """One open page: read the event stream, put the arrival time of every board."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    while (await reader.readline()) not in (b"\r\n", b""):
        pass  # headers
    first = True
    while line := await reader.readline():
        if line.startswith(b"event: board"):
            if first:
                first = False
                ready.set()
            else:
                boards.put_nowait(time.monotonic())


async def measure(port: int, incident: str, db: Path, clients: int, rounds: int, pid: int) -> None:
    before = rss(pid)
    path = f"/incidents/{incident}/events"
    queues: list[asyncio.Queue[float]] = [asyncio.Queue() for _ in range(clients)]
    readies = [asyncio.Event() for _ in range(clients)]
    tasks = [
        asyncio.create_task(stream(port, path, q, r)) for q, r in zip(queues, readies, strict=True)
    ]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), timeout=60)
    with_clients = rss(pid)
    store = SqliteStore.open(db, shared=True)  # written from a helper thread below
    runtime = Runtime(store, SystemClock())
    delays: list[float] = []
    holders = await asyncio.to_thread(lambda: runtime.incident(incident).roles.values())
    people = list(dict.fromkeys(r.person for r in holders if r.person))
    for n in range(rounds):
        began = time.monotonic()
        if n < len(people):
            event = Acknowledged(person=people[n], by=people[n])
        else:
            event = NoteAdded(text=f"round {n}", by="bench")
        await asyncio.to_thread(runtime.submit, incident, event)
        arrivals = await asyncio.wait_for(asyncio.gather(*(q.get() for q in queues)), 30)
        delays += [a - began for a in arrivals]
        await asyncio.sleep(0.5)
    store.close()
    for task in tasks:
        task.cancel()
    delays.sort()
    p99 = delays[min(len(delays) - 1, round(0.99 * len(delays)) - 1)]
    print(f"{clients} live pages, {rounds} acknowledgements: event to every page")
    print(
        f"  p50 {statistics.median(delays) * 1000:.0f} ms  p99 {p99 * 1000:.0f} ms  "
        f"max {delays[-1] * 1000:.0f} ms  (goal p99 <= 500 ms)"
    )
    per = (with_clients - before) / clients
    print(
        f"  server memory per connected page: {per / 1024:.0f} KiB "
        f"(RSS {before / 2**20:.1f} MiB -> {with_clients / 2**20:.1f} MiB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    roster = REPO / "playbooks" / "roster.yaml"
    book = load_library([REPO / "playbooks"], roster).playbook("data-breach")
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "warroom.db"
        store = SqliteStore.open(db)
        incident = (
            Runtime(store, SystemClock())
            .activate(
                Snapshot.capture(Path(book.file), roster),
                facts={"what_happened": "unauthorised access to customer e-mail addresses"},
            )
            .incident
        )
        store.close()
        port = free_port()
        env = {**os.environ, "WARROOM_DB": str(db), "WARROOM_API_TOKEN": TOKEN}
        with tempfile.TemporaryFile() as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "warroom.cli", "serve", "--no-worker", "--port", str(port)],
                env=env, stdout=log, stderr=log, cwd=REPO,
            )  # fmt: skip
            try:
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    try:
                        if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).is_success:
                            break
                    except httpx.TransportError:
                        time.sleep(0.05)
                asyncio.run(measure(port, incident, db, args.clients, args.rounds, server.pid))
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=60)


if __name__ == "__main__":
    main()
