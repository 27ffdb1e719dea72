"""The real Prometheus Alertmanager posting to `warroom serve` under uvicorn, end to end:
one incident per alert group, its re-sends attached, its resolution recorded, and the pages
out to the Twilio stand-in."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from support.alertmanager import require_binary, running_alertmanager
from support.serving import ALERTMANAGER_TOKEN, serving, wait_for

from warroom.library import load_library
from warroom.server.serve import trigger_library

REPO = Path(__file__).parent.parent
T0 = datetime.fromisoformat("2026-11-23T09:00:00+01:00")
LABELS = {"alertname": "CustomerFacingServiceDown", "severity": "critical", "service": "shop"}
ANNOTATIONS = {"public_name": "our online shop", "public_name_pl": "sklep internetowy"}


def test_alertmanager_starts_one_incident_and_its_resends_attach(tmp_path: Path) -> None:
    require_binary()
    roster = REPO / "playbooks" / "roster.yaml"
    library = trigger_library(load_library([REPO / "playbooks"], roster), roster)
    with serving(tmp_path / "warroom.db", T0, triggers=library) as served:
        hook = served.base + "/hooks/alertmanager"
        with running_alertmanager(
            tmp_path / "am", hook, ALERTMANAGER_TOKEN, group_interval=1, repeat_interval=1
        ) as alertmanager:
            alertmanager.fire(LABELS, ANNOTATIONS)

            def deliveries() -> list[str]:
                with served.store() as store:
                    return [e.verdict for e in store.inbound() if e.route == "/hooks/alertmanager"]

            wait_for(lambda: deliveries().count("duplicate") >= 2, "two re-sends of the group")
            with served.store() as store:
                incidents = store.incidents()
            assert [(r.playbook, r.level) for r in incidents] == [("it-outage", "outage")]
            assert deliveries()[0] == "accepted"
            assert set(deliveries()) <= {"accepted", "duplicate", "received"}

            # the worker pages the crisis team through the Twilio stand-in
            wait_for(lambda: served.standin.messages, "a page at the Twilio stand-in")

            alertmanager.resolve(LABELS, ANNOTATIONS)

            def resolution() -> bool:
                with served.store() as store:
                    notes = [n for e in store.events(incidents[0].id) for n in e.notes]
                return any("resolved at source" in n for n in notes)

            wait_for(resolution, "the resolution recorded on the incident")
            with served.store() as store:
                assert store.incident(incidents[0].id).state == "active"
                assert len(store.incidents()) == 1
