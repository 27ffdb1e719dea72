"""The media desk: inquiries with an owner and a deadline, answered only with approved words.

Driven by the shipped data-breach playbook (its `media_desk`, `key_messages` and `qa`), on
`decide()` alone; then the command line, and the bad inputs of issue 14.
"""

from __future__ import annotations

import copy
import dataclasses
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from warroom.cli import app
from warroom.engine import events as ev
from warroom.engine.decide import decide, new_incident
from warroom.engine.effects import CancelTimer, SendMessage, StartTimer
from warroom.engine.media import desk_order
from warroom.engine.state import Incident
from warroom.engine.suggest import score, suggest
from warroom.errors import CommandRejected, UsageError
from warroom.library import load_library
from warroom.playbook.model import PressConference
from warroom.playbook.segments import count_segments
from warroom.press import briefing_pack, press_release
from warroom.runtime.snapshot import Snapshot
from warroom.server.board import WORDS, build

LIBRARY = Path(__file__).parent.parent / "playbooks"
T0 = datetime.fromisoformat("2026-11-23T09:00:00+01:00")
FACTS = {"what_happened": "a leak of customer e-mail addresses"}
BOOK, ROSTER = Snapshot.capture(LIBRARY / "data-breach.yaml", LIBRARY / "roster.yaml").compile()
APPROVERS = ("piotr-zielinski", "anna-kowalska")  # legal, crisis lead: media_desk.approve
ASKED = {
    "outlet": "Dziennik Finansowy",
    "journalist": "Magdalena Kubiak",
    "question": "Czy dane klientów zostały naruszone?",
    "language": "pl",
    "email": "m.kubiak@df.example",
}


class Desk:
    def __init__(self) -> None:
        self.incident: Incident = new_incident("breach-1", BOOK, ROSTER)
        self.now = T0
        self.effects: list[Any] = []
        self.notes: list[str] = []
        self.decide(ev.Activated(level="incident", facts=FACTS, by="test"))

    def decide(self, event: ev.Event) -> None:
        decision = decide(self.incident, event, self.now)
        self.effects += decision.effects
        self.notes += decision.notes

    def at(self, minutes: int) -> Desk:
        self.now = T0 + timedelta(minutes=minutes)
        return self

    def ask(self, **changes: Any) -> None:
        self.decide(ev.MediaInquiryLogged(**{**ASKED, **changes}, by="ewa-wisniewska"))

    def approve(self, statement: str) -> None:
        for person in APPROVERS:
            self.decide(ev.Approved(statement=statement, person=person))

    def answers(self) -> list[SendMessage]:
        return [e for e in self.effects if isinstance(e, SendMessage) and e.purpose == "answer"]

    def refused(self, event: ev.Event, message: str) -> None:
        before = copy.deepcopy(
            {k: v for k, v in vars(self.incident).items() if k not in ("playbook", "roster")}
        )
        with pytest.raises(CommandRejected, match=message):
            decide(self.incident, event, self.now)
        after = {k: v for k, v in vars(self.incident).items() if k not in ("playbook", "roster")}
        assert after == before  # a refused command changes nothing


def test_an_inquiry_gets_an_owner_a_deadline_and_a_suggestion() -> None:
    desk = Desk()
    desk.ask()
    inquiry = desk.incident.inquiries[0]
    assert inquiry.owner == "media_relations"  # the playbook's media desk owner
    assert inquiry.deadline == T0 + timedelta(minutes=30)  # media_desk.answer_within
    assert inquiry.suggestion == "qa:data-affected"
    assert inquiry.status == "open"
    assert any("suggested answer qa:data-affected (sent only if chosen)" in n for n in desk.notes)
    # the suggestion's approvers are asked; nothing goes to the journalist
    asked = [e for e in desk.effects if isinstance(e, SendMessage) and e.purpose == "approval"]
    assert {e.statement for e in asked} == {"qa:data-affected"}
    assert not desk.answers()


