"""On-call rotas, away periods and role assignment: who gets the call at a given instant."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warroom.engine.assignment import assign_roles, audience_recipients
from warroom.library import load_library
from warroom.roster.load import load_roster
from warroom.roster.model import Candidate, Person, Rota, assign

WARSAW = ZoneInfo("Europe/Warsaw")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_phones_are_stored_as_e164(mini: Path) -> None:
    roster, _ = load_roster(mini / "roster.yaml")
    assert roster.person("anna").phone == "+48601234567"


def test_csv_group_drops_duplicate_rows(mini: Path) -> None:
    roster, _ = load_roster(mini / "roster.yaml")
    press = roster.groups["press"]
    assert [c.name for c in press] == ["Marta Dziennikarska", "Tomasz Reporter"]
    assert press[0].outlet == "Gazeta Przykładowa"
    assert press[1].phone is None
    assert press[1].email == "tomasz@radio.example"


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2026-01-05T09:00:00+01:00", "anna"),  # the handoff itself
        ("2026-01-12T08:59:00+01:00", "anna"),
        ("2026-01-12T09:00:00+01:00", "bartek"),
        ("2026-01-19T09:00:00+01:00", "anna"),
        ("2026-01-04T12:00:00+01:00", "bartek"),  # before the first handoff, counting back
        ("2026-11-24T12:00:00+01:00", "ewa"),  # the override
        ("2026-11-25T09:00:00+01:00", "anna"),  # override over, the rotation resumes
    ],
)
def test_rota_resolves_at_any_instant(mini: Path, moment: str, expected: str) -> None:
    roster, _ = load_roster(mini / "roster.yaml")
    assert roster.rotas["press-rota"].on_call(at(moment)) == expected


def test_rota_with_time_zone_keeps_local_handoff_across_summer_time() -> None:
    rota = Rota(
        "press",
        timedelta(weeks=1),
        datetime(2026, 1, 5, 9, 0, tzinfo=WARSAW),
        ("anna", "bartek"),
        timezone="Europe/Warsaw",
    )
    # 2026-03-30 is a Monday after the change to CEST: the handoff is still 09:00 local.
    before = datetime(2026, 3, 30, 8, 59, tzinfo=WARSAW)
    after = datetime(2026, 3, 30, 9, 0, tzinfo=WARSAW)
    assert rota.on_call(before) != rota.on_call(after)


@given(st.integers(min_value=0, max_value=52 * 7 * 24))
def test_rotation_is_fair(hours: int) -> None:
    rota = Rota("r", timedelta(weeks=1), at("2026-01-05T09:00:00+00:00"), ("a", "b", "c"))
    moment = rota.handoff + timedelta(hours=hours)
    week = hours // (7 * 24)
    assert rota.on_call(moment) == "abc"[week % 3]


def test_away_days_cover_the_whole_last_day_in_the_persons_zone(mini: Path) -> None:
    roster, _ = load_roster(mini / "roster.yaml")
    celina = roster.person("celina")
    assert celina.away_at(at("2026-11-20T00:00:00+01:00")) is not None
    assert celina.away_at(at("2026-11-30T23:59:00+01:00")) is not None
    assert celina.away_at(at("2026-12-01T00:00:00+01:00")) is None
    assert celina.away_at(at("2026-11-19T23:59:00+01:00")) is None


def test_candidates_carry_their_problems(mini: Path) -> None:
    roster, _ = load_roster(mini / "roster.yaml")
    found = roster.candidates(
        ["tag:ceo", "tag:counsel"],
        at("2026-11-23T09:00:00+01:00"),
        require_tags=["media-trained"],
        languages=["pl"],
        exclude=["ewa"],
    )
    problems = {c.person.id: c.problems for c in found}
    assert problems == {
        "celina": ("away until 2026-12-01 00:00",),
        "dawid": ("lacks tag media-trained", "does not speak pl"),
        "ewa": ("excluded: implicated in this incident",),
    }


def _person(pid: str) -> Person:
    return Person(pid, pid.capitalize(), phone="+48601234567")


def test_nobody_holds_two_roles_while_someone_else_can() -> None:
    anna, bartek = _person("anna"), _person("bartek")
    result = assign(
        [
            ("crisis_lead", [Candidate(anna, "tag:x")]),
            ("spokesperson", [Candidate(anna, "tag:x"), Candidate(bartek, "tag:y")]),
            ("legal", [Candidate(anna, "tag:x")]),
        ]
    )
    assert result["crisis_lead"].person == anna
    assert result["spokesperson"].person == bartek
    assert "Anna already crisis_lead" in result["spokesperson"].explanation
    # nobody else can be legal: Anna doubles up, and the timeline says so
    assert result["legal"].person == anna
    assert "also crisis_lead: no one else can" in result["legal"].explanation


def test_role_nobody_can_fill_is_explained() -> None:
    anna = _person("anna")
    result = assign([("legal", [Candidate(anna, "tag:x", ("away until 2026-12-01 00:00",))])])
    assert result["legal"].person is None
    assert result["legal"].explanation == (
        "nobody: no one can fill legal (Anna: away until 2026-12-01 00:00)"
    )


def test_playbook_roles_at_an_instant(mini: Path) -> None:
    library = load_library([mini], mini / "roster.yaml")
    playbook, roster = library.playbook("outage"), library.require_roster()
    bartek_week = at("2026-11-16T10:00:00+01:00")
    roles = assign_roles(playbook, roster, bartek_week, "minor", {})
    assert {r: a.person.id for r, a in roles.items() if a.person} == {
        "crisis_lead": "anna",
        "spokesperson": "bartek",
        "legal": "dawid",
    }
    assert roles["spokesperson"].explanation == (
        "Bartek Nowak: first candidate for spokesperson (oncall:press-rota); "
        "media-trained; speaks pl"
    )
    # in Anna's rota week she is the only candidate left: she doubles up, and it is said
    anna_week = at("2026-11-23T10:00:00+01:00")
    roles = assign_roles(playbook, roster, anna_week, "minor", {})
    assert roles["spokesperson"].person == roster.person("anna")
    assert "also crisis_lead: no one else can" in roles["spokesperson"].reasons
    # at the major level the CEO tier comes first, but Celina is away: the timeline says so
    major = assign_roles(playbook, roster, anna_week, "major", {})
    assert "Celina Wójcik skipped: away until 2026-12-01 00:00" in major["spokesperson"].reasons


def test_implicated_person_is_never_spokesperson(mini: Path) -> None:
    library = load_library([mini], mini / "roster.yaml")
    playbook, roster = library.playbook("outage"), library.require_roster()
    tuesday = at("2026-11-24T10:00:00+01:00")  # ewa holds the press rota override
    assert assign_roles(playbook, roster, tuesday, "minor", {})["spokesperson"].person
    roles = assign_roles(playbook, roster, tuesday, "minor", {"implicated": "ewa"})
    spokesperson = roles["spokesperson"]
    assert spokesperson.person is not None
    assert spokesperson.person.id != "ewa"
    assert "Ewa Wiśniewska skipped: excluded: implicated in this incident" in spokesperson.reasons


def test_audience_recipients_once_each_in_their_language(mini: Path) -> None:
    library = load_library([mini], mini / "roster.yaml")
    playbook, roster = library.playbook("outage"), library.require_roster()
    moment = at("2026-11-23T10:00:00+01:00")
    roles = assign_roles(playbook, roster, moment, "minor", {})
    media = audience_recipients(playbook, roster, "media", roles, moment)
    assert [(r.contact.name, r.channels, r.language) for r in media] == [
        ("Marta Dziennikarska", ("email",), "pl"),
        ("Tomasz Reporter", ("email",), "pl"),
    ]
    staff = audience_recipients(playbook, roster, "employees", roles, moment)
    assert [(r.contact.name, r.channels) for r in staff] == [
        ("Anna Kowalska", ("email", "sms")),
        ("Bartek Nowak", ("email", "sms")),
        ("Front desk", ("email",)),
    ]


def test_landlines_get_no_sms(mini: Path, edit: Callable[[str, str, str], Path]) -> None:
    edit(
        "roster.yaml",
        "{name: Front desk, email: desk@acme.example}",
        '{name: Front desk, phone: "+48 22 123 45 67", email: desk@acme.example}',
    )
    roster, _ = load_roster(mini / "roster.yaml")
    desk = roster.groups["staff"][2]
    assert desk.phone == "+48221234567"
    assert desk.channels() == ("email",)
    assert roster.person("anna").channels() == ("sms", "email")


def test_away_order_compares_instants_not_text(
    mini: Path, edit: Callable[[str, str, str], Path]
) -> None:
    # 23:30Z on the 30th is after midnight Warsaw time on 1 December: a valid period
    edit(
        "roster.yaml",
        "away: [{from: 2026-11-20, to: 2026-11-30}]",
        "away: [{from: 2026-11-30T23:00:00+01:00, to: 2026-11-30T23:30:00Z}]",
    )
    roster, _ = load_roster(mini / "roster.yaml")
    assert roster.person("celina").away_at(at("2026-12-01T00:15:00+01:00")) is not None
