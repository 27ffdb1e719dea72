"""Screenshots of the war-room page for the README (`make screenshots`): the shipped
data-breach playbook twenty minutes in, on a phone (390x844) and a desktop (1440x900),
rendered by Debian's Chromium, headless. Everything runs on loopback: warroom serve with its
worker, the local Twilio stand-in, e-mail into a recording channel."""

from __future__ import annotations

import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

from playwright.sync_api import sync_playwright
from pydantic import SecretStr

from warroom.channels import Channel
from warroom.channels.config import TwilioSettings
from warroom.channels.testing import RecordingChannel, free_port
from warroom.channels.twilio_sms import TwilioSms
from warroom.channels.twilio_standin import TwilioStandIn
from warroom.engine import events as ev
from warroom.library import load_library
from warroom.runtime.clock import VirtualClock
from warroom.runtime.links import ActionLinks, new_link_id
from warroom.runtime.runtime import Runtime
from warroom.runtime.snapshot import Snapshot
from warroom.server.serve import build_service
from warroom.server.settings import ServerSettings
from warroom.store.port import ViewLink
from warroom.store.sqlite import SqliteStore

REPO = Path(__file__).parent.parent
START = datetime.fromisoformat("2026-11-23T09:00:00+01:00")
SECRET = SecretStr("screenshots-only-secret-0123456789")
TOKEN = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"


def main() -> None:
    library = REPO / "playbooks"
    roster = library / "roster.yaml"
    book = load_library([library], roster).playbook("data-breach")
    with tempfile.TemporaryDirectory() as folder, TwilioStandIn(auth_token=TOKEN) as standin:
        db = Path(folder) / "warroom.db"
        clock = VirtualClock(START)
        store = SqliteStore.open(db)
        runtime = Runtime(store, clock)
        snapshot = Snapshot.capture(Path(book.file), roster)
        incident = runtime.activate(
            snapshot,
            facts={"what_happened": "unauthorised access to customer e-mail addresses"},
            by="anna-kowalska",
        ).incident
        clock.advance(timedelta(minutes=4))
        runtime.submit(incident, ev.Acknowledged(person="anna-kowalska", by="anna-kowalska"))
        clock.advance(timedelta(minutes=3))
        runtime.submit(incident, ev.Acknowledged(person="ewa-wisniewska", by="ewa-wisniewska"))
        runtime.submit(
            incident,
            ev.MediaInquiryLogged(
                outlet="Gazeta Wyborcza",
                journalist="M. Nowicka",
                question="Is customer data affected?",
                by="ewa-wisniewska",
            ),
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        links = ActionLinks(base, SECRET)
        link = ViewLink(
            new_link_id(), incident, clock.now(), clock.now() + timedelta(hours=12), "demo"
        )
        store.add_view_link(link)
        store.close()
        twilio = TwilioSettings(
            account_sid=standin.account_sid,
            auth_token=SecretStr(TOKEN),
            from_number="+48221234567",
            base_url=standin.base_url,
            segments_per_second=1000,
        )
        channels: dict[str, Channel] = {
            "sms": TwilioSms(twilio),
            "email": RecordingChannel("email"),
        }
        clock.advance(timedelta(minutes=9))
        service = build_service(
            db=db,
            clock=clock,
            settings=ServerSettings(public_url=base, secret=SECRET),
            channels=channels,
            port=port,
            log_level="warning",
        )
        thread = threading.Thread(target=service.run, daemon=True)
        thread.start()
        while not service.server.started:
            time.sleep(0.05)
        try:
            url = links.view_url(link)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path="/usr/bin/chromium",
                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
                )
                for name, size, scale in (
                    ("phone", {"width": 390, "height": 844}, 2),
                    ("desktop", {"width": 1440, "height": 900}, 1),
                ):
                    context = browser.new_context(
                        viewport=size,
                        device_scale_factor=scale,
                        locale="en-GB",
                        timezone_id="Europe/Warsaw",
                    )
                    page = context.new_page()
                    page.goto(url)
                    page.wait_for_function("document.getElementById('live').className === 'live'")
                    target = REPO / "docs" / f"warroom-page-{name}.png"
                    page.screenshot(path=str(target))
                    print(f"wrote {target.relative_to(REPO)}")
                    context.close()
                browser.close()
        finally:
            service.server.should_exit = True
            thread.join(timeout=30)


if __name__ == "__main__":
    main()
