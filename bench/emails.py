"""What the engine adds to one e-mail release, against a bare smtplib loop and Apprise.

(Named `emails.py`: an `email.py` in bench/ would shadow the standard library's `email` for
every script run from there.)

One statement released to `--messages` addresses (5,000 by default) through the engine (a
snapshot with a CSV group, `Runtime.activate`, `Runtime.work()` with `SmtpEmail` at
`--concurrency` senders, SQLite on disk), then the same messages through a bare loop of
`smtplib` on a thread pool of the same size (one connection per thread, as `SmtpEmail`
keeps), then, if it is installed (`pip install -e '.[bench]'`), through Apprise's `mailto`
fan-out to the same server, as a peer. The server is aiosmtpd in its own process (this file
with `--serve-smtp`), so it takes none of the measured process's CPU; every run is checked
for exactly one message per address.

The ratio engine/bare is the price of the engine's bookkeeping (outbox, claims, a decision
per receipt, batched commits) over the wire time; below 1.0 means the engine overlaps work
that the bare loop does in sequence. Figures are printed, never asserted:

    .venv/bin/python bench/emails.py [--messages N] [--concurrency C] [--transport KIND]
"""

from __future__ import annotations

import argparse
import json
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

FROM = "Acme Crisis Desk <alerts@acme.example>"
PLAYBOOK = """\
playbook: bulk
title: Release to a large audience
languages: [en]
levels: [{id: high, title: High}]
timezone: Europe/Warsaw
audiences:
  everyone: {groups: [everyone], channels: [email]}
statements:
  notice:
    subject:
      en: "Acme: payments are down"
    text:
      en: "Acme: payments are down since 9:40. We will write again by 11:00."
steps:
  - {id: notify, send: notice, to: [everyone]}
"""
TEXT = "Acme: payments are down since 9:40. We will write again by 11:00."


def serve_smtp() -> None:
    """The server process: prints its port, then answers `count` / `counts` on stdin."""
    from aiosmtpd.controller import Controller

    from warroom.channels.testing import free_port

    received: Counter[str] = Counter()
    lock = threading.Lock()

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            with lock:
                received.update(envelope.rcpt_tos)
            return "250 Message accepted for delivery"

    controller = Controller(Handler(), hostname="127.0.0.1", port=free_port())
    controller.start()
    print(controller.port, flush=True)
    for line in sys.stdin:
        with lock:
            if line.strip() == "count":
                print(sum(received.values()), flush=True)
            else:
                print(json.dumps(dict(received)), flush=True)
                received.clear()
    controller.stop()


class Server:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve-smtp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdin is not None
        self.output, self.input = self.process.stdout, self.process.stdin
        self.port = int(self.output.readline())

    def take(self) -> dict[str, int]:
        """What each address received since the last take."""
        self.input.write("counts\n")
        self.input.flush()
        counts: dict[str, int] = json.loads(self.output.readline())
        return counts

    def close(self) -> None:
        self.input.close()
        self.process.wait(timeout=30)


def check(server: Server, addresses: list[str], path: str) -> None:
    got = server.take()
    if got != dict.fromkeys(addresses, 1):
        raise SystemExit(f"{path}: {sum(got.values()):,} messages to {len(got):,} addresses")