def test_answered_with_the_approved_q_and_a_in_the_journalists_language() -> None:
    desk = Desk()
    desk.ask()
    desk.at(10).approve("qa:data-affected")
    desk.at(12).decide(ev.InquiryAnswered(inquiry=1, answer="qa:data-affected", by="ewa"))
    (sent,) = desk.answers()
    assert sent.address == "m.kubiak@df.example"
    assert sent.channel == "email"
    assert sent.text.startswith("Na tę chwilę wiemy tyle: podejrzenie")  # Polish, as asked
    inquiry = desk.incident.inquiries[0]
    assert (inquiry.status, inquiry.answer) == ("answered", "qa:data-affected v1")
    # answering twice is refused, saying when and with what
    desk.refused(
        ev.InquiryAnswered(inquiry=1, answer="qa:data-affected"),
        r"cannot answer inquiry #1: it was already answered at 2026-11-23 09:12 by ewa "
        r"with qa:data-affected v1",
    )


def test_a_changed_fact_makes_the_q_and_a_stale_until_approved_again() -> None:
    desk = Desk()
    desk.ask()
    desk.approve("qa:data-affected")
    desk.decide(ev.FactUpdated(facts={"what_happened": "a leak of names"}, by="anna"))
    desk.refused(
        ev.InquiryAnswered(inquiry=1, answer="qa:data-affected"),
        r"Q&A data-affected v2 is not approved: waiting for legal",
    )
    desk.approve("qa:data-affected")
    desk.decide(ev.InquiryAnswered(inquiry=1, answer="qa:data-affected"))
    assert desk.incident.inquiries[0].answer == "qa:data-affected v2"


def test_free_text_needs_the_same_approval() -> None:
    desk = Desk()
    desk.ask(question="Czy prezes poda się do dymisji?")
    assert desk.incident.inquiries[0].suggestion == ""
    desk.decide(ev.InquiryDrafted(inquiry=1, text="Zarząd {{ company }} zajmuje się sprawą."))
    desk.refused(ev.InquiryAnswered(inquiry=1, answer="draft"), "is not approved")
    desk.approve("inquiry:1")
    desk.decide(ev.InquiryAnswered(inquiry=1, answer="draft"))
    (sent,) = desk.answers()
    assert sent.text == "Zarząd {{ company }} zajmuje się sprawą."  # words are data


def test_declined_and_referred_are_on_the_record() -> None:
    desk = Desk()
    desk.ask()
    desk.ask(outlet="Radio Zet", journalist="Jan Nowak", question="Kto stoi za atakiem?")
    desk.decide(ev.InquiryDeclined(inquiry=1, reason="investigation under way", by="ewa"))
    desk.decide(ev.InquiryReferred(inquiry=2, to="legal", reason="attribution is legal's"))
    assert [i.status for i in desk.incident.inquiries] == ["declined", "referred"]
    assert any("declined: investigation under way" in n for n in desk.notes)
    desk.refused(
        ev.InquiryDeclined(inquiry=1, reason="again"), "already declined at 2026-11-23 09:00"
    )


def test_open_inquiries_come_first_by_deadline_and_repeats_are_linked() -> None:
    desk = Desk()
    desk.ask(within=3600)
    desk.at(5).ask(journalist="Magdalena Kubiak", question="Proszę o odpowiedź: dane klientów?")
    desk.at(6).ask(outlet="TVN24", journalist="", question="Ilu klientów dotyczy wyciek?")
    _first, second, third = desk.incident.inquiries
    assert second.repeat_of == 1
    assert third.repeat_of == 0
    assert third.suggestion == "qa:how-many"
    desk.decide(ev.InquiryDeclined(inquiry=2, reason="answered under #1"))
    assert [i.number for i in desk_order(desk.incident.inquiries)] == [3, 1, 2]


def test_word_overlap_in_the_journalists_language() -> None:
    assert score("Is customer data affected?", "Is customer data affected?", "en") == 1.0
    assert suggest(BOOK, "Have you told UODO, the regulator?", "en") == "qa:regulator"
    assert suggest(BOOK, "Will the CEO resign?", "en") == ""


