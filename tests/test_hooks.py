"""The trigger routes on `warroom serve`: Alertmanager, PagerDuty and generic webhooks start
the shipped playbooks, once per alert key, and refuse whatever they cannot believe."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.serving import (
    ALERTMANAGER_TOKEN,
    GENERIC_SECRET,
    GENERIC_TOKEN,
    PAGERDUTY_SECRETS,
    Served,
    serving,
    settings,
)
from typer.testing import CliRunner

from warroom.cli import app
from warroom.engine import events as ev
from warroom.library import load_library
from warroom.runtime.runtime import Runtime
from warroom.server.serve import trigger_library
from warroom.store.sqlite import SqliteStore

REPO = Path(__file__).parent.parent
EXAMPLES = REPO / "docs" / "examples"
T0 = datetime.fromisoformat("2026-11-23T09:00:00+01:00")


def example(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return loaded


@pytest.fixture(scope="module")
def library() -> Any:
    roster = REPO / "playbooks" / "roster.yaml"
    return trigger_library(load_library([REPO / "playbooks"], roster), roster)


@pytest.fixture
def served(tmp_path: Path, library: Any) -> Iterator[Served]:
    with serving(tmp_path / "warroom.db", T0, worker=False, triggers=library) as running:
        yield running


def alertmanager(served: Served, body: dict[str, Any] | bytes, **headers: str) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {
        "Authorization": f"Bearer {ALERTMANAGER_TOKEN}",
        "Content-Type": "application/json",
        **headers,
    }
    return httpx.post(
        served.base + "/hooks/alertmanager", content=content, headers=sent, timeout=30
    )


def pagerduty(
    served: Served, body: dict[str, Any], *, secret: str = PAGERDUTY_SECRETS[1], **headers: str
) -> httpx.Response:
    content = json.dumps(body).encode()
    signature = hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()
    sent = {
        "X-PagerDuty-Signature": f"v1={signature}",
        "X-Webhook-Id": "delivery-1",
        "Content-Type": "application/json",
        **headers,
    }
    return httpx.post(served.base + "/hooks/pagerduty", content=content, headers=sent, timeout=10)


def generic(
    served: Served, body: dict[str, Any], *, stamp: int | None = None, **headers: str
) -> httpx.Response:
    content = json.dumps(body).encode()
    moment = str(int(time.time()) if stamp is None else stamp)
    mac = hmac.new(GENERIC_SECRET.encode(), moment.encode() + b"." + content, hashlib.sha256)
    sent = {
        "X-Warroom-Signature": f"sha256={mac.hexdigest()}",
        "X-Warroom-Timestamp": moment,
        "Content-Type": "application/json",
        **headers,
    }
    return httpx.post(served.base + "/hooks/generic", content=content, headers=sent, timeout=10)


def written(served: Served) -> tuple[list[str], list[str]]:
    """Incidents, and the inbound log's verdicts."""
    with served.store() as store:
        return [r.id for r in store.incidents()], [e.verdict for e in store.inbound()]


def timeline(served: Served, incident: str) -> list[str]:
    with served.store() as store:
        return [note for stored in store.events(incident) for note in stored.notes]


def test_an_alert_group_opens_one_incident_per_key(served: Served) -> None:
    answer = alertmanager(served, example("alertmanager"))
    assert answer.status_code == 202
    body = answer.json()
    assert body["verdict"] == "accepted"
    assert [(a["playbook"], a["key"], a["verdict"]) for a in body["alerts"]] == [
        ("it-outage", "alertmanager / it-outage / shop", "accepted"),
        ("it-outage", "alertmanager / it-outage / mobile-api", "accepted"),
    ]
    incidents, verdicts = written(served)
    assert len(incidents) == 2
    assert verdicts == ["accepted"]
    with served.store() as store:
        first = store.events(incidents[0])[0].event
    assert isinstance(first, ev.Activated)
    assert first.by == "webhook:alertmanager"
    assert first.level == "outage"
    assert first.facts["service"] == "our online shop"
    assert first.facts["service_pl"] == "sklep internetowy"


def test_a_missing_annotation_is_flagged_not_fatal(served: Served) -> None:
    alertmanager(served, example("alertmanager"))
    incidents, _ = written(served)
    with served.store() as store:
        activated = store.events(incidents[1])[0].event
    assert isinstance(activated, ev.Activated)
    assert activated.facts["service_pl"].startswith("(not in alert")
    notes = timeline(served, incidents[1])
    assert any(
        "facts to check, the alert could not fill them: service_pl" in n
        and "annotations.public_name_pl" in n
        for n in notes
    )
    detail = served.api(f"/api/incidents/{incidents[1]}").json()
    assert detail["facts_to_fill_in"] == ["service_pl"]
    assert served.api(f"/api/incidents/{incidents[0]}").json()["facts_to_fill_in"] == []
    env = {"WARROOM_DB": str(served.db), "WARROOM_CLOCK": T0.isoformat(), "COLUMNS": "200"}
    shown = CliRunner().invoke(app, ["status", incidents[1]], env=env)
    assert "Facts to fill in (`warroom fact NAME=...`): service_pl (not in alert" in shown.stdout


