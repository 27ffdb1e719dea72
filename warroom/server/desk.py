"""The service desk: what every route shares (the runtime, the settings, the worker's pulse).

SQLite takes one writer at a time anyway, so the HTTP side keeps one runtime and one
connection and lets one request use them at a time; the worker has its own. A request that
queued messages nudges the worker, so a page leaves within milliseconds, not at the next poll.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from pydantic import SecretStr

from warroom.runtime.runtime import Runtime
from warroom.server.settings import ServerSettings

T = TypeVar("T")


@dataclass
class WorkerPulse:
    """The in-process worker's last finished pass, for `/readyz`."""

    last_pass: datetime | None = None
    error: str = ""
    trouble: dict[str, str] = field(default_factory=dict)
    """Channels that cannot send (a revoked token): shown, while the rest goes on."""


@dataclass
class Desk:
    runtime: Runtime
    settings: ServerSettings
    twilio_token: SecretStr | None = None
    """The account's Auth Token: Twilio signs its webhooks with it."""
    pulse: WorkerPulse | None = None
    """None with `--no-worker`: this process sends nothing."""
    nudge: Callable[[], None] = lambda: None
    lock: threading.Lock = field(default_factory=threading.Lock)
    closing: threading.Event = field(default_factory=threading.Event)
    """Set when the server begins to stop: live streams end so that nothing holds it up."""
    _rendered: dict[object, tuple[str, int]] = field(default_factory=dict)

    def call(self, work: Callable[[Runtime], T]) -> T:
        """Run `work` with the runtime, one request at a time."""
        with self.lock:
            return work(self.runtime)

    def rendered(self, key: object, render: Callable[[], tuple[str, int]]) -> tuple[str, int]:
        """One rendering of a board per change, shared by every stream watching it (fifty
        browsers in a room must not cost fifty renderings). Call under `call`."""
        found = self._rendered.get(key)
        if found is None:
            if len(self._rendered) > 64:
                self._rendered.clear()
            found = self._rendered[key] = render()
        return found
