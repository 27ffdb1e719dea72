"""Every forged, replayed or malformed request to `warroom serve` changes nothing but the
inbound log: each gets a clear answer, and exactly one log line with its verdict."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from support.serving import API_TOKEN, TWILIO_TOKEN, Served, serving, settings
from twilio.request_validator import RequestValidator

from warroom.engine import events as ev
from warroom.runtime.clock import VirtualClock
from warroom.runtime.runtime import Runtime
from warroom.runtime.snapshot import Snapshot
from warroom.server.settings import ServerSettings
from warroom.store.sqlite import SqliteStore

T0 = datetime.fromisoformat("2026-11-16T10:00:00+01:00")
PUBLIC = "https://warroom.acme.example"
ANNA = "+48601234567"


class Desk:
    """A served instance behind a public URL, with one incident open and no worker."""

    def __init__(self, served: Served, incident: str) -> None:
        self.served = served
        self.incident = incident

    def sign(self, path: str, form: dict[str, str] | str, url: str | None = None) -> str:
        return str(RequestValidator(TWILIO_TOKEN).compute_signature(url or PUBLIC + path, form))

    def post(
        self, path: str, body: bytes | str, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return httpx.post(self.served.base + path, content=body, headers=headers, timeout=10)

    def form(self, path: str, form: dict[str, str], **headers: str) -> httpx.Response:
        sent = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": self.sign(path, form),
            **headers,
        }
        return self.post(path, urlencode(form), sent)

    def written(self) -> tuple[int, list[str]]:
        """Events in the log, and the verdicts of the inbound log, oldest first."""
        with self.served.store() as store:
            return len(store.events(self.incident)), [e.verdict for e in store.inbound()]

    def message(self, person: str, channel: str) -> str:
        with self.served.store() as store:
            for row in store.outbox(self.incident):
                if row.message.person == person and row.channel == channel:
                    return row.id
        raise AssertionError(f"no {channel} message for {person}")


def open_incident(db: Path, mini: Path) -> str:
    store = SqliteStore.open(db)
    runtime = Runtime(store, VirtualClock(T0))
    snapshot = Snapshot.capture(mini / "outage.yaml", mini / "roster.yaml")
    outcome = runtime.activate(snapshot, facts={"company": "Acme", "service": "the shop"})
    store.close()
    return outcome.incident


@pytest.fixture
def desk(mini: Path, tmp_path: Path) -> Iterator[Desk]:
    db = tmp_path / "warroom.db"
    incident = open_incident(db, mini)
    public = lambda base: settings(base, public_url=PUBLIC)  # noqa: E731
    with serving(db, T0, worker=False, server_settings=public) as served:
        yield Desk(served, incident)


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({}, "no signature"),
        ({"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}, "a wrong signature"),
    ],
)
def test_unsigned_replies_are_refused(desk: Desk, headers: dict[str, str], why: str) -> None:
    before, verdicts = desk.written()
    body = urlencode({"From": ANNA, "Body": "ok"})
    answer = desk.post(
        "/twilio/sms", body, {"Content-Type": "application/x-www-form-urlencoded", **headers}
    )
    assert answer.status_code == 401, why
    assert answer.json() == {
        "error": "unauthenticated",
        "detail": "missing or invalid credentials for this route",
        "field": None,
    }
    assert desk.written() == (before, [*verdicts, "unauthenticated"])
    with desk.served.store() as store:
        assert store.inbound()[-1].body == ""  # a forger's payload is not kept


def test_a_signature_over_the_internal_url_is_refused(desk: Desk) -> None:
    """Behind a proxy the server sees 127.0.0.1:port; Twilio signed the public URL."""
    form = {"From": ANNA, "Body": "ok"}
    before, verdicts = desk.written()
    internal = desk.sign("/twilio/sms", form, url=desk.served.base + "/twilio/sms")
    answer = desk.post(
        "/twilio/sms",
        urlencode(form),
        {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": internal},
    )
    assert answer.status_code == 401
    assert desk.written() == (before, [*verdicts, "unauthenticated"])
    # the same reply signed over the public URL acts
    assert "Potwierdzono" in desk.form("/twilio/sms", form).text
    assert desk.written()[0] == before + 1


def test_a_field_added_after_signing_is_refused(desk: Desk) -> None:
    form = {"From": ANNA, "Body": "ok"}
    signature = desk.sign("/twilio/sms", form)
    before, verdicts = desk.written()
    answer = desk.post(
        "/twilio/sms",
        urlencode({**form, "To": "+48999999999"}),
        {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
    )
    assert answer.status_code == 401
    assert desk.written() == (before, [*verdicts, "unauthenticated"])


def test_json_bodies_are_signed_through_their_hash(desk: Desk) -> None:
    body = json.dumps({"From": ANNA, "Body": "ok"})
    good = hashlib.sha256(body.encode()).hexdigest()
    before, verdicts = desk.written()
    for digest, expected in ((good[:-1] + "0", 401), (good, 200)):
        path = f"/twilio/sms?bodySHA256={digest}"
        headers = {"Content-Type": "application/json", "X-Twilio-Signature": desk.sign(path, {})}
        assert desk.post(path, body, headers).status_code == expected
    assert desk.written() == (before + 1, [*verdicts, "unauthenticated", "accepted"])


@pytest.mark.parametrize(
    ("body", "content_type", "status", "field"),
    [
        (b"x" * (1024 * 1024 + 1), "application/x-www-form-urlencoded", 413, "body"),
        (b"From=%2B486&&&Body", "application/x-www-form-urlencoded", 400, "body"),
        (b"\xff\xfe=1", "application/x-www-form-urlencoded", 400, "body"),
        (b"From=%2B48601234567&Body=ok", "text/plain", 415, "Content-Type"),
        (b'{"From": "+48601234567"', "application/json", 401, None),  # no bodySHA256
    ],
    ids=["over 1 MiB", "malformed form", "not UTF-8", "wrong content type", "JSON unsigned"],
)
def test_bodies_that_cannot_be_read(
    desk: Desk, body: bytes, content_type: str, status: int, field: str | None
) -> None:
    before, verdicts = desk.written()
    headers = {"Content-Type": content_type, "X-Twilio-Signature": desk.sign("/twilio/sms", {})}
    answer = desk.post("/twilio/sms", body, headers)
    assert answer.status_code == status
    assert answer.json()["field"] == field
    verdict = "unauthenticated" if status == 401 else "malformed"
    assert desk.written() == (before, [*verdicts, verdict])


def test_status_callbacks_are_forward_only_and_idempotent(desk: Desk) -> None:
    message = desk.message("anna", "sms")
    path = f"/twilio/status?outbox={message}"
    delivered = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered", "To": ANNA}
    first = desk.form(path, delivered, **{"I-Twilio-Idempotency-Token": "t-1"})
    assert first.json()["verdict"] == "accepted"
    events, _ = desk.written()
    again = desk.form(path, delivered, **{"I-Twilio-Idempotency-Token": "t-1"})
    assert again.status_code == 200
    assert again.json()["verdict"] == "duplicate"
    late = desk.form(path, {**delivered, "MessageStatus": "sent"})
    assert late.json() == {
        "verdict": "no-effect",
        "detail": f"message {message} is already delivered",
    }
    assert desk.written()[0] == events
    with desk.served.store() as store:
        assert next(r.state for r in store.outbox(desk.incident) if r.id == message) == "delivered"


def test_a_callback_for_an_unknown_message_is_answered_200(desk: Desk) -> None:
    before, verdicts = desk.written()
    for outbox in ("nope-m1", f"{desk.incident}-m999"):
        path = f"/twilio/status?outbox={outbox}"
        answer = desk.form(path, {"MessageSid": "SM" + "2" * 32, "MessageStatus": "delivered"})
        assert answer.status_code == 200  # so that Twilio stops retrying
        assert answer.json()["verdict"] == "no-effect"
    assert desk.written() == (before, [*verdicts, "no-effect", "no-effect"])


def test_a_callback_without_its_fields_names_them(desk: Desk) -> None:
    before, verdicts = desk.written()
    answer = desk.form("/twilio/status", {"MessageStatus": "delivered"})
    assert (answer.status_code, answer.json()["field"]) == (400, "outbox")
    path = f"/twilio/status?outbox={desk.message('anna', 'sms')}"
    answer = desk.form(path, {"MessageSid": "SM" + "3" * 32})
    assert (answer.status_code, answer.json()["field"]) == (400, "MessageStatus")
    assert desk.written() == (before, [*verdicts, "malformed", "malformed"])


@pytest.mark.parametrize(
    ("sender", "body", "answer"),
    [
        ("+48699999999", "ok", "Nothing was done: this number is not on the crisis team"),
        (ANNA, "", "Nic nie zrobiono: odpowiedz ACK, APPROVE, REJECT lub POTWIERDZAM POZIOM"),
        (
            ANNA,
            "x" * 5000,
            "Nic nie zrobiono: odpowiedz ACK, APPROVE, REJECT lub POTWIERDZAM POZIOM",
        ),
        (ANNA, "APPROVE 0000", "Nic nie zrobiono: nic nie czeka na tę odpowiedź"),
        (ANNA, "APPROVE", "Nic nie zrobiono: zatwierdzenie wymaga kodu"),
        ("not a number", "ok", "Nothing was done: this number is not on the crisis team"),
    ],
    ids=[
        "unknown number",
        "empty",
        "5,000 characters",
        "nothing waiting",
        "approve without its code",
        "no number",
    ],
)
def test_replies_that_do_nothing_say_so(desk: Desk, sender: str, body: str, answer: str) -> None:
    before, verdicts = desk.written()
    reply = desk.form("/twilio/sms", {"From": sender, "Body": body})
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/xml")
    assert answer in reply.text
    assert desk.written() == (before, [*verdicts, "no-effect"])
    with desk.served.store() as store:
        assert store.inbound()[-1].body.startswith(urlencode({"From": sender})[:10])


def test_a_redelivered_reply_acts_once(desk: Desk) -> None:
    form = {"From": ANNA, "Body": "ok", "MessageSid": "SM" + "4" * 32}
    assert "Potwierdzono" in desk.form("/twilio/sms", form).text
    events, verdicts = desk.written()
    again = desk.form("/twilio/sms", form)
    assert again.status_code == 200
    assert "<Message>" not in again.text  # nothing to confirm: it was confirmed already
    assert desk.written() == (events, [*verdicts, "duplicate"])


def link(desk: Desk, action: str = "ack") -> str:
    runtime = desk.served.service.desk.runtime
    assert runtime.links is not None
    with desk.served.store() as store:
        code = next(
            r.message.code
            for r in store.outbox(desk.incident)
            if r.message.person == "dawid" and r.message.code
        )
    assert code is not None
    return runtime.links.url(desk.incident, code, action, T0).replace(PUBLIC, desk.served.base)


def test_an_altered_link_is_refused(desk: Desk) -> None:
    url = link(desk)
    token = url.rsplit("/", 1)[1]
    flipped = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    before, verdicts = desk.written()
    for method in ("GET", "POST"):
        answer = httpx.request(method, url.replace(token, flipped), timeout=10)
        assert answer.status_code == 403
        assert "altered" in answer.text
        assert answer.headers["content-type"].startswith("text/html")
    assert desk.written() == (before, [*verdicts, "unauthenticated", "unauthenticated"])


def test_a_used_link_acts_once(desk: Desk) -> None:
    url = link(desk)
    assert httpx.get(url, timeout=10).status_code == 200  # looking acts on nothing
    assert httpx.post(url, timeout=10).status_code == 200
    events, verdicts = desk.written()
    again = httpx.post(url, timeout=10)
    assert again.status_code == 409
    assert "already used" in again.text
    assert desk.written() == (events, [*verdicts, "duplicate"])


def test_a_link_for_a_closed_incident_does_nothing(desk: Desk, tmp_path: Path) -> None:
    store = SqliteStore.open(desk.served.db)
    runtime = Runtime(store, VirtualClock(T0))
    runtime.submit(desk.incident, ev.Resolved())
    runtime.submit(desk.incident, ev.Closed())
    store.close()
    url = link(desk)
    before, verdicts = desk.written()
    shown = httpx.get(url, timeout=10)
    assert "is closed" in shown.text
    assert "<form" not in shown.text
    answer = httpx.post(url, timeout=10)
    assert answer.status_code == 409
    assert "is closed" in answer.text
    assert desk.written() == (before, [*verdicts, "no-effect", "no-effect"])


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong-token-0123456789"}, 401),
        ({"Authorization": f"Basic {API_TOKEN}"}, 401),
        ({"Authorization": f"Bearer {API_TOKEN}"}, 200),
    ],
)
def test_the_read_api_needs_its_token(desk: Desk, headers: dict[str, str], status: int) -> None:
    answer = httpx.get(desk.served.base + "/api/incidents", headers=headers, timeout=10)
    assert answer.status_code == status
    if status == 401:
        assert answer.json()["error"] == "unauthenticated"


def test_an_unknown_incident_is_404(desk: Desk) -> None:
    answer = desk.served.api("/api/incidents/nope-20260101-0000")
    assert answer.status_code == 404
    assert "unknown incident 'nope-20260101-0000'" in answer.json()["detail"]


def test_routes_without_their_secret_answer_503(mini: Path, tmp_path: Path) -> None:
    db = tmp_path / "warroom.db"
    open_incident(db, mini)
    with serving(db, T0, worker=False, server_settings=lambda base: ServerSettings()) as served:
        for path in ("/api/incidents", "/twilio/sms", "/twilio/status?outbox=x", "/act/abc.def"):
            method = "GET" if path.startswith("/api") else "POST"
            answer = httpx.request(method, served.base + path, timeout=10)
            assert answer.status_code == 503, path
            assert "not" in answer.text
