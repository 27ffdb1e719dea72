"""What the real Alertmanager sends is what warroom's trigger parsing takes.

Debian's `prometheus-alertmanager` posts to a bare loopback receiver (the server's routes are
tested on their own): its notifications must parse, match the shipped it-outage trigger,
carry the bearer token, and a posted `endsAt` in the past must arrive as resolved.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from support.alertmanager import require_binary, running_alertmanager

from warroom.library import load_library
from warroom.triggers import match_alert, read_alerts

LIBRARY = Path(__file__).parent.parent / "playbooks"
WAIT = 30.0
"""Longest wait for one notification; Alertmanager here sends within about a second."""


class Receiver:
    """A webhook receiver on loopback that keeps every delivery for the test to take."""

    def __init__(self) -> None:
        self.deliveries: queue.Queue[tuple[dict[str, str], bytes]] = queue.Queue()
        deliveries = self.deliveries

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                deliveries.put((dict(self.headers.items()), body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/alertmanager"

    def next(self) -> tuple[dict[str, str], bytes]:
        try:
            return self.deliveries.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError(f"no notification from Alertmanager in {WAIT:.0f} s") from None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    require_binary()
    found = Receiver()
    thread = threading.Thread(target=found.server.serve_forever, daemon=True)
    thread.start()
    yield found
    found.server.shutdown()
    found.server.server_close()
    thread.join()


def test_real_notifications_start_the_shipped_playbook_and_resolve(
    tmp_path: Path, receiver: Receiver
) -> None:
    library = load_library([LIBRARY], LIBRARY / "roster.yaml")
    playbooks = [p for p, _ in library.playbooks.values()]
    labels = {"alertname": "CustomerFacingServiceDown", "severity": "critical", "service": "shop"}
    annotations = {"public_name": "our online shop", "public_name_pl": "{{ 7*7 }}"}
    with running_alertmanager(
        tmp_path, receiver.url, "s3cret", group_wait=0.2, group_interval=0.5
    ) as am:
        am.fire(labels, annotations)
        headers, body = receiver.next()
        assert headers["Authorization"] == "Bearer s3cret"
        assert json.loads(body)["version"] == "4"
        (alert,) = read_alerts("alertmanager", body)
        assert alert.status == "firing"
        assert alert.fingerprint
        found = match_alert(playbooks, alert)
        assert found is not None
        assert (found.playbook, found.trigger_index, found.level) == ("it-outage", 0, "outage")
        assert found.facts == {"service": "our online shop", "service_pl": "{{ 7*7 }}"}
        assert str(found.key) == "alertmanager / it-outage / shop"

        am.resolve(labels, annotations)
        for _ in range(10):  # a re-send of the firing group may come first
            _, body = receiver.next()
            (alert,) = read_alerts("alertmanager", body)
            if alert.resolved:
                break
        found = match_alert(playbooks, alert)
        assert found is not None
        assert found.resolved
        assert str(found.key) == "alertmanager / it-outage / shop"
