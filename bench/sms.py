"""What the engine adds to sending a release by SMS, against a bare loop of the twilio client.

A statement released to a large audience is the engine's heaviest moment: every message is
an outbox row, claimed, sent through the real `twilio` client and settled as a delivery
report that the engine decides and commits. This sends `--messages` SMS (10,000 by default)
that way to `TwilioStandIn`, a local stand-in for Twilio's Messages API, then sends the same
messages (same numbers, same bodies) to the same stand-in with a bare asyncio loop of the
twilio client's own `create_async` (`AsyncTwilioHttpClient`, HTTP retries off), at the same
concurrency. The stand-in runs in its own process (this file with `--serve-standin`), so it
never takes the measured process's CPU or GIL; both paths send to the same one, one after
the other, in one run, so the ratio stays comparable across noisy shared machines.

The ratio is what the engine adds to the wire: snapshot, outbox, claiming, one decision per
delivery report, committed in batches while other sends are in flight. The engine sends
with the same `create_async` on its async dispatcher. `--latency` makes the stand-in answer
each request after 50-150 ms, as a real provider across the internet does; the ratio then
says how much of that waiting the engine fails to overlap. `--baseline threads` is a bare
loop of the synchronous `client.messages.create` on a thread pool of the same size (what the
engine used before its async dispatcher); `--baseline both` runs the two.

The engine path: a playbook with one statement (no approvers) and one send step to an
audience that is a CSV group of N contacts with distinct Polish mobile numbers, SMS only;
`Snapshot.capture`, then `Runtime.activate` on a SQLite file with a virtual clock, then
`Runtime.work()` until the outbox is empty. Pacing is set far above what is sent, so the
segment bucket never waits. A send without a clear answer (a dropped connection) is
reconciled as in production, on the virtual clock, and counted. The stand-in gets Nagle off
and a longer listen backlog (see `StandIn`), or its sockets would dominate both paths.

Figures are printed, never asserted; the run stops only if a path did not deliver exactly
the N messages. The default run takes about a minute on two cores (`--baseline both` about
a minute and a half):

    .venv/bin/python bench/sms.py [--messages N] [--concurrency C] [--baseline KIND] [--latency]
    .venv/bin/python bench/sms.py --messages 1000 --baseline both     # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import phonenumbers
from pydantic import SecretStr
from twilio.http.response import Response
from twilio.rest import Client

from warroom.channels.config import TwilioSettings
from warroom.channels.testing import RecordingChannel
from warroom.channels.twilio_sms import BaseUrlHttpClient, TwilioSms
from warroom.channels.twilio_standin import TwilioStandIn
from warroom.runtime.clock import VirtualClock
from warroom.runtime.runtime import Runtime
from warroom.runtime.snapshot import Snapshot
from warroom.store.sqlite import SqliteStore

try:
    from twilio.http.async_http_client import AsyncTwilioHttpClient
except ImportError:  # aiohttp is missing
    AsyncTwilioHttpClient = None

FROM = "+48221234567"
FIRST_NUMBER = 48600000000
TIMEOUT = 30.0
BACKLOG = 128
ROUNDS = 20
"""At most this many virtual minutes for sends without a clear answer to be reconciled."""

PLAYBOOK = """\
playbook: bulk
title: Release to a large audience
languages: [pl]
levels: [{id: high, title: High}]
timezone: Europe/Warsaw
audiences:
  everyone: {groups: [everyone], channels: [sms]}
statements:
  notice:
    text:
      pl: "Acme: awaria systemu płatności. Kolejna informacja o {{ next_update_at | time }}."
steps:
  - {id: notify, send: notice, to: [everyone]}
