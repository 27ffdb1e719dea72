"""The after-action report notices what an exercise director would: each finding with its
root cause from the log and an action worded from it, on drills changed to provoke them."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from warroom.cli import app
from warroom.engine import events as ev
from warroom.exercise.runner import Exercise
from warroom.runtime.clock import VirtualClock
from warroom.runtime.runtime import Runtime
from warroom.store.sqlite import SqliteStore

LIBRARY = Path(__file__).parent.parent / "playbooks"
runner = CliRunner()


def library_copy(tmp_path: Path) -> Path:
    library = tmp_path / "library"
    shutil.copytree(LIBRARY, library)
    return library


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def run(name: str, out: Path, library: Path = LIBRARY) -> dict[str, Any]:
    result = runner.invoke(
        app, ["exercise", "run", name, "--library", str(library), "--out", str(out), "--quiet"]
    )
    assert result.exit_code == 0, result.stderr
    report: dict[str, Any] = json.loads((out / f"{name}.json").read_text(encoding="utf-8"))
    return report


def areas(report: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {a["title"]: a for a in report["areas_for_improvement"]}


def test_a_statement_approved_by_its_own_drafter_is_an_area_for_improvement(
    tmp_path: Path,
) -> None:
    report = run("fire-drill", tmp_path)
    incident = report["incident"]
    store = SqliteStore.open(tmp_path / "fire-drill.db", durable=False)
    try:
        clock = VirtualClock(store.events(incident)[-1].at)
        runtime = Runtime(store, clock, Exercise.simulated_channels({}, clock.now), concurrency=1)
        runtime.submit(
            incident,
            ev.MediaInquiryLogged(
                outlet="TVN24", question="Will the plant reopen tomorrow?", by="anna-kowalska"
            ),
        )
        number = max(i.number for i in runtime.replay(incident).inquiries)
        text = "The plant stays closed until the investigators are done."
        runtime.submit(incident, ev.InquiryDrafted(inquiry=number, text=text, by="anna-kowalska"))
        clock.set(clock.now() + timedelta(minutes=3))
        runtime.submit(
            incident,
            ev.Approved(statement=f"inquiry:{number}", person="anna-kowalska", by="anna-kowalska"),
        )
    finally:
        store.close()
    result = runner.invoke(
        app,
        ["exercise", "replay", incident, "--out", str(tmp_path / "again")],
        env={"WARROOM_DB": str(tmp_path / "fire-drill.db")},
    )
    assert result.exit_code == 0, result.stderr
    again = json.loads((tmp_path / "again" / "fire-drill.json").read_text(encoding="utf-8"))
    found = [a for t, a in areas(again).items() if t.endswith("approved by its own drafter")]
    assert len(found) == 1, list(areas(again))
    assert found[0]["observation"].startswith("Anna Kowalska drafted")
    assert "and approved it at" in found[0]["observation"]
    assert found[0]["corrective action"].startswith("have someone other than Anna Kowalska approve")
    assert any(
        r["corrective action"] == found[0]["corrective action"] for r in again["improvements"]
    )
    assert not [t for t in areas(report) if "drafter" in t]  # the drill as shipped has none


def test_injects_that_tested_nothing_are_noticed(tmp_path: Path) -> None:
    library = library_copy(tmp_path)
    edit(
        library / "exercises" / "fire-drill.yaml",
        "  - {at: 1h10m, channel_outage: email, for: 15m}",
        "  - {at: 1h10m, channel_outage: email, for: 15m}\n"
        "  - {at: 1h45m, channel_outage: sms, for: 10m}\n"
        "  - {at: 2h10m, silence: katarzyna-dabrowska}",
    )
    found = areas(run("fire-drill", tmp_path, library))
    sms = found["Inject 8 tested nothing: sms outage at +1h45m"]
    assert sms["observation"] == (
        "sms was down from +1h45m to +1h55m, and no message tried sms meanwhile."
    )
    assert sms["corrective action"].startswith("move the sms outage to +")
    silenced = found["Inject 9 tested nothing: Katarzyna Dąbrowska silenced"]
    assert "nothing was asked of them" in silenced["observation"]


def test_a_candidate_without_a_mobile_number_is_given_one(tmp_path: Path) -> None:
    library = library_copy(tmp_path)
    edit(library / "roster.yaml", '    phone: "+48 660 905 312"\n', "")
    found = areas(run("breach-drill-q4", tmp_path, library))
    legal = found["Legal approver: Piotr Zieliński never acknowledged"]
    assert (
        "Piotr Zieliński, was paged at +0m (email delivered) and never acknowledged"
        in (legal["root cause"])
    )
    assert legal["root cause"].endswith("Piotr Zieliński is reachable only by e-mail")
    assert legal["corrective action"] == "give Piotr Zieliński an SMS-capable number"


def test_a_late_lawyer_reachable_only_by_email(tmp_path: Path) -> None:
    """The issue's own example: the first legal candidate is away, the second has no mobile
    number and reads the page nine minutes later."""
    library = library_copy(tmp_path)
    edit(library / "roster.yaml", '    phone: "+48 660 905 312"\n', "")
    edit(
        library / "exercises" / "breach-drill-q4.yaml",
        "piotr-zielinski: {silent: true}",
        "piotr-zielinski: {ack_after: 9m, approve_after: 10m}",
    )
    report = run("breach-drill-q4", tmp_path, library)
    rated = {o["id"]: (o["rating"], o["rated"]) for o in report["objectives"]}
    assert rated["acked-on-target"] == ("S", "met within 20% of the target (9m of 10m)")
    late = areas(report)["Legal approver: Piotr Zieliński acknowledged last, at +9m"]
    assert late["root cause"] == (
        "Katarzyna Dąbrowska skipped: away until 2026-12-01 00:00; the next legal approver "
        "candidate, Piotr Zieliński, is reachable only by e-mail and acknowledged 9m after the "
        "page (email delivered)"
    )
    assert late["corrective action"] == "give Piotr Zieliński an SMS-capable number"
    row = next(r for r in report["improvements"] if r["area for improvement"] == late["title"])
    assert row["responsible"] == "Legal approver (Piotr Zieliński)"  # acked-on-target owner


def test_an_inquiry_owner_who_does_not_speak_the_journalists_language(tmp_path: Path) -> None:
    # journalists are the media desk's: its owner, media relations, is the one lacking Polish
    library = library_copy(tmp_path)
    edit(
        library / "roster.yaml",
        "    email: marcin.pietrzak@acme.example\n    languages: [pl, en]",
        "    email: marcin.pietrzak@acme.example\n    languages: [en]",
    )
    found = areas(run("breach-drill-q4", tmp_path, library))
    journalist = found["Journalist left unanswered: Paweł Lis, Radio Zet"]
    assert journalist["root cause"] == (
        "the question is in Polish, and Marcin Pietrzak (Media relations), who owns it, does not "
        "speak Polish"
    )
    assert journalist["corrective action"] == (
        "add a second media-trained Polish speaker to the press rota"
    )


def test_an_objective_owner_and_capability_are_checked_against_the_playbook(
    tmp_path: Path,
) -> None:
    library = library_copy(tmp_path)
    scenario = library / "exercises" / "fire-drill.yaml"
    edit(scenario, "capability: Operational Coordination, owner: crisis_lead}", "owner: press}")
    edit(scenario, "done_within: 30m, capability: Public", "done_within: 30m, capability: Pub")
    result = runner.invoke(
        app,
        ["exercise", "run", "fire-drill", "--library", str(library), "--out", str(tmp_path)],
    )
    assert result.exit_code == 1
    assert "fire-drill.yaml:" in result.stderr
    assert "owner: unknown role 'press'" in result.stderr
    assert (
        "capability: 'Pub Information and Warning' is not one of overview.core_capabilities"
        in result.stderr
    )
    assert not (tmp_path / "fire-drill.json").exists()


def test_staff_and_press_told_in_the_same_minute_asks_for_a_hold(tmp_path: Path) -> None:
    library = library_copy(tmp_path)
    playbook = library / "data-breach.yaml"
    text = playbook.read_text(encoding="utf-8")
    held = next(line for line in text.splitlines() if line.strip().startswith("hold: 5m"))
    edit(playbook, held + "\n", "")
    report = run("breach-drill-q4", tmp_path / "out", library)
    staff_first = next(o for o in report["objectives"] if o["id"] == "staff-first")
    assert staff_first["status"] == "not met"
    area = areas(report)["employees and media heard at the same moment"]
    assert "step release-holding" in area["root cause"]
    assert "`hold:`" in area["corrective action"]
