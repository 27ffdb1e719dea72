"""`warroom serve`: one process, one deployment. uvicorn answers HTTP; by default a worker
thread in the same process fires timers and sends, with its own database connection.

On SIGTERM or Ctrl-C uvicorn stops taking connections and finishes the requests in hand;
then the worker finishes its pass and stops. Nothing is half-handled: every request and
every pass is one transaction or a few, and a restart resumes from the log.
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import uvicorn
from pydantic import SecretStr

from warroom.channels import Channel
from warroom.errors import WarroomError
from warroom.library import Library
from warroom.runtime.clock import Clock
from warroom.runtime.links import ActionLinks
from warroom.runtime.runtime import Runtime
from warroom.runtime.snapshot import Snapshot
from warroom.server.app import create_app
from warroom.server.desk import Desk, WorkerPulse
from warroom.server.hooks import RateLimit, TriggerLibrary
from warroom.server.settings import ServerSettings
from warroom.store import open_store

HEARTBEAT_EVERY = timedelta(seconds=5)
"""Often enough for `/readyz` on another node, rarely enough not to be a write per poll."""


@dataclass
class Service:
    """Everything `warroom serve` runs, built but not started (tests start it themselves)."""

    desk: Desk
    server: uvicorn.Server
    worker: threading.Thread | None
    stop: threading.Event

    def run(self) -> None:
        """Serve until SIGTERM/SIGINT, then stop the worker and close everything."""
        if threading.current_thread() is threading.main_thread():
            # uvicorn handles the signal, then re-raises it to whatever handler was there
            # before; a stop we asked for is a clean exit (0), not death by signal
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda signum, frame: None)
        if self.worker is not None:
            self.worker.start()
        try:
            self.server.run()
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        self.stop.set()
        self.desk.nudge()
        if self.worker is not None and self.worker.is_alive():
            self.worker.join()
        self.desk.runtime.close()
        self.desk.runtime.store.close()


def build_service(
    *,
    db: str | Path,
    clock: Clock,
    settings: ServerSettings,
    channels: dict[str, Channel],
    twilio_token: SecretStr | None = None,
    host: str = "127.0.0.1",
    port: int = 8080,
    worker: bool = True,
    poll: float = 1.0,
    log_level: str = "info",
    triggers: TriggerLibrary | None = None,
) -> Service:
    links = (
        ActionLinks(settings.public_url, settings.secret)
        if settings.public_url and settings.secret
        else None
    )
    store = open_store(str(db), shared=True)
    runtime = Runtime(store, clock, links=links)
    wake = threading.Event()
    stop = threading.Event()
    pulse = WorkerPulse() if worker else None
    desk = Desk(runtime, settings, twilio_token, pulse, nudge=wake.set)
    app = create_app(desk)
    app.state.triggers = triggers or TriggerLibrary({}, {}, frozenset())
    app.state.rate_limit = RateLimit.parse(settings.trigger_rate)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="off",
        timeout_graceful_shutdown=30,
        server_header=False,
    )
    thread = None
    if pulse is not None:
        thread = threading.Thread(
            target=_work,
            args=(db, clock, channels, links, pulse, wake, stop, poll),
            name="warroom-worker",
            daemon=True,
        )
    return Service(desk, _Server(config, desk.closing), thread, stop)


class _Server(uvicorn.Server):
    """uvicorn, telling the live streams when it begins to stop (a signal, or `should_exit`
    set by a test), so that open war-room pages never hold the shutdown up."""

    def __init__(self, config: uvicorn.Config, closing: threading.Event) -> None:
        super().__init__(config)
        self.closing = closing

    async def on_tick(self, counter: int) -> bool:
        if self.should_exit:
            self.closing.set()
        return await super().on_tick(counter)


def trigger_library(library: Library, roster_path: Path) -> TriggerLibrary:
    """The playbooks that have triggers, each captured once with the roster: an alert
    activates in milliseconds, on the files as they were when the server started."""
    roster = library.require_roster()
    playbooks = {pid: book for pid, (book, _) in library.playbooks.items() if book.triggers}
    snapshots = {
        pid: Snapshot.capture(Path(library.playbooks[pid][1].file), roster_path)
        for pid in playbooks
    }
    return TriggerLibrary(playbooks, snapshots, frozenset(roster.people))


def _work(
    db: str | Path,
    clock: Clock,
    channels: dict[str, Channel],
    links: ActionLinks | None,
    pulse: WorkerPulse,
    wake: threading.Event,
    stop: threading.Event,
    poll: float,
) -> None:
    """The worker thread: passes until stopped, woken early by a nudge from a request."""
    try:
        store = open_store(str(db))
    except WarroomError as exc:
        pulse.error = str(exc)
        return
    runtime = Runtime(store, clock, channels, links=links)
    beaten = None
    try:
        runtime.recover()
        while not stop.is_set():
            wake.clear()
            try:
                runtime.work()
                pulse.error = ""
            except WarroomError as exc:  # the database: say so, try again next pass
                pulse.error = str(exc)
            pulse.trouble = dict(runtime.channel_trouble)
            now = clock.now()
            pulse.last_pass = now
            if beaten is None or now - beaten >= HEARTBEAT_EVERY:
                runtime.beat()
                beaten = now
            runtime.idle(poll, wake)
    finally:
        runtime.close()
        store.close()
        for channel in channels.values():
            channel.close()
