"""What warroom itself says to the crisis team (issue 15, items 7 to 9): approvers see what
they approve, on SMS too; pages, approval requests and reminders come in the recipient's
language and fit two SMS segments; the spokesperson speaks every language their audiences and
the press are addressed in, and whoever takes the role over mid-crisis is briefed."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from test_decide import BOOK, FACTS, LIBRARY, ROSTER, T0, TEAM, Desk
from typer.testing import CliRunner

from warroom.channels.testing import RecordingChannel
from warroom.cli import app
from warroom.engine import events as ev
from warroom.engine.assignment import role_filter
from warroom.engine.decide import decide, new_incident
from warroom.engine.effects import SendMessage
from warroom.engine.notices import link_room
from warroom.engine.render import marked
from warroom.errors import CommandRejected
from warroom.library import load_library
from warroom.playbook.segments import count_segments
from warroom.roster.model import Roster
from warroom.runtime.clock import VirtualClock
from warroom.runtime.links import ActionLinks, LinkClaim
from warroom.runtime.runtime import Runtime
from warroom.runtime.snapshot import Snapshot
from warroom.store.sqlite import SqliteStore

runner = CliRunner()


def english_speaking(roster: Roster, *people: str) -> Roster:
    """The roster with these people reading English first (everyone shipped reads Polish)."""
    changed = {
        pid: dataclasses.replace(p, languages=("en", "pl")) if pid in people else p
        for pid, p in roster.people.items()
    }
    return dataclasses.replace(roster, people=changed)


def sms_of(messages: list[SendMessage]) -> str:
    return next(m.text for m in messages if m.channel == "sms")


def email_of(messages: list[SendMessage]) -> str:
    return next(m.text for m in messages if m.channel == "email")


# -- item 7: approvers see what they approve ----------------------------------------------------


def test_an_sms_approval_request_carries_the_first_lines_in_the_approvers_language() -> None:
    desk = Desk()
    desk.incident.roster = english_speaking(ROSTER, "piotr-zielinski")
    desk.assemble()
    polish = sms_of(desk.sent("approval", person="anna-kowalska"))
    english = sms_of(desk.sent("approval", person="piotr-zielinski"))
    draft = desk.incident.statements["holding"].draft
    assert draft is not None
    assert polish.startswith('[warroom] Zatwierdź "Holding statement" v1: ZATWIERDZAM ')
    assert english.startswith('[warroom] To approve: "Holding statement" v1. Reply APPROVE ')
    # the first words of the SMS rendering each will approve, in their own language
    sms_pl = " ".join(marked(draft.texts[("employees", "pl")].sms).split())
    sms_en = " ".join(marked(draft.texts[("employees", "en")].sms).split())
    shown_pl = polish.splitlines()[1].removesuffix("...")
    shown_en = english.splitlines()[1].removesuffix("...")
    assert sms_pl.startswith(shown_pl)
    assert len(shown_pl) >= 20  # UCS-2: a few words fit
    assert sms_en.startswith(shown_en)
    assert len(shown_en) >= 60  # GSM-7: more do
    assert polish.endswith("...")
    for text, lang in ((polish, "pl"), (english, "en")):  # the link's label still fits
        assert count_segments(text + link_room(lang)).segments <= 2


def test_an_emailed_approval_request_carries_every_rendering_sms_included() -> None:
    desk = Desk()
    desk.assemble()
    text = email_of(desk.sent("approval", person="anna-kowalska"))
    draft = desk.incident.statements["holding"].draft
    assert draft is not None
    for (audience, language), rendered in draft.texts.items():
        title = BOOK.audiences[audience].title
        assert f"--- {title} ({language}), e-mail ---" in text
        # as the approver reads it: a time filled in at release says so
        assert marked(rendered.text) in text
        if "sms" in BOOK.audiences[audience].channels:
            sms = marked(rendered.sms)  # sized as shown, with its slots spelled out
            assert f"--- {title} ({language}), SMS, {count_segments(sms)} ---" in text
            assert sms in text


def _runtime(tmp_path: Path, links: ActionLinks | None) -> tuple[Runtime, RecordingChannel, str]:
    store = SqliteStore.open(tmp_path / "warroom.db")
    sms = RecordingChannel("sms")
    runtime = Runtime(store, VirtualClock(T0), {"sms": sms, "email": RecordingChannel("email")})
    runtime.links = links
    snapshot = Snapshot.capture(LIBRARY / "data-breach.yaml", LIBRARY / "roster.yaml")
    incident = runtime.activate(snapshot, facts=FACTS, by="test").incident
    for person in TEAM:
        runtime.submit(incident, ev.Acknowledged(person=person))
    runtime.work()
    return runtime, sms, incident


def test_without_a_public_url_an_sms_approval_says_there_is_no_link(tmp_path: Path) -> None:
    runtime, sms, _ = _runtime(tmp_path, None)
    try:
        request = next(m for m in sms.to("anna-kowalska") if m.purpose == "approval")
        assert request.text.endswith("\nBrak linku: nie ustawiono WARROOM_PUBLIC_URL.")
        assert "http" not in request.text
    finally:
        runtime.close()


def test_with_a_public_url_the_sms_link_opens_every_rendering(tmp_path: Path) -> None:
    links = ActionLinks("https://warroom.acme.example", SecretStr("s" * 32))
    runtime, sms, incident = _runtime(tmp_path, links)
    try:
        request = next(m for m in sms.to("anna-kowalska") if m.purpose == "approval")
        last = request.text.splitlines()[-1]
        assert last.startswith("Pełny tekst: https://warroom.acme.example/act/")
        claim = links.verify(last.rsplit("/", 1)[1], T0)
        assert claim == LinkClaim(incident, request.code or "", "approve", claim.expires)
        shown = runtime.link(claim)
        where = [w for w, _ in shown.texts]
        assert "All staff, pl, sms" in where
        assert "All staff, pl, email" in where
        assert count_segments(request.text.rsplit("\n", 1)[0]).segments <= 2
    finally:
        runtime.close()


# -- item 8: the engine's texts in the recipient's language, sized ------------------------------


def test_pages_speak_the_recipients_language() -> None:
    incident = new_incident("breach-2", BOOK, english_speaking(ROSTER, "ewa-wisniewska"))
    decision = decide(incident, ev.Activated(level="incident", facts=FACTS, by="test"), T0)
    pages = [e for e in decision.effects if isinstance(e, SendMessage) and e.purpose == "page"]
    to_ewa = sms_of([p for p in pages if p.person == "ewa-wisniewska"])
    to_anna = sms_of([p for p in pages if p.person == "anna-kowalska"])
    assert to_ewa.startswith("[warroom] Customer data breach: you are Spokesperson for ")
    assert to_anna.startswith("[warroom] Customer data breach: jesteś Crisis lead, krok ")
    for text in (to_ewa, to_anna):
        assert "\n" not in text
        assert count_segments(text).segments <= 2
    by_email = email_of([p for p in pages if p.person == "anna-kowalska"])
    assert "Incydent breach-2, poziom incident." in by_email


@pytest.mark.parametrize("language", ["en", "pl", "de"])
def test_a_rejection_goes_back_to_the_owner_in_their_language(language: str) -> None:
    desk = Desk()
    owner = "marcin-pietrzak"  # the update is media relations' to draft
    people = dict(desk.incident.roster.people)
    people[owner] = dataclasses.replace(people[owner], languages=(language,))
    desk.incident.roster = dataclasses.replace(ROSTER, people=people)
    desk.released_holding()
    desk.report("delivered", desk.sent("statement", audience="media"))
    desk.decide(ev.Rejected(statement="update", person="anna-kowalska", reason="zła godzina"))
    text = sms_of(desk.sent("notice", person=owner))
    opening = {"en": "was rejected by", "pl": "odrzucone przez", "de": "was rejected by"}
    assert opening[language] in text.splitlines()[0]
    assert count_segments(text).segments <= 2


def test_validation_warns_of_a_statement_only_its_drafter_approves(
    tmp_path: Path,
) -> None:
    source = (LIBRARY / "data-breach.yaml").read_text("utf-8")
    changed = source.replace(
        "    owner: media_relations  # drafts; the crisis lead approves: four eyes\n",
        "    owner: crisis_lead\n",
    )
    assert changed != source
    (tmp_path / "data-breach.yaml").write_text(changed, "utf-8")
    library = load_library([tmp_path / "data-breach.yaml"])
    lines = changed.splitlines()
    line = next(i for i, t in enumerate(lines, 1) if t.strip() == "title: Update") + 2
    found = [str(d) for d in library.diagnostics]
    assert any(
        f"data-breach.yaml:{line}:" in d
        and "warning: statements.update.approve: approved only by 'crisis_lead', the role "
        "that drafts it (owner)"
        in d
        for d in found
    ), found


def test_validation_sizes_the_engines_own_texts_at_the_longest(tmp_path: Path) -> None:
    source = (LIBRARY / "data-breach.yaml").read_text("utf-8")
    long = "Assemble the crisis team, the external counsel and the forensic investigators"
    changed = source.replace("title: Assemble the crisis team\n", f"title: {long}\n", 1)
    assert changed != source
    (tmp_path / "data-breach.yaml").write_text(changed, "utf-8")
    found = [str(d) for d in load_library([tmp_path / "data-breach.yaml"]).diagnostics]
    line = next(i for i, t in enumerate(changed.splitlines(), 1) if long in t)
    assert any(
        f"data-breach.yaml:{line}:" in d
        and "warning: steps[0].title: the page in pl needs 3 segments" in d
        for d in found
    ), found
    assert not any("the page in en" in d for d in found)  # GSM-7 English still fits


# -- item 9: the spokesperson's languages, and the briefing on taking over ----------------------


def test_the_spokesperson_must_speak_english_and_polish() -> None:
    # the media audience is Polish and the desk takes inquiries in both languages
    assert role_filter(BOOK, "spokesperson", {}).languages == ("en", "pl")
    assert role_filter(BOOK, "legal", {}).languages == ()  # no `speaks`: nothing asked
    desk = Desk()
    people = dict(desk.incident.roster.people)
    people["tomasz-wojcik"] = dataclasses.replace(people["tomasz-wojcik"], languages=("pl",))
    desk.incident.roster = dataclasses.replace(ROSTER, people=people)
    with pytest.raises(CommandRejected, match="does not speak en"):
        desk.decide(ev.Reassigned(role="spokesperson", person="tomasz-wojcik", by="test"))


def test_a_spokesperson_taking_over_at_crisis_is_briefed() -> None:
    desk = Desk().released_holding()
    desk.report("delivered", desk.sent("statement", audience="media"))
    desk.decide(
        ev.MediaInquiryLogged(
            outlet="Dziennik Finansowy", question="Czy wyciekły hasła?", language="pl", by="t"
        )
    )
    desk.now = T0 + timedelta(minutes=40)
    desk.decide(ev.LevelRaised(level="crisis", reason="the drill", by="test"))
    ceo = desk.incident.holder("spokesperson")
    assert ceo == "krzysztof-mazur"
    briefing = desk.sent("briefing", person=ceo)
    sms, email = sms_of(briefing), email_of(briefing)
    assert sms.startswith("[warroom] Customer data breach (crisis): jesteś teraz Spokesperson.")
    assert "\nWydane: 1. Otwarte pytania mediów: 1." in sms
    assert count_segments(sms + link_room("pl")).segments <= 2
    assert "Przejmujesz od: Ewa Wiśniewska." in email
    assert "Mówisz w imieniu firmy po: en, pl." in email
    assert "- Holding statement v1 (09:" in email
    assert "All staff, Media" in email
    assert '"Czy wyciekły hasła?"' in email
    assert "Kluczowe przekazy:\n- jeszcze niezatwierdzone; nie używaj ich" in email
    assert "status" not in email  # a briefing, not "see warroom status"
    assert desk.saw("Spokesperson: Krzysztof Mazur briefed on taking over")


def test_a_briefing_by_sms_links_to_the_war_room_page(tmp_path: Path) -> None:
    links = ActionLinks("https://warroom.acme.example", SecretStr("s" * 32))
    runtime, sms, incident = _runtime(tmp_path, links)
    try:
        for person in ("piotr-zielinski", "anna-kowalska"):
            runtime.submit(incident, ev.Approved(statement="holding", person=person))
        runtime.submit(incident, ev.LevelRaised(level="crisis", reason="drill", by="test"))
        runtime.work()
        briefing = next(m for m in sms.to("krzysztof-mazur") if m.purpose == "briefing")
        head, last = briefing.text.rsplit("\n", 1)
        prefix = f"Pełny tekst: https://warroom.acme.example/incidents/{incident}?view="
        assert last.startswith(prefix)
        token = last.removeprefix(prefix)
        link = runtime.store.view_link(links.view_link_id(token))
        assert link is not None
        links.check_view(token, link, incident, T0)  # a working, read-only link
        assert count_segments(head).segments <= 2
    finally:
        runtime.close()


# -- end to end: the command line and the shipped drills ----------------------------------------


def test_status_says_who_covers_which_language(tmp_path: Path) -> None:
    env = {
        "WARROOM_LIBRARY": str(LIBRARY),
        "WARROOM_DB": str(tmp_path / "warroom.db"),
        "WARROOM_CLOCK": "2026-11-23T09:00:00+01:00",
        "COLUMNS": "200",
    }
    facts = [a for k, v in FACTS.items() for a in ("--fact", f"{k}={v}")]
    assert runner.invoke(app, ["activate", "data-breach", *facts], env=env).exit_code == 0
    result = runner.invoke(app, ["status"], env=env)
    assert result.exit_code == 0, result.stdout
    row = next(line for line in result.stdout.splitlines() if "Spokesperson" in line)
    assert "Ewa Wiśniewska" in row
    assert "en, pl" in row


@pytest.mark.parametrize("drill", ["breach-drill-q4", "fire-drill"])
def test_the_drills_still_run_with_texts_in_both_languages(tmp_path: Path, drill: str) -> None:
    result = runner.invoke(
        app, ["exercise", "run", drill, "--library", str(LIBRARY), "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    report = (tmp_path / f"{drill}.md").read_text("utf-8")
    if drill == "breach-drill-q4":
        assert "Spokesperson: Krzysztof Mazur briefed on taking over" in report