def test_repeats_attach_and_new_fingerprints_are_named(served: Served) -> None:
    payload = example("alertmanager")
    alertmanager(served, payload)
    again = alertmanager(served, payload)
    assert again.json()["verdict"] == "duplicate"
    assert {a["detail"] for a in again.json()["alerts"]} == {
        f"attached to {i}" for i in written(served)[0]
    }
    changed = copy.deepcopy(payload)
    changed["alerts"][0]["fingerprint"] = "0123456789abcdef"
    third = alertmanager(served, changed)
    assert [a["verdict"] for a in third.json()["alerts"]] == ["accepted", "duplicate"]
    incidents, verdicts = written(served)
    assert len(incidents) == 2
    assert verdicts == ["accepted", "duplicate", "accepted"]
    assert any("new fingerprint 0123456789abcdef" in n for n in timeline(served, incidents[0]))


def test_fifty_concurrent_deliveries_open_one_incident(served: Served) -> None:
    payload = example("alertmanager")
    payload["alerts"] = payload["alerts"][:1]
    answers: list[int] = []
    start = threading.Barrier(50)

    def deliver() -> None:
        start.wait()
        answers.append(alertmanager(served, payload).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [202] * 50
    incidents, verdicts = written(served)
    assert len(incidents) == 1
    assert sorted(verdicts) == ["accepted"] + ["duplicate"] * 49


def test_resolved_at_source_is_recorded_never_acted_on(served: Served) -> None:
    payload = example("alertmanager")
    payload["alerts"] = payload["alerts"][:1]
    alertmanager(served, payload)
    resolved = copy.deepcopy(payload)
    resolved["status"] = resolved["alerts"][0]["status"] = "resolved"
    resolved["alerts"][0]["endsAt"] = "2026-11-23T09:20:00Z"
    answer = alertmanager(served, resolved)
    assert answer.json()["verdict"] == "accepted"
    incidents, _ = written(served)
    assert any("resolved at source" in n for n in timeline(served, incidents[0]))
    with served.store() as store:
        assert store.incident(incidents[0]).state == "active"  # people resolve, not alerts
    assert alertmanager(served, resolved).json()["verdict"] == "duplicate"


def test_alerts_that_do_nothing_answer_202(served: Served) -> None:
    unknown = example("alertmanager")
    for alert in unknown["alerts"]:
        alert["labels"]["alertname"] = "DiskAlmostFull"
    unknown["commonLabels"]["alertname"] = "DiskAlmostFull"
    answer = alertmanager(served, unknown)
    assert answer.status_code == 202
    assert answer.json()["verdict"] == "no-effect"
    assert {a["detail"] for a in answer.json()["alerts"]} == {"matches no trigger"}
    resolved = example("alertmanager")
    for alert in resolved["alerts"]:
        alert["status"] = "resolved"
    answer = alertmanager(served, resolved)
    assert answer.status_code == 202
    assert {a["detail"] for a in answer.json()["alerts"]} == {
        "resolved alert with no open incident"
    }
    assert written(served) == ([], ["no-effect", "no-effect"])


def test_payload_values_are_data_never_templates(served: Served) -> None:
    payload = example("alertmanager")
    payload["alerts"] = payload["alerts"][:1]
    payload["alerts"][0]["annotations"]["public_name"] = "{{ 7*7 }} shop"
    alertmanager(served, payload)
    incidents, _ = written(served)
    with served.store() as store:
        activated = store.events(incidents[0])[0].event
    assert isinstance(activated, ev.Activated)
    assert activated.facts["service"] == "{{ 7*7 }} shop"


def test_the_cooldown_holds_after_closing(served: Served) -> None:
    payload = example("alertmanager")
    payload["alerts"] = payload["alerts"][:1]
    alertmanager(served, payload)
    incidents, _ = written(served)
    store = SqliteStore.open(served.db)
    runtime = Runtime(store, served.clock)
    runtime.submit(incidents[0], ev.Cancelled(reason="flapping check"))
    store.close()
    refused = alertmanager(served, payload).json()
    assert refused["verdict"] == "no-effect"
    assert "within the cooldown after" in refused["alerts"][0]["detail"]
    assert len(written(served)[0]) == 1
    served.clock.advance(timedelta(hours=1, minutes=1))  # it-outage's cooldown is 1h
    assert alertmanager(served, payload).json()["verdict"] == "accepted"
    assert len(written(served)[0]) == 2


def test_pagerduty_opens_and_redelivery_is_a_duplicate(served: Served) -> None:
    answer = pagerduty(served, example("pagerduty"), secret=PAGERDUTY_SECRETS[0])
    assert answer.json()["alerts"][0]["playbook"] == "it-outage"
    assert answer.json()["verdict"] == "accepted"
    again = pagerduty(served, example("pagerduty"))  # same X-Webhook-Id, rotated secret
    assert again.status_code == 202
    assert again.json()["verdict"] == "duplicate"
    assert written(served)[1] == ["accepted", "duplicate"]


def test_generic_by_signature_or_token(served: Served) -> None:
    body = example("generic")
    answer = generic(served, body)
    assert answer.json()["verdict"] == "accepted"
    playbook = answer.json()["alerts"][0]["playbook"]
    by_token = httpx.post(
        served.base + "/hooks/generic",
        json=body,
        headers={"Authorization": f"Bearer {GENERIC_TOKEN}"},
        timeout=10,
    )
    assert by_token.json()["alerts"][0]["playbook"] == playbook
    assert by_token.json()["verdict"] == "duplicate"


def signed_then_changed(served: Served) -> httpx.Response:
    content = json.dumps(example("pagerduty")).encode()
    signature = hmac.new(PAGERDUTY_SECRETS[0].encode(), content, hashlib.sha256).hexdigest()
    return httpx.post(
        served.base + "/hooks/pagerduty",
        content=content.replace(b"P1", b"P2"),
        headers={"X-PagerDuty-Signature": f"v1={signature}", "Content-Type": "application/json"},
        timeout=10,
    )


@pytest.mark.parametrize(
    "send",
    [
        lambda s: alertmanager(s, example("alertmanager"), Authorization=""),
        lambda s: alertmanager(s, example("alertmanager"), Authorization="Bearer wrong-token-xx"),
        signed_then_changed,
        lambda s: pagerduty(s, example("pagerduty"), secret="another-secret-0123456789"),
        lambda s: generic(s, example("generic"), stamp=int(time.time()) - 3600),
        lambda s: generic(s, example("generic"), stamp=int(time.time()) + 3600),
        lambda s: httpx.post(s.base + "/hooks/generic", json=example("generic"), timeout=10),
    ],
    ids=[
        "no token",
        "wrong token",
        "PagerDuty body changed after signing",
        "PagerDuty wrong secret",
        "generic an hour old",
        "generic from the future",
        "generic unsigned",
    ],
)
def test_unauthenticated_triggers_are_refused(served: Served, send: Any) -> None:
    answer = send(served)
    assert answer.status_code == 401
    assert answer.json()["error"] == "unauthenticated"
    assert written(served) == ([], ["unauthenticated"])


@pytest.mark.parametrize(
    ("body", "status", "field", "detail"),
    [
        (b'{"version": "4", "alerts": [', 400, "body", "not valid JSON"),
        (b'{"version": "4", "status": "firing"}', 422, None, "missing required field"),
        (
            json.dumps({**example("alertmanager"), "version": "3"}).encode(),
            422,
            "version",
            "version: '3' is not allowed (expected '4')",
        ),
        (b"{" + b" " * (2 * 1024 * 1024) + b"}", 413, "body", "over 1048576 bytes"),
    ],
    ids=["malformed JSON", "no alerts", "version 3", "2 MiB"],
)
def test_bodies_that_cannot_be_alerts(
    served: Served, body: bytes, status: int, field: str | None, detail: str
) -> None:
    answer = alertmanager(served, body)
    assert answer.status_code == status
    assert detail in answer.json()["detail"]
    if field is not None:
        assert answer.json()["field"] == field
    assert written(served) == ([], ["malformed"])


def test_the_wrong_content_type_is_415(served: Served) -> None:
    answer = alertmanager(served, example("alertmanager"), **{"Content-Type": "text/plain"})
    assert (answer.status_code, answer.json()["field"]) == (415, "Content-Type")
    assert written(served) == ([], ["malformed"])


def test_each_trigger_route_is_rate_limited(tmp_path: Path, library: Any) -> None:
    limited = lambda base: settings(base, trigger_rate="3/1m")  # noqa: E731
    with serving(
        tmp_path / "w.db", T0, worker=False, triggers=library, server_settings=limited
    ) as served:
        unknown = example("alertmanager")
        unknown["alerts"] = []
        codes = [alertmanager(served, unknown).status_code for _ in range(4)]
        assert codes[:3] != [429] * 3
        assert codes[3] == 429
        answer = alertmanager(served, unknown)
        assert int(answer.headers["Retry-After"]) >= 1
        # another route has its own budget
        assert generic(served, {"system": "nothing"}).status_code == 202
        assert written(served)[1][-2:] == ["rate-limited", "no-effect"]


def test_without_trigger_playbooks_nothing_matches(tmp_path: Path) -> None:
    """Started without trigger playbooks, every alert is logged and does nothing."""
    with serving(tmp_path / "w.db", T0, worker=False) as served:
        answer = alertmanager(served, example("alertmanager"))
        assert answer.status_code == 202
        assert answer.json()["verdict"] == "no-effect"
