"""How fast an alert becomes a page, and how many alerts `warroom serve` takes per second.

1. Latency: `--alerts` (200) distinct Alertmanager alerts, one after another, each POSTed to
   `/hooks/alertmanager` of `warroom serve` (uvicorn on loopback, the worker in the same
   process, SQLite on disk), each matching the shipped it-outage trigger with its own service
   label, so each opens its own incident. Measured from just before the POST to the moment
   the local Twilio stand-in receives that incident's first SMS (its own receive time, the
   same process's clock). Goal: p50 <= 20 ms, p99 <= 100 ms.
2. Intake throughput at concurrency 32 (`--concurrency`): `--requests` (2,000) POSTs to
   `/hooks/alertmanager` of `warroom serve --no-worker` (its own process, as deployed) of
   alerts that match no trigger (authenticated, logged, parsed, matched, answered: the intake
   without an activation), and the same bodies to a bare FastAPI endpoint that reads the body
   and answers 202, under uvicorn in its own process, measured in the same run by the same
   client (httpx, asyncio, in this process). The ratio is what warroom's intake costs over
   the framework and server themselves.

Figures are printed, never asserted. About a minute on two cores:

    .venv/bin/python bench/trigger.py [--alerts N] [--requests N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import SecretStr

from warroom.channels import Channel
from warroom.channels.config import TwilioSettings
from warroom.channels.testing import RecordingChannel, free_port
from warroom.channels.twilio_sms import TwilioSms
from warroom.channels.twilio_standin import TwilioStandIn
from warroom.library import load_library
from warroom.runtime.clock import SystemClock
from warroom.server.serve import build_service, trigger_library
from warroom.server.settings import ServerSettings

REPO = Path(__file__).parent.parent
TOKEN = "bench-alertmanager-token-0123"
TWILIO_TOKEN = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"


def alert(service: str, alertname: str = "CustomerFacingServiceDown") -> dict[str, Any]:
    labels = {"alertname": alertname, "severity": "critical", "service": service}
    return {
        "version": "4",
        "groupKey": f'{{}}:{{service="{service}"}}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "warroom",
        "groupLabels": {"service": service},
        "commonLabels": labels,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.bench:9093",
        "alerts": [
            {
                "status": "firing",
                "labels": labels,
                "annotations": {"public_name": f"service {service}", "public_name_pl": service},
                "startsAt": "2026-11-23T08:55:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.bench:9090/graph",
                "fingerprint": f"{abs(hash(service)):016x}"[:16],
            }
        ],
    }


@contextmanager
def running(server: uvicorn.Server, target: Callable[[], None]) -> Iterator[None]:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join()


def latency(alerts: int, standin: TwilioStandIn, base: str) -> list[float]:
    """Seconds from each POST to its incident's first SMS at the stand-in."""
    found: list[float] = []
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for n in range(alerts):
            seen = len(standin.messages)
            began = datetime.now(UTC)
            answer = client.post("/hooks/alertmanager", json=alert(f"svc-{n}"))
            incident = answer.json()["alerts"][0]["incident"]
            assert answer.json()["verdict"] == "accepted", answer.text
            deadline = time.monotonic() + 10
            first = None
            while first is None and time.monotonic() < deadline:
                for message in standin.messages[seen:]:
                    if incident in message["body"]:
                        first = message["_sent_at"]
                        break
                else:
                    time.sleep(0.0005)
            if first is None:
                raise SystemExit(f"no SMS for {incident} within 10 s")
            found.append((first - began).total_seconds())
    return found