"""
ROSTER = "groups:\n  everyone: {csv: everyone.csv}\n"

Sent = list[tuple[str, str]]
"""(To, Body) of every message, in the order sent."""


def numbers(count: int) -> list[str]:
    """`count` distinct Polish mobile numbers in E.164, each checked by `phonenumbers`."""
    found = [f"+{FIRST_NUMBER + i}" for i in range(count)]
    bad = [n for n in found if not phonenumbers.is_valid_number(phonenumbers.parse(n))]
    if bad:
        raise SystemExit(f"{len(bad)} generated numbers are not valid, e.g. {bad[0]}")
    return found


def write_library(folder: Path, phones: list[str]) -> tuple[Path, Path]:
    rows = "".join(f"Odbiorca {i},{phone}\n" for i, phone in enumerate(phones))
    (folder / "everyone.csv").write_text("name,phone\n" + rows, encoding="utf-8")
    (folder / "bulk.yaml").write_text(PLAYBOOK, encoding="utf-8")
    (folder / "roster.yaml").write_text(ROSTER, encoding="utf-8")
    return folder / "bulk.yaml", folder / "roster.yaml"


def received(standin: Remote, since: int, expected: Sent, path: str) -> None:
    """Stop the run unless the stand-in got exactly `expected` since message `since`."""
    got = sorted(standin.received(since))
    if got != sorted(expected):
        raise SystemExit(
            f"{path}: the stand-in received {len(got):,} messages, expected {len(expected):,}"
        )


class StandIn(TwilioStandIn):
    """The stand-in with two socket settings a load needs, which it leaves at Python's.

    - Nagle off: its handler writes an answer's headers and body separately, and with Nagle
      on the body waits for the client's delayed ACK, about 40 ms on Linux; every request
      would cost 40 ms of idling, and both paths would measure that instead of themselves.
    - A listen backlog of 128, not 5: the engine opens `concurrency` connections at once
      each time it claims a batch, and connections beyond the backlog wait to be retried.
    """

    def __init__(self, latency: bool = False) -> None:
        self.adjusted: list[str] = []
        self.latency = latency
        super().__init__()
        if self._server.request_queue_size < BACKLOG:
            self._server.socket.listen(BACKLOG)
            self.adjusted.append(f"listen backlog {self._server.request_queue_size} -> {BACKLOG}")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        handler = super()._handler()
        if handler.disable_nagle_algorithm:
            return handler
        self.adjusted.append("Nagle off (else 40 ms per answer)")
        return type("NoDelayHandler", (handler,), {"disable_nagle_algorithm": True})

    def _create(self, request: BaseHTTPRequestHandler, form: dict[str, str]) -> None:
        if self.latency:  # each request on its own thread: waits overlap, as at Twilio
            time.sleep(random.uniform(0.05, 0.15))
        super()._create(request, form)


def serve_standin(latency: bool) -> None:
    """The stand-in process: prints its address and settings, then answers commands on stdin
    (`count`; `since N`: the (To, Body) of every message from the N-th on, as JSON)."""
    standin = StandIn(latency)
    with standin:
        print(
            json.dumps(
                {
                    "base_url": standin.base_url,
                    "account_sid": standin.account_sid,
                    "auth_token": standin.auth_token,
                    "adjusted": standin.adjusted,
                }
            ),
            flush=True,
        )
        for line in sys.stdin:
            command, _, argument = line.strip().partition(" ")
            if command == "count":
                print(len(standin.messages), flush=True)
            elif command == "since":
                found = [(m["to"], m["body"]) for m in standin.messages[int(argument) :]]
                print(json.dumps(found, ensure_ascii=False), flush=True)
            elif command == "times":
                stamps = [m["_sent_at"].timestamp() for m in standin.messages[int(argument) :]]
                print(json.dumps(stamps), flush=True)


class Remote:
    """The stand-in in its own process, seen from the bench."""

    def __init__(self, latency: bool) -> None:
        command = [sys.executable, __file__, "--serve-standin"]
        if latency:
            command.append("--latency")
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8"
        )
        assert self.process.stdout is not None
        assert self.process.stdin is not None
        self.output, self.input = self.process.stdout, self.process.stdin
        hello = json.loads(self.output.readline())
        self.base_url: str = hello["base_url"]
        self.account_sid: str = hello["account_sid"]
        self.auth_token: str = hello["auth_token"]
        self.adjusted: list[str] = hello["adjusted"]

    def _ask(self, line: str) -> str:
        self.input.write(line + "\n")
        self.input.flush()
        return self.output.readline()

    def count(self) -> int:
        return int(self._ask("count"))

    def received(self, since: int) -> list[tuple[str, str]]:
        return [(to, body) for to, body in json.loads(self._ask(f"since {since}"))]

    def times(self, since: int) -> list[float]:
        """When the stand-in received each message from the `since`-th on (epoch seconds)."""
        stamps: list[float] = json.loads(self._ask(f"times {since}"))
        return stamps

    def close(self) -> None:
        self.input.close()
        self.process.wait(timeout=30)


# -- the engine -----------------------------------------------------------------------------


class EngineTimes:
    def __init__(self) -> None:
        self.capture = 0.0
        self.activate = 0.0
        self.dispatch = 0.0
        self.unclear = 0
        """Sends left without a clear answer after the first `work()` (reconciled later)."""

    @property
    def total(self) -> float:
        return self.capture + self.activate + self.dispatch


def run_engine(
    standin: Remote, folder: Path, phones: list[str], concurrency: int
) -> tuple[EngineTimes, Sent]:
    settings = TwilioSettings(
        account_sid=standin.account_sid,
        auth_token=SecretStr(standin.auth_token),
        from_number=FROM,
        base_url=standin.base_url,
        concurrency=concurrency,
        segments_per_second=1e9,
        timeout=TIMEOUT,
    )
    email = RecordingChannel("email")
    store = SqliteStore.open(folder / "warroom.db")
    clock = VirtualClock(datetime.now(UTC))  # reconciling asks the stand-in what it got since
    runtime = Runtime(
        store,
        clock,
        {"sms": TwilioSms(settings), "email": email},
        concurrency=concurrency,
    )
    times = EngineTimes()
    since = standin.count()
    try:
        playbook, roster = write_library(folder, phones)
        started = time.perf_counter()
        snapshot = Snapshot.capture(playbook, roster)
        times.capture = time.perf_counter() - started

        started = time.perf_counter()
        incident = runtime.activate(snapshot, by="bench").incident
        times.activate = time.perf_counter() - started

        started = time.perf_counter()
        runtime.work()
        rows = store.outbox(incident)
        times.unclear = sum(r.state != "sent" for r in rows)
        for _ in range(ROUNDS):
            if all(r.state == "sent" for r in rows):
                break
            runtime.run_until(clock.now() + timedelta(minutes=1))
            rows = store.outbox(incident)
        times.dispatch = time.perf_counter() - started
    finally:
        runtime.close()
        store.close()
    unsettled = [r for r in rows if r.state != "sent"]
    if unsettled or email.sent or len(rows) != len(phones):
        raise SystemExit(
            f"engine: {len(rows):,} messages in the outbox, {len(unsettled):,} not sent "
            f"(e.g. {unsettled[0].state if unsettled else '-'}), {len(email.sent)} e-mails"
        )
    sent = [(r.message.address, r.message.text) for r in rows]
    received(standin, since, sent, "engine")
    return times, sent


# -- the bare loops -------------------------------------------------------------------------


def rewrite(base: str, url: str) -> str:
    """`url` with the scheme and host of `base`, as `BaseUrlHttpClient` does."""
    to, parts = urlsplit(base), urlsplit(url)
    return urlunsplit((to.scheme, to.netloc, parts.path, parts.query, parts.fragment))


if AsyncTwilioHttpClient is not None:

    class BaseUrlAsyncHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
        """Twilio's own async HTTP client, sending to another host; nothing is patched.
        `max_retries` stays None, so aiohttp-retry never re-sends a POST."""

        def __init__(self, base_url: str, timeout: float) -> None:
            super().__init__(timeout=timeout)
            self.base = base_url

        async def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
            return await super().request(method, rewrite(self.base, url), *args, **kwargs)


def bare_async(standin: Remote, messages: Sent, concurrency: int) -> float:
    """`create_async` for every message, at most `concurrency` at once; wall seconds."""

    async def main() -> None:
        http = BaseUrlAsyncHttpClient(standin.base_url, TIMEOUT)
        client = Client(standin.account_sid, standin.auth_token, http_client=http)
        gate = asyncio.Semaphore(concurrency)

        async def one(to: str, body: str) -> None:
            async with gate:
                await client.messages.create_async(to=to, from_=FROM, body=body)

        try:
            await asyncio.gather(*(one(to, body) for to, body in messages))
        finally:
            await http.close()

    def run() -> None:
        with warnings.catch_warnings():
            # twilio's client passes aiohttp `auth=`, which aiohttp 3.14 deprecates (v4 drops
            # it): said once in the report, not once per run on stderr
            warnings.filterwarnings("ignore", "The 'auth' parameter", DeprecationWarning)
            asyncio.run(main())

    return timed_bare(standin, messages, "bare async loop", run)


def bare_threads(standin: Remote, messages: Sent, concurrency: int) -> float:
    """`messages.create` for every message on `concurrency` threads, one client each."""
    local = threading.local()

    def one(message: tuple[str, str]) -> None:
        client = getattr(local, "client", None)
        if client is None:
            http = BaseUrlHttpClient(standin.base_url, TIMEOUT)
            client = local.client = Client(
                standin.account_sid, standin.auth_token, http_client=http
            )
        client.messages.create(to=message[0], from_=FROM, body=message[1])

    def run() -> None:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            for _ in pool.map(one, messages):
                pass

    return timed_bare(standin, messages, "bare thread loop", run)


def timed_bare(standin: Remote, messages: Sent, name: str, run: Callable[[], object]) -> float:
    since = standin.count()
    started = time.perf_counter()
    run()
    elapsed = time.perf_counter() - started
    received(standin, since, messages, name)
    return elapsed


# -- printing -------------------------------------------------------------------------------


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>8,.0f} msg/s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--baseline", choices=("async", "threads", "both"), default="async")
    parser.add_argument("--latency", action="store_true", help="50-150 ms per request")
    parser.add_argument("--serve-standin", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_standin:
        serve_standin(args.latency)
        return
    n, c = args.messages, args.concurrency
    kinds = ["async", "threads"] if args.baseline == "both" else [args.baseline]
    fallback = AsyncTwilioHttpClient is None and "async" in kinds
    if fallback:
        kinds = list(dict.fromkeys("threads" if k == "async" else k for k in kinds))
    began = time.perf_counter()
    phones = numbers(n)
    Client("AC" + "0" * 32, "x").messages  # noqa: B018  (imports twilio's REST modules now)

    standin = Remote(args.latency)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            engine, sent = run_engine(standin, Path(tmp), phones, c)
            bare = {}
            for kind in kinds:
                run = bare_async if kind == "async" else bare_threads
                bare[kind] = run(standin, sent, c)
    finally:
        standin.close()

    latency = ", 50-150 ms per request" if args.latency else ""
    print(
        f"{n:,} SMS to a Twilio stand-in in its own process{latency}, concurrency {c}; "
        "every run verified"
    )
    if standin.adjusted:
        print(f"  stand-in sockets set by the bench: {', '.join(standin.adjusted)}")
    if engine.unclear:
        print(f"  {engine.unclear:,} engine sends had no clear answer and were reconciled")
    if fallback:
        print("  aiohttp is not installed: the baseline is the synchronous client on threads")
    print("engine")
    print(f"  Snapshot.capture   {engine.capture:>8.2f} s   (validates the {n:,}-row CSV)")
    print(f"  Runtime.activate   {engine.activate:>8.2f} s   (renders, writes the outbox)")
    print(f"  Runtime.work       {engine.dispatch:>8.2f} s  {rate(n, engine.dispatch)}")
    print(f"  end to end         {engine.total:>8.2f} s  {rate(n, engine.total)}")
    for kind, seconds in bare.items():
        title = (
            "bare create_async loop (AsyncTwilioHttpClient, asyncio.Semaphore)"
            if kind == "async"
            else "bare messages.create loop (TwilioHttpClient, ThreadPoolExecutor)"
        )
        print(title)
        print(f"  send               {seconds:>8.2f} s  {rate(n, seconds)}")
        print(
            f"  engine/bare        dispatch {engine.dispatch / seconds:.2f}x, "
            f"end to end {engine.total / seconds:.2f}x"
        )
        print(
            f"  engine overhead    dispatch {(engine.dispatch - seconds) / n * 1000:+.3f} ms/msg, "
            f"end to end {(engine.total - seconds) / n * 1000:+.3f} ms/msg (wall time)"
        )
    print(f"total {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()