# -- bad input (issue 14) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (ev.InquiryAnswered(inquiry=1, answer="qa:smoke"), r"unknown Q&A entry 'qa:smoke'"),
        (
            ev.InquiryAnswered(inquiry=1, answer="qa:data-affected"),
            r"Q&A data-affected v1 is not approved: waiting for legal \(Piotr Zieliński\)",
        ),
        (
            ev.InquiryAnswered(inquiry=1, answer="qa:how-many"),
            r"Q&A how-many has no version yet; `warroom inquiry draft 1 --with qa:how-many`",
        ),
        (ev.InquiryAnswered(inquiry=9, answer="qa:how-many"), r"unknown inquiry #9"),
        (ev.InquiryDeclined(inquiry=1, reason=" "), r"declining an inquiry needs --reason"),
        (ev.InquiryReferred(inquiry=1, to="pr", reason="x"), r"unknown role 'pr' for --to"),
        (
            ev.MediaInquiryLogged(outlet="TVN24", question="?", within=0),
            r"--within 0s: an inquiry's deadline must be longer than 0s",
        ),
        (
            ev.MediaInquiryLogged(outlet="TVN24", question="?", language="de"),
            r"--language 'de' is not one of the playbook's languages",
        ),
    ],
)
def test_refused(event: ev.Event, message: str) -> None:
    desk = Desk()
    desk.ask()
    desk.refused(event, message)


def test_a_journalist_with_no_contact_cannot_be_answered() -> None:
    desk = Desk()
    desk.ask(email="")
    desk.approve("qa:data-affected")
    desk.refused(
        ev.InquiryAnswered(inquiry=1, answer="qa:data-affected"),
        r"inquiry #1: Magdalena Kubiak, Dziennik Finansowy left no phone or e-mail",
    )


def test_a_q_and_a_missing_a_language_is_an_error_at_its_line(
    mini: Path, edit: Callable[[str, str, str], Path]
) -> None:
    path = mini / "outage.yaml"
    path.write_text(
        path.read_text(encoding="utf-8")
        + "\nqa:\n  - id: when-back\n    question: {en: When is it back?, pl: Kiedy?}\n"
        "    answer:\n      en: Soon.\n",
        encoding="utf-8",
    )
    found = [str(d) for d in load_library([mini]).diagnostics]
    assert any(
        d.endswith("qa[0].answer: missing language 'pl' (the playbook declares en, pl)")
        and ":" in d.split("qa[0]")[0]
        for d in found
    ), found


# -- the command line -------------------------------------------------------------------------

runner = CliRunner()
Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def warroom(mini: Path, tmp_path: Path) -> Run:
    def run(*args: str, clock: str = "2026-11-16T10:00:00+01:00") -> tuple[int, str, str]:
        env = {
            "WARROOM_LIBRARY": str(mini),
            "WARROOM_DB": str(tmp_path / "warroom.db"),
            "WARROOM_CLOCK": clock,
            "LOGNAME": "oncall",
            "USER": "oncall",
        }
        result = runner.invoke(app, list(args), env=env)
        return result.exit_code, result.stdout, result.stderr

    return run


def events(tmp_path: Path) -> int:
    db = sqlite3.connect(tmp_path / "warroom.db")
    try:
        return int(db.execute("SELECT COUNT(*) FROM events").fetchone()[0])
    finally:
        db.close()


