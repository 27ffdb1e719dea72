"""Closing messages: what is said on resolve ("service restored"), approved like any statement.

A send step with `on_resolve: true` never goes during the incident; `warroom resolve` releases
its approved version to every audience at once, or is refused, writing nothing, while the
words are not approved.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from support.cli import T0, Run, command_line, event_count, runner

from warroom.cli import app

ACTIVATE = ("activate", "outage", "--fact", "company=Acme", "--fact", "service=the shop")
CLOSING = """
  restored:
    approve: [legal]
    text:
      en: "{{ company }}: {{ service }} works again. Thank you for your patience."
      pl: "{{ company }}: {{ service }} znów działa. Dziękujemy za cierpliwość."
"""
STEPS = """
  - id: approve-restored
    after: [release-holding]
    approve: restored
  - id: say-restored
    title: Say the service is restored
    send: restored
    to: [employees, media]
    on_resolve: true
"""


@pytest.fixture
def warroom(mini: Path, tmp_path: Path, edit: Callable[[str, str, str], Path]) -> Run:
    edit("outage.yaml", "\nsteps:\n", CLOSING + "\nsteps:\n")
    path = mini / "outage.yaml"
    path.write_text(path.read_text(encoding="utf-8") + STEPS, encoding="utf-8")

    return command_line(mini, tmp_path)


def test_resolve_says_the_approved_closing_message_and_not_before(
    warroom: Run, tmp_path: Path
) -> None:
    later = "2026-11-16T10:20:00+01:00"
    transcript = tmp_path / "t.jsonl"
    worker = ("run", "--until-idle", "--transcript", str(transcript))
    assert warroom(*ACTIVATE)[0] == 0
    for person in ("anna", "bartek", "dawid"):
        assert warroom("ack", "--as", person)[0] == 0
    assert warroom("approve", "holding", "--as", "dawid", login="dlis")[0] == 0
    assert warroom(*worker, clock=later)[0] == 0
    assert "said on resolve" in warroom("status", clock=later)[1]

    before = event_count(tmp_path)
    code, out, err = warroom("resolve", "--summary", "shop back", clock=later)
    assert code == 2
    assert (
        "cannot resolve yet: Say the service is restored: Restored v1 is said on resolve and is "
        "not approved (waits for legal: Dawid Lis; `warroom approve restored`)"
    ) in " ".join((out + err).split())
    assert event_count(tmp_path) == before

    assert warroom("approve", "restored", "--as", "dawid", login="dlis", clock=later)[0] == 0
    code, out, _ = warroom("resolve", "--summary", "shop back", clock=later)
    assert code == 0
    assert "Restored v1 released to Employees" in out
    assert "Restored v1 released to Media" in out
    assert "Incident resolved by" in out
    assert warroom(*worker, clock=later)[0] == 0
    said = [json.loads(line) for line in transcript.read_text(encoding="utf-8").splitlines()]
    texts = {
        m["text"]
        for m in said
        if m.get("purpose") == "statement" and m.get("statement") == "restored"
    }
    assert texts == {
        "Acme: the shop works again. Thank you for your patience.",
        "Acme: the shop znów działa. Dziękujemy za cierpliwość.",
    }


SHIPPED = Path(__file__).parent.parent / "playbooks"


def test_a_shipped_playbook_is_closed_with_its_approved_service_restored_message(
    tmp_path: Path,
) -> None:
    """it-outage as the team runs it: resolve is refused until the technical lead and the
    communications lead approve the closing words, then they reach staff and customers."""
    transcript = tmp_path / "t.jsonl"

    def run(*args: str, clock: str = T0) -> tuple[int, str]:
        env = {
            "WARROOM_LIBRARY": str(SHIPPED),
            "WARROOM_DB": str(tmp_path / "warroom.db"),
            "WARROOM_CLOCK": clock,
            "LOGNAME": "oncall",
            "USER": "oncall",
        }
        result = runner.invoke(app, list(args), env=env)
        return result.exit_code, " ".join((result.stdout + result.stderr).split())

    def phoned_in(statement: str, *people: str) -> None:
        for person in people:
            assert run("approve", statement, "--as", person, "--reason", "phoned in")[0] == 0

    later = "2026-11-16T10:20:00+01:00"
    facts = ("--fact", "service=our online shop", "--fact", "service_pl=sklep internetowy")
    assert run("activate", "it-outage", *facts)[0] == 0
    for person in ("tomasz-wojcik", "pawel-krawczyk", "ewa-wisniewska", "katarzyna-dabrowska"):
        assert run("ack", "--as", person)[0] == 0
    phoned_in("status-notice", "pawel-krawczyk", "tomasz-wojcik")
    assert run("run", "--until-idle", "--transcript", str(transcript), clock=later)[0] == 0

    before = event_count(tmp_path)
    code, said = run("resolve", "--summary", "shop back", clock=later)
    assert code == 2
    assert (
        "cannot resolve yet: Say the service is restored: Service restored v1 is said on "
        "resolve and is not approved (waits for tech_lead: Paweł Krawczyk, crisis_lead: "
        "Tomasz Wójcik; `warroom approve closing`)"
    ) in said
    assert event_count(tmp_path) == before

    phoned_in("closing", "pawel-krawczyk", "tomasz-wojcik")
    code, said = run("resolve", "--summary", "shop back", clock=later)
    assert code == 0
    assert "Service restored v1 released to All staff" in said
    assert "Service restored v1 released to Customers and status subscribers" in said
    assert "media skipped below its level" in said  # told only at major-outage
    assert run("run", "--until-idle", "--transcript", str(transcript), clock=later)[0] == 0
    closing = [
        m
        for m in map(json.loads, transcript.read_text(encoding="utf-8").splitlines())
        if m.get("purpose") == "statement" and m.get("statement") == "closing"
    ]
    assert {m["audience"] for m in closing} == {"employees", "customers"}
    assert any(
        m["text"].startswith("Since 10:20, our online shop has been working normally again.")
        for m in closing
    )
    assert any(
        m["text"] == "Acme Polska: usługa działa ponownie \u2013 sklep internetowy. "
        "Dziękujemy za cierpliwość."
        for m in closing
    )