def run_engine(
    server: Server, folder: Path, addresses: list[str], concurrency: int, transport: str
) -> tuple[float, float]:
    from warroom.channels.config import SmtpSettings
    from warroom.channels.smtp_email import SmtpEmail
    from warroom.channels.testing import RecordingChannel
    from warroom.runtime.clock import VirtualClock
    from warroom.runtime.runtime import Runtime
    from warroom.runtime.snapshot import Snapshot
    from warroom.store.sqlite import SqliteStore

    rows = "".join(f"Reader {i},{a}\n" for i, a in enumerate(addresses))
    (folder / "everyone.csv").write_text("name,email\n" + rows, encoding="utf-8")
    (folder / "bulk.yaml").write_text(PLAYBOOK, encoding="utf-8")
    (folder / "roster.yaml").write_text(
        "groups:\n  everyone: {csv: everyone.csv}\n", encoding="utf-8"
    )
    email = SmtpEmail(
        SmtpSettings(host="127.0.0.1", port=server.port, security="none", from_address=FROM)
    )
    store = SqliteStore.open(folder / "warroom.db")
    runtime = Runtime(
        store,
        VirtualClock(datetime.now(UTC)),
        {"email": email, "sms": RecordingChannel("sms")},
        concurrency=concurrency,
    )
    runtime.transport = transport
    try:
        began = time.perf_counter()
        snapshot = Snapshot.capture(folder / "bulk.yaml", folder / "roster.yaml")
        incident = runtime.activate(snapshot, by="bench").incident
        started = time.perf_counter()
        runtime.work()
        ended = time.perf_counter()
        states = Counter(r.state for r in store.outbox(incident))
    finally:
        runtime.close()
        email.close()
        store.close()
    if states != {"sent": len(addresses)}:
        raise SystemExit(f"engine: outbox {dict(states)}")
    check(server, addresses, "engine")
    return ended - started, ended - began


def bare_smtplib(server: Server, addresses: list[str], concurrency: int) -> float:
    local = threading.local()
    opened: list[smtplib.SMTP] = []

    def one(address: str) -> None:
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = smtplib.SMTP("127.0.0.1", server.port)
            opened.append(connection)
        mail = EmailMessage()
        mail["From"] = FROM
        mail["To"] = address
        mail["Subject"] = "Acme: payments are down"
        mail.set_content(TEXT)
        connection.send_message(mail)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for _ in pool.map(one, addresses):
            pass
    elapsed = time.perf_counter() - started
    for connection in opened:
        connection.quit()
    check(server, addresses, "bare smtplib")
    return elapsed


def apprise_mailto(server: Server, addresses: list[str]) -> tuple[float, int] | None:
    """Apprise's time, and how many addresses got their message exactly once (a peer that
    drops some is reported, not stopped)."""
    try:
        import apprise
    except ImportError:
        return None
    notifier = apprise.Apprise()
    for address in addresses:
        notifier.add(
            f"mailto://127.0.0.1:{server.port}?from=alerts@acme.example&to={address}"
            "&mode=insecure&user=&pass="
        )
    started = time.perf_counter()
    notifier.notify(body=TEXT, title="Acme: payments are down")
    elapsed = time.perf_counter() - started
    got = server.take()
    once = sum(1 for a in addresses if got.get(a) == 1)
    return elapsed, once


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--transport", choices=("auto", "async", "threads"), default="auto")
    parser.add_argument("--serve-smtp", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_smtp:
        serve_smtp()
        return
    n, c = args.messages, args.concurrency
    addresses = [f"reader{i}@example.com" for i in range(n)]
    server = Server()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            dispatch, total = run_engine(server, Path(tmp), addresses, c, args.transport)
        bare = bare_smtplib(server, addresses, c)
        peer = apprise_mailto(server, addresses)
    finally:
        server.close()
    print(f"{n:,} e-mails to aiosmtpd in its own process, concurrency {c}; every run verified")
    print(f"  engine Runtime.work   {dispatch:>7.2f} s  {n / dispatch:>7,.0f} msg/s")
    print(f"  engine end to end     {total:>7.2f} s  (capture, activate, work)")
    print(f"  bare smtplib loop     {bare:>7.2f} s  {n / bare:>7,.0f} msg/s")
    print(
        f"  engine/bare           dispatch {dispatch / bare:.2f}x, end to end {total / bare:.2f}x"
    )
    if peer is None:
        print("  Apprise: not installed (pip install -e '.[bench]')")
    else:
        seconds, once = peer
        print(
            f"  Apprise mailto        {seconds:>7.2f} s  {n / seconds:>7,.0f} msg/s"
            f"  ({once:,} of {n:,} addresses received theirs)"
        )
        print(f"  engine/Apprise        end to end {total / seconds:.2f}x")


if __name__ == "__main__":
    main()
