"""The real Prometheus Alertmanager (Debian's `prometheus-alertmanager`) for tests.

Tests of automated triggers run against the binary users run, not against payloads we wrote
ourselves: what Alertmanager really sends (group keys, re-sends, resolved alerts, the bearer
token of `http_config.authorization`) is what warroom must take.

    with running_alertmanager(tmp_path, webhook_url, token="s3cret") as am:
        am.fire({"alertname": "CustomerFacingServiceDown", "severity": "critical"})
        ...                                   # wait on a condition at the receiver
        am.resolve({"alertname": "CustomerFacingServiceDown", "severity": "critical"})

The binary is found as `$WARROOM_ALERTMANAGER`, else `prometheus-alertmanager` (Debian's
name) or `alertmanager` on PATH; without it, `require_binary()` skips the test with
`SKIP_REASON`. It listens on a free loopback port, with clustering off (no gossip port, no
peers), its data in the given folder, and is stopped when the block ends.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from warroom.channels.testing import free_port

BINARY_ENV = "WARROOM_ALERTMANAGER"
BINARY_NAMES = ("prometheus-alertmanager", "alertmanager")
SKIP_REASON = (
    "Prometheus Alertmanager is not installed (Debian package prometheus-alertmanager; "
    ".ci/run installs it with apt-get, which failed or could not run here; or set "
    f"{BINARY_ENV} to the binary)"
)
READY_TIMEOUT = 30.0


def find_binary() -> str | None:
    """The Alertmanager binary to run, or None."""
    given = os.environ.get(BINARY_ENV)
    if given:
        return given if Path(given).is_file() else shutil.which(given)
    return next((found for name in BINARY_NAMES if (found := shutil.which(name))), None)


def require_binary() -> str:
    """The binary, or skip the calling test with a reason that says how to get it."""
    binary = find_binary()
    if binary is None:
        pytest.skip(SKIP_REASON)
    return binary


def _seconds(value: float) -> str:
    """Alertmanager durations: whole milliseconds, e.g. 1s, 250ms."""
    return f"{round(value * 1000)}ms"


def config(
    webhook_url: str,
    token: str,
    *,
    group_by: Sequence[str] = ("alertname",),
    group_wait: float = 1,
    group_interval: float = 1,
    repeat_interval: float = 3600,
    send_resolved: bool = True,
) -> dict[str, Any]:
    """One route to one receiver: a webhook to `webhook_url` with `Authorization: Bearer
    <token>`, as a user is told to configure it for warroom."""
    return {
        "route": {
            "receiver": "warroom",
            "group_by": list(group_by),
            "group_wait": _seconds(group_wait),
            "group_interval": _seconds(group_interval),
            "repeat_interval": _seconds(repeat_interval),
        },
        "receivers": [
            {
                "name": "warroom",
                "webhook_configs": [
                    {
                        "url": webhook_url,
                        "send_resolved": send_resolved,
                        "http_config": {"authorization": {"type": "Bearer", "credentials": token}},
                    }
                ],
            }
        ],
    }


@dataclass
class Alertmanager:
    """A running Alertmanager: its API URL, and the calls a test makes through that API."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def post_alerts(self, alerts: Sequence[Mapping[str, Any]]) -> None:
        """`POST /api/v2/alerts`, as Prometheus does: a list of {labels, annotations,
        startsAt, endsAt, generatorURL}."""
        self._request("POST", "/api/v2/alerts", list(alerts))

    def fire(
        self,
        labels: Mapping[str, str],
        annotations: Mapping[str, str] | None = None,
        *,
        starts_at: datetime | None = None,
    ) -> None:
        """Post one firing alert (no end time: Alertmanager keeps it firing until told or
        until its resolve_timeout, 5 minutes)."""
        alert: dict[str, Any] = {"labels": dict(labels), "annotations": dict(annotations or {})}
        if starts_at is not None:
            alert["startsAt"] = starts_at.isoformat()
        alert["generatorURL"] = "http://prometheus.test:9090/graph"
        self.post_alerts([alert])

    def resolve(
        self, labels: Mapping[str, str], annotations: Mapping[str, str] | None = None
    ) -> None:
        """Post the alert again with `endsAt` in the past: Alertmanager sends it as resolved
        at the group's next notification."""
        ended = datetime.now(UTC) - timedelta(seconds=1)
        self.post_alerts(
            [
                {
                    "labels": dict(labels),
                    "annotations": dict(annotations or {}),
                    "startsAt": (ended - timedelta(minutes=1)).isoformat(),
                    "endsAt": ended.isoformat(),
                }
            ]
        )

    def alerts(self) -> list[dict[str, Any]]:
        """`GET /api/v2/alerts`: what Alertmanager holds now."""
        found: list[dict[str, Any]] = self._request("GET", "/api/v2/alerts")
        return found

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it; killed if it has not exited in 10 s."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self, lines: int = 20) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data is not None else {},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise AssertionError(f"Alertmanager {method} {path}: {exc.code} {detail}") from None
        return json.loads(raw) if raw else None


@contextmanager
def running_alertmanager(
    workdir: Path,
    webhook_url: str,
    token: str,
    *,
    group_by: Sequence[str] = ("alertname",),
    group_wait: float = 1,
    group_interval: float = 1,
    repeat_interval: float = 3600,
    send_resolved: bool = True,
    binary: str | None = None,
) -> Iterator[Alertmanager]:
    """Start Alertmanager on a free loopback port, wait until `/-/ready`, stop it after.

    The timings are in seconds: `group_wait` before a new group's first notification,
    `group_interval` between notifications of a group that changed, `repeat_interval`
    before an unchanged group is sent again. Skips the test if there is no binary.
    """
    binary = binary or require_binary()
    workdir.mkdir(parents=True, exist_ok=True)
    config_file = workdir / "alertmanager.yml"  # JSON is YAML: no quoting surprises
    config_file.write_text(
        json.dumps(
            config(
                webhook_url,
                token,
                group_by=group_by,
                group_wait=group_wait,
                group_interval=group_interval,
                repeat_interval=repeat_interval,
                send_resolved=send_resolved,
            ),
            indent=2,
        ),
        encoding="utf-8",
    )
    port = free_port()
    log = workdir / "alertmanager.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config_file}",
                f"--storage.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",  # no gossip port, no peers: one node
                "--log.level=debug",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    am = Alertmanager(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_ready(am)
        yield am
    finally:
        am.stop()


def _wait_ready(am: Alertmanager) -> None:
    """Poll `/-/ready`; give up on exit or after READY_TIMEOUT, showing Alertmanager's log."""
    deadline = datetime.now(UTC) + timedelta(seconds=READY_TIMEOUT)
    while not am.ready():
        try:
            code = am.process.wait(timeout=0.05)  # waits a little, and notices a crash
        except subprocess.TimeoutExpired:
            code = None
        if code is not None:
            raise AssertionError(f"Alertmanager exited with {code}:\n{am.log_tail()}")
        if datetime.now(UTC) > deadline:
            raise AssertionError(
                f"Alertmanager not ready after {READY_TIMEOUT:.0f} s:\n{am.log_tail()}"
            )
