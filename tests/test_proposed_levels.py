"""Issue 13, finding 4: only a person speaks for the organisation.

A level raised by an escalation rung (nobody answered) is proposed: its pages go out, but
nothing is drafted for or released to an outside audience at it until the holder of a role
with `confirms_level` confirms it. A level raised by a person is not a proposal.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from test_decide import BOOK, DATA_CATEGORIES, FACTS, T0, TEAM, Desk
from typer.testing import CliRunner

from warroom.channels.testing import RecordingChannel
from warroom.cli import app
from warroom.engine import events as ev
from warroom.engine.levels import speaks_outside
from warroom.engine.replies import Reply, parse_reply
from warroom.errors import CommandRejected
from warroom.playbook.segments import count_segments
from warroom.runtime.clock import VirtualClock
from warroom.runtime.runtime import Runtime
from warroom.runtime.snapshot import Snapshot
from warroom.server.board import WORDS, build
from warroom.server.twilio_webhooks import confirmation
from warroom.store.sqlite import SqliteStore

CRISIS_LEAD = "anna-kowalska"
EWA = "ewa-wisniewska"  # the spokesperson, who does not confirm levels


def proposed() -> Desk:
    """Legal and security answer only after the ladder's second rung raised the level at
    +20m; then whoever holds a role by then answers, and the team is assembled. The data
    concerned is known from the start, so the GDPR notices wait for nothing but the level
    (their `requires_facts` are met)."""
    desk = Desk(facts={**FACTS, **DATA_CATEGORIES})
    desk.assemble(CRISIS_LEAD, EWA)
    desk.wait(21)
    paged = [desk.incident.roles[name] for name in BOOK.audiences["crisis-team"].roles]
    holders = {r.person for r in paged if r.acked_at is None}
    desk.assemble(*sorted(p for p in holders if p))
    assert desk.step("assemble") == "done"
    return desk


def test_a_rung_proposes_the_level_and_outside_audiences_wait() -> None:
    desk = proposed()
    inc = desk.incident
    assert (inc.level, inc.proposed_level, inc.confirmed_level) == ("crisis", "crisis", "incident")
    assert desk.saw("Level crisis proposed, not confirmed (Assemble the crisis team not ack")
    assert desk.pages("krzysztof-mazur") == 1  # the new level's pages go out
    # the crisis lead is asked, with a code to reply
    (ask,) = [m for m in desk.sent("level") if m.channel == "sms"]
    assert ask.person == CRISIS_LEAD
    assert f"POTWIERDZAM POZIOM {ask.code}; bez odpowiedzi: incident." in ask.text  # Polish
    assert count_segments(ask.text).segments <= 2
    # the holding statement (incident level) goes on; the GDPR notices wait, undrafted
    assert desk.step("approve-holding") == "awaiting_approval"
    for step in ("approve-regulator-notice", "approve-customer-notice"):
        assert desk.step(step) == "ready"
    assert not desk.sent("approval", statement="regulator-notice")
    assert desk.incident.statements["regulator-notice"].draft is None
    desk.wait(24 * 60)
    assert not desk.sent("approval", statement="regulator-notice")


def test_the_crisis_lead_confirms_and_the_notices_go_ahead() -> None:
    desk = proposed()
    (ask,) = [m for m in desk.sent("level") if m.channel == "sms"]
    desk.decide(ev.LevelConfirmed(person=CRISIS_LEAD, code=ask.code))
    assert desk.incident.proposed_level == ""
    assert desk.saw("Level crisis confirmed by Anna Kowalska (Crisis lead)")
    assert desk.step("approve-regulator-notice") == "awaiting_approval"
    assert desk.sent("approval", statement="regulator-notice")


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (ev.LevelConfirmed(person=EWA), "Ewa Wiśniewska holds no role that confirms the level"),
        (ev.LevelConfirmed(person=CRISIS_LEAD, level="watch"), "level 'watch' is not the one"),
        (ev.LevelConfirmed(person=CRISIS_LEAD, code="0000"), "code 0000 does not confirm"),
        (ev.LevelRaised(level="crisis"), "a proposed level is confirmed with `warroom confirm"),
    ],
)
def test_a_wrong_confirmation_is_refused_and_changes_nothing(event: ev.Event, message: str) -> None:
    desk = proposed()
    with pytest.raises(CommandRejected, match=message):
        desk.decide(event)
    assert desk.incident.proposed_level == "crisis"


def test_nothing_to_confirm_without_a_proposal() -> None:
    desk = Desk()
    with pytest.raises(CommandRejected, match="no level is proposed"):
        desk.decide(ev.LevelConfirmed(person=CRISIS_LEAD))


def test_a_person_raising_the_level_is_not_a_proposal() -> None:
    desk = Desk(facts={**FACTS, **DATA_CATEGORIES})
    desk.assemble()
    desk.decide(ev.LevelRaised(level="crisis", reason="data confirmed", by=CRISIS_LEAD))
    assert desk.incident.proposed_level == ""
    assert desk.step("approve-regulator-notice") == "awaiting_approval"
    assert not desk.sent("level")


def test_lowering_below_the_proposal_withdraws_it() -> None:
    desk = proposed()
    desk.decide(ev.LevelLowered(level="incident", reason="false alarm"))
    assert desk.incident.proposed_level == ""
    assert desk.saw("The proposed level crisis is withdrawn")
    desk.wait(60)
    assert not desk.sent("approval", statement="regulator-notice")


def test_an_outside_audience_never_hears_at_a_proposed_level() -> None:
    """A step at a confirmed level that lists a crisis-only outside audience releases to it
    only once the crisis level is confirmed; an internal one is told at once."""
    media = dataclasses.replace(BOOK.audiences["media"], from_level="crisis")
    book = dataclasses.replace(BOOK, audiences={**BOOK.audiences, "media": media})
    desk = Desk(book=book)
    desk.assemble(CRISIS_LEAD, EWA)
    desk.wait(21)
    paged = [desk.incident.roles[name] for name in BOOK.audiences["crisis-team"].roles]
    holders = {r.person for r in paged if r.acked_at is None}
    desk.assemble(*sorted(p for p in holders if p))
    desk.approve(people=(CRISIS_LEAD, desk.incident.roles["legal"].person or ""))
    desk.report("delivered", desk.sent("statement", audience="employees"))
    desk.wait(27)  # the step holds the next audience 5 minutes
    assert desk.saw("Release the holding statement, staff first: media skipped below its level")
    assert not desk.sent("statement", audience="media")


def test_internal_and_outside_steps() -> None:
    assert not speaks_outside(BOOK, BOOK.step("assemble"))
    assert speaks_outside(BOOK, BOOK.step("approve-regulator-notice"))  # sent to UODO
    assert speaks_outside(BOOK, BOOK.step("release-holding"))  # staff, then the media
    assert BOOK.audiences["employees"].internal
    assert not BOOK.audiences["media"].internal
    assert BOOK.roles["crisis_lead"].confirms_level
    assert CRISIS_LEAD in TEAM
    assert timedelta(minutes=20) == BOOK.step("assemble").escalations[1].after


# -- the shell: an SMS reply, the war-room page, the command line ------------------------------

LIBRARY = Path(__file__).parent.parent / "playbooks"
ANNA = "+48601234567"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("CONFIRM 4821", Reply("confirm", "4821")),
        ("confirm level 4821", Reply("confirm", "4821")),
        ("POTWIERDZAM POZIOM 4821", Reply("confirm", "4821")),
        ("Potwierdzam 4821", Reply("ack", "4821")),  # without POZIOM: an acknowledgement
    ],
)
def test_a_level_is_confirmed_in_words_of_its_own(body: str, expected: Reply) -> None:
    assert parse_reply(body) == expected


@pytest.fixture
def breach(tmp_path: Path) -> Iterator[tuple[Runtime, str]]:
    """The data-breach playbook live on a virtual clock: the ladder proposes crisis at +20m."""
    store = SqliteStore.open(tmp_path / "w.db")
    try:
        channels = {"sms": RecordingChannel("sms"), "email": RecordingChannel("email")}
        runtime = Runtime(store, VirtualClock(T0), channels)
        snapshot = Snapshot.capture(LIBRARY / "data-breach.yaml", LIBRARY / "roster.yaml")
        incident = runtime.activate(snapshot, facts=FACTS, by=CRISIS_LEAD).incident
        for person in (CRISIS_LEAD, EWA):
            runtime.submit(incident, ev.Acknowledged(person=person))
        runtime.run_until(T0 + timedelta(minutes=21))
        yield runtime, incident
    finally:
        store.close()


def test_the_crisis_lead_confirms_by_sms_reply(breach: tuple[Runtime, str]) -> None:
    runtime, incident = breach
    state = runtime.incident(incident)
    assert state.proposed_level == "crisis"
    (ask,) = [m for m in state.messages.values() if m.purpose == "level" and m.channel == "sms"]
    wrong = runtime.receive_sms("+48605678901", f"CONFIRM {ask.code}")  # Ewa: not asked
    assert not wrong.accepted
    outcome = runtime.receive_sms(ANNA, f"POTWIERDZAM POZIOM {ask.code}")
    assert outcome.accepted, outcome.reason
    assert confirmation(outcome) == "Potwierdzono poziom: crisis"
    assert runtime.incident(incident).proposed_level == ""
    again = runtime.receive_sms(ANNA, f"CONFIRM {ask.code}")  # nothing is proposed any more
    assert confirmation(again) == "Nic nie zrobiono: nic nie czeka na tę odpowiedź od Ciebie"


def test_the_war_room_page_shows_the_proposal(breach: tuple[Runtime, str]) -> None:
    runtime, incident = breach
    state = runtime.incident(incident)
    board = build(state, [], [], runtime.clock.now(), WORDS["en"])
    assert board.level == "Customer impact likely"
    assert board.proposed_level == "Confirmed breach, public exposure"


def test_status_shows_the_proposal_and_confirm_level_confirms(tmp_path: Path) -> None:
    def warroom(*args: str, minutes: int) -> tuple[int, str, str]:
        env = {
            "WARROOM_LIBRARY": str(LIBRARY),
            "WARROOM_DB": str(tmp_path / "w.db"),
            "WARROOM_CLOCK": (T0 + timedelta(minutes=minutes)).isoformat(),
            "LOGNAME": "anna",
            "USER": "anna",
        }
        result = CliRunner().invoke(app, list(args), env=env)
        return result.exit_code, " ".join(result.stdout.split()), " ".join(result.stderr.split())

    facts = [a for k, v in FACTS.items() for a in ("--fact", f"{k}={v}")]
    assert warroom("activate", "data-breach", *facts, minutes=0)[0] == 0
    for person in (CRISIS_LEAD, EWA):
        assert warroom("ack", "--as", person, minutes=1)[0] == 0
    assert warroom("run", "--until-idle", minutes=21)[0] == 0
    code, out, _ = warroom("status", minutes=22)
    assert "level incident (crisis proposed, not confirmed)" in out
    assert "Level proposed: crisis, raised by an unanswered page." in out
    assert "`warroom confirm-level --as anna-kowalska`" in out
    code, _, err = warroom("confirm-level", "--as", EWA, minutes=23)
    assert code != 0
    assert "Ewa Wiśniewska holds no role that confirms the level" in err
    # the shipped roster names no logins: typed by the on-call login, so on her behalf
    code, _, err = warroom("confirm-level", "--as", CRISIS_LEAD, minutes=24)
    assert "needs --reason" in err
    code, _, err = warroom(
        "confirm-level", "--as", CRISIS_LEAD, "--reason", "phoned in", minutes=24
    )
    assert code == 0, err
    code, out, _ = warroom("timeline", minutes=25)
    assert "Level crisis proposed, not confirmed (Assemble the crisis team not acknowledged)" in out
    assert "Level crisis confirmed by Anna Kowalska (Crisis lead)" in out
    code, out, _ = warroom("status", minutes=25)
    assert "level crisis" in out
    assert "proposed" not in out


def test_validation_warns_when_nobody_can_confirm_a_raised_level(tmp_path: Path) -> None:
    text = (LIBRARY / "data-breach.yaml").read_text(encoding="utf-8")
    assert "    confirms_level: true\n" in text
    (tmp_path / "data-breach.yaml").write_text(
        text.replace("    confirms_level: true\n", ""), encoding="utf-8"
    )
    roster = str(LIBRARY / "roster.yaml")
    result = CliRunner().invoke(
        app, ["validate", str(tmp_path / "data-breach.yaml"), "--roster", roster, "--strict"]
    )
    assert result.exit_code == 1
    said = " ".join(result.stdout.split())
    assert (
        "steps[0].escalate[1].raise_level: raises to 'crisis', whose steps for outside "
        "audiences (approve-regulator-notice, notify-regulator, approve-customer-notice, "
        "notify-customers) wait until someone confirms the level, and no role has "
        "`confirms_level: true`"
    ) in said


def test_the_02_00_drill_with_a_silent_security_lead_releases_nothing_outside(
    tmp_path: Path,
) -> None:
    """The issue's reproduction: the security lead stays silent, the ladder raises the level
    to crisis at +20m, and simulated approvers used to approve and release the GDPR art. 33
    and 34 notices at +30m on "unusual access, under investigation". Now the level is only
    proposed, no simulated responder confirms it, and neither notice is drafted."""
    library = tmp_path / "library"
    shutil.copytree(LIBRARY, library)
    drill = (library / "exercises" / "breach-drill-q4.yaml").read_text(encoding="utf-8")
    drill = (
        drill.replace("exercise: breach-drill-q4", "exercise: night-drill")
        .replace("2026-11-23T09:00:00+01:00", "2026-11-24T02:00:00+01:00")
        .replace(
            "michal-lewandowski: {ack_after: 6m}",
            # silent; his backup, paged at +10m, answers at +22m: after the +20m rung
            "michal-lewandowski: {silent: true}\n  pawel-krawczyk: {ack_after: 12m}",
        )
        .replace("  - {at: 40m, raise_level: crisis}\n", "")
        .replace(
            "what_happened: a leak of customer e-mail addresses",
            "what_happened: unusual access, under investigation",
        )
    )
    (library / "exercises" / "night-drill.yaml").write_text(drill, encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["exercise", "run", "night-drill", "--library", str(library), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads((out / "night-drill.json").read_text(encoding="utf-8"))
    assert report["final_level"] == "crisis"
    released = {row["statement"].rsplit(" v", 1)[0] for row in report["statements"]}
    assert "Holding statement" in released  # what the level a person set allows went out
    assert not released & {
        "Notice to the customers affected (GDPR art. 34)",
        BOOK.statements["regulator-notice"].title,
    }
    timeline = " ".join(row["what"] for row in report["timeline"])
    assert "Level crisis proposed, not confirmed" in timeline
    done = {row["step"] for row in report["slas"] if row["done"] != "never"}
    assert not done & {"Notify the President of UODO", "Write to the customers affected"}