async def throughput(base: str, path: str, bodies: list[bytes], concurrency: int) -> float:
    """Requests per second, `concurrency` keep-alive connections in flight at once.

    A bare HTTP/1.1 client on asyncio streams: a general-purpose client in Python tops out
    near 300 requests per second here, below either server, and would measure itself."""
    host, port = base.removeprefix("http://").split(":")
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {TOKEN}\r\n"
        "Content-Type: application/json\r\n"
    ).encode()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        while not queue.empty():
            body = queue.get_nowait()
            writer.write(head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            status = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            answer = await reader.readexactly(length)
            if b" 202 " not in status:
                raise SystemExit(f"{path}: {status!r} {answer[:200]!r}")
        writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return len(bodies) / (time.perf_counter() - began)


@contextmanager
def process(command: list[str], env: dict[str, str], health: str) -> Iterator[None]:
    """A server in its own process, up once `health` answers, stopped with SIGTERM."""
    with tempfile.TemporaryFile() as log:  # a pipe nobody reads would stall the server
        started = subprocess.Popen(command, env={**os.environ, **env}, stderr=log, stdout=log)
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(health, timeout=1).status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or started.poll() is not None:
                started.kill()
                log.seek(0)
                raise SystemExit(f"{command[1:3]} did not start: {log.read()[-500:]!r}")
            time.sleep(0.05)
        try:
            yield
        finally:
            started.send_signal(signal.SIGTERM)
            started.wait(timeout=30)


def bare_server(port: int) -> uvicorn.Server:
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/hooks/alertmanager")
    async def take(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"verdict": "no-effect", "alerts": []}, status_code=202)

    # the access log on, as `warroom serve` has it: both pay for it
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="info", lifespan="off")
    return uvicorn.Server(config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=200)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--bare-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_server:
        bare_server(args.bare_server).run()
        return

    roster = REPO / "playbooks" / "roster.yaml"
    library = trigger_library(load_library([REPO / "playbooks"], roster), roster)
    quiet = [json.dumps(alert(f"q-{n}", "NothingToSeeHere")).encode() for n in range(args.requests)]
    with tempfile.TemporaryDirectory() as folder, TwilioStandIn(auth_token=TWILIO_TOKEN) as standin:
        twilio = TwilioSettings(
            account_sid=standin.account_sid,
            auth_token=SecretStr(TWILIO_TOKEN),
            from_number="+48221234567",
            base_url=standin.base_url,
            segments_per_second=100_000,
        )
        channels: dict[str, Channel] = {
            "sms": TwilioSms(twilio),
            "email": RecordingChannel("email"),
        }
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        settings = ServerSettings(
            alertmanager_token=SecretStr(TOKEN), trigger_rate=f"{10 * args.requests}/1m"
        )
        service = build_service(
            db=Path(folder) / "warroom.db",
            clock=SystemClock(),
            settings=settings,
            channels=channels,
            port=port,
            log_level="warning",
            triggers=library,
        )
        with running(service.server, service.run):
            times = sorted(latency(args.alerts, standin, base))
        port = free_port()
        env = {
            "WARROOM_DB": str(Path(folder) / "intake.db"),
            "WARROOM_LIBRARY": str(REPO / "playbooks"),
            "WARROOM_ALERTMANAGER_TOKEN": TOKEN,
            "WARROOM_TRIGGER_RATE": f"{10 * args.requests}/1m",
        }
        serve = [sys.executable, "-m", "warroom.cli", "serve", "--no-worker", "--port", str(port)]
        with process(serve, env, f"http://127.0.0.1:{port}/healthz"):
            intake = asyncio.run(
                throughput(
                    f"http://127.0.0.1:{port}", "/hooks/alertmanager", quiet, args.concurrency
                )
            )
        port = free_port()
        bare = [sys.executable, __file__, "--bare-server", str(port)]
        with process(bare, {}, f"http://127.0.0.1:{port}/healthz"):
            plain = asyncio.run(
                throughput(
                    f"http://127.0.0.1:{port}", "/hooks/alertmanager", quiet, args.concurrency
                )
            )

    def ms(seconds: float) -> str:
        return f"{seconds * 1000:.1f} ms"

    p99 = times[min(len(times) - 1, round(0.99 * len(times)) - 1)]
    print(f"alert -> first SMS at the stand-in, {len(times)} alerts, worker in process:")
    print(f"  p50 {ms(statistics.median(times))}  p99 {ms(p99)}  max {ms(times[-1])}")
    print(f"intake at concurrency {args.concurrency}, {args.requests} alerts matching nothing:")
    print(f"  warroom /hooks/alertmanager {intake:,.0f} req/s")
    print(f"  bare FastAPI endpoint        {plain:,.0f} req/s")
    print(f"  ratio (bare / warroom)       {plain / intake:.2f}x")


if __name__ == "__main__":
    main()
