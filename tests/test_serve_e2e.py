"""`warroom serve` end to end: uvicorn on loopback, the worker, the Twilio stand-in calling
back signed, a real SMTP server, and the CLI activating the incident, as in a deployment."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from support.serving import API_TOKEN, Served, serving, wait_for
from typer.testing import CliRunner

from warroom.channels.testing import free_port
from warroom.cli import app
from warroom.engine import events as ev

T0 = datetime.fromisoformat("2026-11-16T10:00:00+01:00")
ANNA, BARTEK = "+48601234567", "+48602345678"


def activate(served: Served, mini: Path) -> str:
    result = CliRunner().invoke(
        app,
        ["activate", "outage", "--fact", "company=Acme", "--fact", "service=the shop"],
        env={
            "WARROOM_DB": str(served.db),
            "WARROOM_LIBRARY": str(mini),
            "WARROOM_CLOCK": served.clock.now().isoformat(),
        },
    )
    assert result.exit_code == 0, result.output
    return result.stdout.split()[0]


def code_in(text: str) -> str:
    found = re.search(r"(?:ACK|APPROVE) (\d{4})", text)
    assert found, text
    return found.group(1)


def link_in(served: Served, address: str, label: str) -> str:
    def found() -> str | None:
        for message in served.mailbox.to(address):
            body = message.get_body(("plain",))
            text = body.get_content() if body else ""
            match = re.search(label + r": (http://\S+/act/\S+)", text)
            if match:
                return match.group(1)
        return None

    return str(wait_for(found, f"an e-mail to {address} with a '{label}' link"))


def test_a_crisis_runs_through_the_webhooks(mini: Path, tmp_path: Path) -> None:
    with serving(tmp_path / "warroom.db", T0) as served:
        incident = activate(served, mini)
        standin = served.standin

        # the worker, nudged by nothing but its poll, pages the team by SMS and e-mail
        page = wait_for(lambda: standin.to(ANNA), "Anna's page at the Twilio stand-in")[0]
        assert "/twilio/status?outbox=" in page["_status_callback"]

        # the stand-in's signed status callbacks mark the SMS delivered
        def delivered() -> bool:
            with served.store() as store:
                sms = [row for row in store.outbox(incident) if row.channel == "sms"]
                return bool(sms) and all(row.state == "delivered" for row in sms)

        wait_for(delivered, "every SMS delivered through /twilio/status")

        # Anna replies by SMS, signed as Twilio signs; the TwiML answers in Polish
        reply = served.post_form(
            "/twilio/sms",
            {"From": ANNA, "Body": f"ACK {code_in(page['body'])}", "MessageSid": "SM" + "a" * 32},
        )
        assert reply.status_code == 200
        assert "<Message>Potwierdzono: Assemble the crisis team</Message>" in reply.text

        bartek = standin.to(BARTEK)
        if bartek:  # the press rota's holder is paged too
            form = {"From": BARTEK, "Body": "ok", "MessageSid": "SM" + "b" * 32}
            assert served.post_form("/twilio/sms", form).status_code == 200

        # Dawid (legal, e-mail only) acknowledges with the link in his page: GET shows, POST acts
        ack = link_in(served, "dawid@acme.example", "Acknowledge")
        shown = httpx.get(ack, timeout=10)
        assert shown.status_code == 200
        assert "Assemble the crisis team" in shown.text
        assert 'method="post"' in shown.text
        assert httpx.post(ack, timeout=10).status_code == 200

        # the approval request follows by e-mail; its link shows the exact text, then approves
        approve = link_in(served, "dawid@acme.example", "Review and approve")
        page_text = httpx.get(approve, timeout=10).text
        assert "the shop is unavailable" in page_text
        assert httpx.post(approve, timeout=10).status_code == 200

        # the holding statement goes out; every step is on the timeline over the read API
        wait_for(
            lambda: any(m["to"] == ANNA and "nie działa" in m["body"] for m in standin.messages),
            "the holding statement by SMS to staff",
        )
        timeline = served.api(f"/api/incidents/{incident}/timeline").json()["timeline"]
        kinds = [(entry["kind"], entry["by"]) for entry in timeline]
        assert ("acknowledged", f"sms:{ANNA}") in kinds
        assert ("acknowledged", "link:dawid") in kinds
        assert ("approved", "link:dawid") in kinds
        assert ("delivery-reported", "twilio:status-callback") in kinds
        detail = served.api(f"/api/incidents/{incident}").json()
        assert {r["role"]: r["acknowledged_at"] is not None for r in detail["roles"]} == {
            "crisis_lead": True,
            "spokesperson": True,
            "legal": True,
        }
        assert detail["statements"][0]["releases"]


def test_no_reply_code_or_secret_is_ever_in_an_answer(mini: Path, tmp_path: Path) -> None:
    with serving(tmp_path / "warroom.db", T0) as served:
        incident = activate(served, mini)
        page = wait_for(lambda: served.standin.to(ANNA), "Anna's page")[0]
        code = code_in(page["body"])
        served.post_form("/twilio/sms", {"From": ANNA, "Body": f"ACK {code}"})
        answers = [
            served.api("/api/incidents").text,
            served.api(f"/api/incidents/{incident}").text,
            served.api(f"/api/incidents/{incident}/timeline").text,
            httpx.get(served.base + "/readyz", timeout=10).text,
            httpx.get(served.base + "/openapi.json", timeout=10).text,
        ]
        with served.store() as store:
            every_code = {row.message.code for row in store.outbox(incident) if row.message.code}
            activation = store.events(incident)[0].event
        assert code in every_code
        assert isinstance(activation, ev.Activated)
        assert activation.secret  # the incident's code secret: kept in the log, shown nowhere
        for text in answers:
            for secret in (*every_code, API_TOKEN, "link-signing-secret", activation.secret):
                assert secret not in text


def test_an_undelivered_callback_fails_the_message(mini: Path, tmp_path: Path) -> None:
    with serving(tmp_path / "warroom.db", T0, undelivered={ANNA: 30003}) as served:
        incident = activate(served, mini)

        def failed() -> bool:
            with served.store() as store:
                states = {(r.channel, r.message.person): r.state for r in store.outbox(incident)}
            return states.get(("sms", "anna")) == "failed"

        wait_for(failed, "Anna's SMS failed by its status callback")
        timeline = served.api(f"/api/incidents/{incident}/timeline").json()["timeline"]
        notes = [n for entry in timeline for n in entry["notes"]]
        assert (
            "Message to Anna Kowalska by sms failed: Twilio: undelivered, ErrorCode 30003" in notes
        )
        # her page went by e-mail too, so the fail-over says so instead of sending it twice
        assert "Anna Kowalska: already reached by email" in notes


def test_readiness_with_and_without_the_worker(mini: Path, tmp_path: Path) -> None:
    with serving(tmp_path / "warroom.db", T0) as served:
        wait_for(
            lambda: served.service.desk.pulse and served.service.desk.pulse.last_pass, "a pass"
        )
        ready = httpx.get(served.base + "/readyz", timeout=10)
        assert (ready.status_code, ready.json()["worker"]) == (200, "in process")
        assert httpx.get(served.base + "/healthz", timeout=10).json() == {"status": "ok"}
    with serving(tmp_path / "warroom.db", T0, worker=False) as served:
        ready = httpx.get(served.base + "/readyz", timeout=10).json()
        assert ready["worker"] == "--no-worker"
        assert ready["freshest_heartbeat"].startswith(os.uname().nodename)


def test_serve_stops_cleanly_on_sigterm(mini: Path, tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "WARROOM_DB": str(tmp_path / "warroom.db"),
        "WARROOM_LIBRARY": str(mini),
        "WARROOM_API_TOKEN": API_TOKEN,
    }
    for name in ("TWILIO_ACCOUNT_SID", "SMTP_HOST", "WARROOM_PUBLIC_URL", "WARROOM_SECRET"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "warroom.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def up() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(up, "warroom serve to be ready")
        answer = httpx.get(
            f"http://127.0.0.1:{port}/api/incidents",
            headers={"Authorization": f"Bearer {API_TOKEN}"},
            timeout=5,
        )
        assert answer.json() == []
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill() if process.poll() is None else None
    assert process.returncode == 0, stderr
    assert "not configured: /twilio/*" in stderr
    # issue 13: said loudly, at start, that nothing configured is sent
    assert "NOT SENDING SMS AND EMAIL: no sms and email channel is configured" in stderr
    assert "Traceback" not in stderr


def test_links_expire(mini: Path, tmp_path: Path) -> None:
    with serving(tmp_path / "warroom.db", T0) as served:
        incident = activate(served, mini)
        link = link_in(served, "dawid@acme.example", "Acknowledge")
        served.clock.advance(timedelta(hours=25))
        answer = httpx.post(link, timeout=10)
        assert answer.status_code == 410
        assert "expired" in answer.text
        with served.store() as store:
            assert not [e for e in store.events(incident) if e.event.by == "link:dawid"]
            links = [e for e in store.inbound() if e.route == "/act/"]
            assert links[-1].verdict == "unauthenticated"