def test_the_desk_from_the_command_line(warroom: Run, tmp_path: Path) -> None:
    assert (
        warroom("activate", "outage", "--fact", "company=Acme", "--fact", "service=the shop")[0]
        == 0
    )
    code, out, _ = warroom("inquiry", "--outlet", "Radio", "--question", "When is it back?")
    assert code == 0
    assert "Media inquiry #1 from Radio: When is it back?" in out
    code, out, _ = warroom(
        "inquiry", "add", "--outlet", "TVN24", "--journalist", "Jan Nowak",
        "--contact", "+48600100200", "--question", "Kiedy sklep wróci?", "--language", "pl",
        "--within", "15m",
    )  # fmt: skip
    assert code == 0, out
    before = events(tmp_path)
    for args, message in [
        (("add", "--outlet", "X", "--question", "Y", "--within", "0"), "--within '0'"),
        (("decline", "1"), "`warroom inquiry decline` needs --reason"),
        (("answer", "2", "--with", "qa:when"), "unknown Q&A entry 'qa:when'"),
    ]:
        code, _, err = warroom("inquiry", *args)
        assert code == 2, err
        assert message in err
    assert events(tmp_path) == before  # a refused command writes nothing
    code, out, _ = warroom("inquiry", "list", clock="2026-11-16T10:05:00+01:00")
    assert out.index("#2 Jan Nowak, TVN24 (pl)") < out.index("#1 Radio (en)")  # by deadline
    assert "answer within 10m" in out
    assert warroom("inquiry", "decline", "1", "--reason", "covered by the statement")[0] == 0
    code, out, _ = warroom("status", clock="2026-11-16T10:20:00+01:00")
    assert "Media inquiries: 1 open of 2 logged" in out
    assert "overdue by 5m" in out
    code, _, err = warroom("statement", "export", "holding", "--format", "html")
    assert code == 2
    assert "Holding has no approved version to publish: not drafted yet" in err
    code, out, _ = warroom("press", "pack", "--out", str(tmp_path / "pack.md"))
    assert code == 0
    assert "## Open inquiries\n- #2 Jan Nowak, TVN24 (pl)" in (tmp_path / "pack.md").read_text()


def test_half_the_time_pages_the_owner_and_the_deadline_escalates() -> None:
    desk = Desk()
    desk.ask(question="Kto stoi za atakiem?")
    timers = {str(e.timer): e for e in desk.effects if isinstance(e, StartTimer)}
    half, due = timers["inquiry-half:1"], timers["inquiry-due:1"]
    assert (half.at, due.at) == (T0 + timedelta(minutes=15), T0 + timedelta(minutes=30))
    desk.at(15).decide(ev.TimerFired(timer="inquiry-half:1", token=half.token, by="timer"))
    reminders = [e for e in desk.effects if isinstance(e, SendMessage) and e.purpose == "notice"]
    assert {e.person for e in reminders} == {"marcin-pietrzak"}  # media relations owns it
    sms = next(e.text for e in reminders if e.channel == "sms")
    assert sms.startswith(  # in Marcin's language, what happened in the first line
        "[warroom] Pytanie mediów #1 od Magdalena Kubiak, Dziennik Finansowy, termin 09:30: "
    )
    assert count_segments(sms).segments <= 2
    desk.at(30).decide(ev.TimerFired(timer="inquiry-due:1", token=due.token, by="timer"))
    assert any("past its deadline unanswered; escalated to" in n for n in desk.notes)


def test_an_answered_inquiry_wakes_nobody() -> None:
    desk = Desk()
    desk.ask()
    desk.decide(ev.InquiryDeclined(inquiry=1, reason="covered by the holding statement"))
    cancelled = {str(e.timer) for e in desk.effects if isinstance(e, CancelTimer)}
    assert cancelled == {"inquiry-half:1", "inquiry-due:1"}


# -- press releases and the briefing pack -----------------------------------------------------


