"""A real `warroom serve` for tests: uvicorn on a free loopback port, the worker thread, the
Twilio stand-in (which calls back, signed) and a real SMTP server, all on loopback.

Used by the server and trigger tests; nothing here sleeps: `wait_for` polls a condition.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from aiosmtpd.controller import Controller
from pydantic import SecretStr
from twilio.request_validator import RequestValidator

from warroom.channels import Channel
from warroom.channels.config import SmtpSettings, TwilioSettings
from warroom.channels.smtp_email import SmtpEmail
from warroom.channels.testing import Mailbox, free_port
from warroom.channels.twilio_sms import TwilioSms
from warroom.channels.twilio_standin import TwilioStandIn
from warroom.runtime.clock import VirtualClock
from warroom.server.serve import Service, build_service
from warroom.server.settings import ServerSettings
from warroom.store.sqlite import SqliteStore

TWILIO_TOKEN = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
SECRET = "link-signing-secret-for-tests-only"
API_TOKEN = "api-token-for-tests-0123456789"
FROM = "+48221234567"
ALERTMANAGER_TOKEN = "alertmanager-token-0123456789"
PAGERDUTY_SECRETS = ("pagerduty-secret-old-01234", "pagerduty-secret-new-56789")
GENERIC_SECRET = "generic-hmac-secret-0123456789"
GENERIC_TOKEN = "generic-bearer-token-0123456789"


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    """Poll `condition` until it is truthy; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        pause.wait(0.01)


@dataclass
class Served:
    service: Service
    base: str
    db: Path
    clock: VirtualClock
    standin: TwilioStandIn
    mailbox: Mailbox
    thread: threading.Thread

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the server as SIGTERM would; True once it has stopped within `timeout`."""
        self.service.server.should_exit = True
        self.thread.join(timeout=timeout)
        return not self.thread.is_alive()

    def signed(self, path: str, form: dict[str, str], *, url: str | None = None) -> dict[str, str]:
        """Headers Twilio would send for `form` posted to `path` (or signed over `url`)."""
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(url or self.base + path, form)
        return {
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        }

    def post_form(self, path: str, form: dict[str, str], **headers: str) -> httpx.Response:
        sent = {**self.signed(path, form), **headers}
        return httpx.post(self.base + path, content=urlencode(form), headers=sent, timeout=10)

    def api(self, path: str) -> httpx.Response:
        auth = {"Authorization": f"Bearer {API_TOKEN}"}
        return httpx.get(self.base + path, headers=auth, timeout=10)

    @contextmanager
    def store(self) -> Iterator[SqliteStore]:
        """The database as another process sees it, closed after use."""
        opened = SqliteStore.open(self.db)
        try:
            yield opened
        finally:
            opened.close()


def settings(base: str, **changes: Any) -> ServerSettings:
    values: dict[str, Any] = {
        "public_url": base,
        "secret": SecretStr(SECRET),
        "api_token": SecretStr(API_TOKEN),
        "alertmanager_token": SecretStr(ALERTMANAGER_TOKEN),
        "pagerduty_secrets": tuple(SecretStr(s) for s in PAGERDUTY_SECRETS),
        "generic_secret": SecretStr(GENERIC_SECRET),
        "generic_token": SecretStr(GENERIC_TOKEN),
        **changes,
    }
    return ServerSettings(**values)


@contextmanager
def serving(
    db: Path,
    start: datetime,
    *,
    worker: bool = True,
    server_settings: Callable[[str], ServerSettings] = settings,
    undelivered: dict[str, int] | None = None,
    build: Callable[..., Service] = build_service,
    **options: Any,
) -> Iterator[Served]:
    """Everything `warroom serve` runs, on loopback, stopped on exit."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    clock = VirtualClock(start)
    mailbox = Mailbox()
    mail = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    mail.start()
    standin = TwilioStandIn(auth_token=TWILIO_TOKEN)
    standin.faults.undelivered.update(undelivered or {})
    with standin:
        twilio = TwilioSettings(
            account_sid=standin.account_sid,
            auth_token=SecretStr(TWILIO_TOKEN),
            from_number=FROM,
            base_url=standin.base_url,
            status_callback_url=base,
            segments_per_second=10_000,
        )
        smtp = SmtpSettings(
            host="127.0.0.1", port=mail.port, security="none", from_address="warroom@acme.example"
        )
        channels: dict[str, Channel] = {"sms": TwilioSms(twilio), "email": SmtpEmail(smtp)}
        service = build(
            db=db,
            clock=clock,
            settings=server_settings(base),
            channels=channels,
            twilio_token=SecretStr(TWILIO_TOKEN),
            port=port,
            worker=worker,
            poll=0.05,
            log_level="warning",
            **options,
        )
        thread = threading.Thread(target=service.run, name="uvicorn", daemon=True)
        thread.start()
        try:
            wait_for(lambda: service.server.started, "uvicorn to start")
            yield Served(service, base, db, clock, standin, mailbox, thread)
        finally:
            service.server.should_exit = True
            thread.join(timeout=30)
            mail.stop()