def test_a_press_release_is_only_ever_of_an_approved_version() -> None:
    desk = Desk()
    with pytest.raises(UsageError, match=r"Holding statement has no approved version to publish"):
        press_release(desk.incident, "holding", "pl", "md")
    for person in ("anna-kowalska", "ewa-wisniewska", "piotr-zielinski", "michal-lewandowski"):
        desk.decide(ev.Acknowledged(person=person))
    desk.approve("holding")
    text = press_release(desk.incident, "holding", "pl", "md")
    assert text.startswith("# Acme Polska: oświadczenie w sprawie incydentu")
    assert "**Warszawa, 2026-11-23** \u2013 Wykryliśmy incydent" in text
    assert (
        "## Kontakt dla mediów\n\n- Biuro prasowe Acme Polska, Press office: +48225550100" in text
    )
    assert "Informacja dla redakcji" not in text  # key messages not approved: not printed
    page = press_release(desk.incident, "holding", "en", "html")
    assert "<h1>Acme Polska: statement on a data security incident</h1>" in page
    with pytest.raises(UsageError, match=r"unknown statement 'qa:how-many'"):
        press_release(desk.incident, "qa:how-many", "en", "md")


def test_the_briefing_pack_marks_what_is_approved() -> None:
    desk = Desk()
    desk.ask()
    desk.approve("qa:data-affected")
    pack = briefing_pack(desk.incident)
    assert "### Q&A data-affected\n- Q (en): Is customer data affected?" in pack
    assert "- (pl) **approved v1** (Piotr Zieliński (legal), Anna Kowalska (crisis_lead)):" in pack
    assert "- (en) not drafted yet" in pack  # the other entries
    assert "- (pl) Bez komentarza." in pack
    assert "## Open inquiries\n- #1 Magdalena Kubiak, Dziennik Finansowy (pl)" in pack


def test_the_war_room_page_lists_open_inquiries_first_with_their_deadlines() -> None:
    desk = Desk()
    desk.ask()
    desk.at(2).ask(
        outlet="TVN24", journalist="", question="Ilu klientów dotyczy wyciek?", within=600
    )
    desk.decide(ev.InquiryDeclined(inquiry=1, reason="covered by the statement"))
    desk.at(3).ask(outlet="Onet", journalist="", question="Kto stoi za atakiem?", within=1800)
    board = build(desk.incident, [], [], desk.now, WORDS["en"])
    assert [(q.text.split(" ")[0], q.status) for q in board.inquiries] == [
        ("#2", "open"),  # due at +12m
        ("#3", "open"),  # due at +33m
        ("#1", "declined"),
    ]
    assert board.inquiries[0].deadline is not None
    assert board.inquiries[0].deadline.local == "09:12"
    assert board.inquiries[2].outcome == "covered by the statement"


def test_a_press_conference_briefs_its_speakers_with_approved_words_only() -> None:
    conference = PressConference(timedelta(hours=2), ("spokesperson",), "Warszawa", "")
    steps = tuple(
        dataclasses.replace(s, press_conference=conference) if s.id == "assemble" else s
        for s in BOOK.steps
    )
    incident = new_incident("breach-2", dataclasses.replace(BOOK, steps=steps), ROSTER)
    decision = decide(incident, ev.Activated(level="incident", facts=FACTS, by="test"), T0)
    assert "Press conference at 11:00, Warszawa: Ewa Wiśniewska briefed" in decision.notes
    (briefing,) = [
        e
        for e in decision.effects
        if isinstance(e, SendMessage) and e.key.startswith("breach-2/assemble/conference-")
    ]
    assert briefing.channel == "email"
    assert briefing.text.startswith("[warroom] Konferencja prasowa o 11:00, Warszawa.")
    assert "- Key messages: not approved yet; do not use" in briefing.text
    assert "Do not say:\n- Bez komentarza." in briefing.text


def test_a_press_conference_needs_a_place_and_a_page_step(
    mini: Path, edit: Callable[[str, str, str], Path]
) -> None:
    edit(
        "outage.yaml",
        "  - id: approve-holding\n",
        "  - id: approve-holding\n    press_conference: {at: 1h, speakers: [nobody]}\n",
    )
    found = [str(d) for d in load_library([mini]).diagnostics]
    assert any(
        d.endswith("'press_conference' does not apply to a step that does approve") for d in found
    ), found
    assert any("press_conference.speakers[0]: unknown role 'nobody'" in d for d in found), found
    assert any(d.endswith("a press conference needs a `place` or a `link`") for d in found), found
