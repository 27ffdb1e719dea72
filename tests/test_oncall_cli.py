"""The on-call command line: activate and steer an incident the way an incident lead would."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from warroom.cli import app

T0 = "2026-11-16T10:00:00+01:00"
runner = CliRunner()
Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def warroom(mini: Path, tmp_path: Path) -> Run:
    """`warroom ...` on the mini library, a database in tmp, and a frozen clock."""

    def run(*args: str, clock: str = T0, login: str = "oncall") -> tuple[int, str, str]:
        env = {
            "WARROOM_LIBRARY": str(mini),
            "WARROOM_DB": str(tmp_path / "warroom.db"),
            "WARROOM_CLOCK": clock,
            # who pressed the key: `getpass.getuser()` reads these, as it does in a shell
            "LOGNAME": login,
            "USER": login,
        }
        result = runner.invoke(app, list(args), env=env)
        return result.exit_code, result.stdout, result.stderr

    return run


def counts(tmp_path: Path) -> tuple[int, int, int]:
    path = tmp_path / "warroom.db"
    if not path.exists():
        return (0, 0, 0)
    db = sqlite3.connect(path)
    try:
        return tuple(
            db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("incidents", "events", "outbox")
        )
    finally:
        db.close()


ACTIVATE = ("activate", "outage", "--fact", "company=Acme", "--fact", "service=the shop")


def test_dry_run_shows_pages_and_texts_and_writes_nothing(warroom: Run, tmp_path: Path) -> None:
    code, out, _ = warroom(*ACTIVATE, "--dry-run")
    assert code == 0
    assert "Dry run: nothing is written or sent." in out
    assert "--> sms to Anna Kowalska <+48601234567>" in out
    assert "Reply ACK" in out
    assert "the shop is unavailable" in out  # the holding statement as it would read
    assert "the shop nie działa" in out
    assert counts(tmp_path)[:2] == (0, 0)


def test_a_whole_incident_from_the_command_line(warroom: Run, tmp_path: Path) -> None:
    code, out, _ = warroom(*ACTIVATE, "--as", "anna")
    assert code == 0
    incident = "outage-20261116-1000"
    assert f"{incident} activated" in out
    assert warroom("run", "--until-idle", "--transcript", str(tmp_path / "t.jsonl"))[0] == 0
    for person in ("anna", "bartek", "dawid"):
        code, out, err = warroom("ack", "--as", person, clock="2026-11-16T10:03:00+01:00")
        assert code == 0, err
    assert "paging stops" in out
    code, out, _ = warroom(
        "approve", "holding", "--as", "dawid", clock="2026-11-16T10:05:00+01:00", login="dlis"
    )
    assert code == 0
    assert "Holding v1 released to Employees" in out
    warroom("run", "--until-idle", "--transcript", str(tmp_path / "t.jsonl"))
    code, out, _ = warroom("inquiry", "--outlet", "Radio", "--question", "When is it back?")
    assert "Media inquiry #1 from Radio: When is it back?" in out
    code, out, _ = warroom("status", clock="2026-11-16T10:06:00+01:00")
    assert code == 0
    assert "Approve holding" in out
    assert "met" in out
    assert "Media inquiries: 1 open of 1 logged" in out
    assert warroom("resolve", "--summary", "shop back")[0] == 0
    assert warroom("close")[0] == 0
    code, out, _ = warroom("timeline", incident)
    assert code == 0
    for line in (
        "Spokesperson: Bartek Nowak: first candidate for spokesperson",
        "Holding v1: approved by Dawid Lis (Legal approver)",
        "Holding v1 released to Media",
        "Incident resolved by",
        "Incident closed by",
    ):
        assert line in out
    code, out, _ = warroom("timeline", incident, "--format", "json")
    entries = json.loads(out)["timeline"]
    assert entries[0]["event"]["kind"] == "activated"
    assert entries[-1]["event"]["kind"] == "closed"
    transcript = (tmp_path / "t.jsonl").read_text().splitlines()
    keys = [json.loads(line)["key"] for line in transcript]
    assert len(keys) == len(set(keys))


def test_status_shows_a_send_step_waiting_for_approval(
    warroom: Run, edit: Callable[[str, str, str], Path], tmp_path: Path
) -> None:
    # an hourly update: each new version is approved again, by the send step itself
    edit("outage.yaml", "    due: 45m\n", "    due: 45m\n    every: 1h\n")
    worker = ("run", "--until-idle", "--transcript", str(tmp_path / "t.jsonl"))
    assert warroom(*ACTIVATE)[0] == 0
    for person in ("anna", "bartek", "dawid"):
        assert warroom("ack", "--as", person)[0] == 0
    assert warroom("approve", "holding", "--as", "dawid", login="dlis")[0] == 0
    assert warroom(*worker, clock="2026-11-16T10:11:00+01:00")[0] == 0  # media too: done
    assert warroom(*worker, clock="2026-11-16T11:15:00+01:00")[0] == 0  # the update is due

    def release_row() -> str:
        out = warroom("status", clock="2026-11-16T11:16:00+01:00")[1]
        (row,) = [line for line in out.splitlines() if line.startswith("│ Release holding")]
        return row

    assert "awaiting approval" in release_row()
    assert (
        warroom(
            "approve", "holding", "--as", "dawid", clock="2026-11-16T11:16:00+01:00", login="dlis"
        )[0]
        == 0
    )
    assert "awaiting approval" not in release_row()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("activate", "outage", "--fact", "company=Acme"), "missing required facts: service"),
        (
            (*ACTIVATE[:-1], "service=" + "x" * 31),
            "fact service: 31 characters, over max_length 30",
        ),
        (
            (*ACTIVATE, "--fact", "implicated=zofia"),
            "fact implicated: 'zofia' is not a person in the roster",
        ),
        ((*ACTIVATE, "--fact", "colour=red"), "unknown fact 'colour' for outage"),
        ((*ACTIVATE, "--level", "huge"), "unknown level 'huge' for outage"),
        (("activate", "nope"), "unknown playbook 'nope'"),
    ],
    ids=["missing-fact", "too-long", "not-a-person", "unknown-fact", "unknown-level", "unknown"],
)
def test_bad_activations_write_nothing(
    warroom: Run, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    code, _, err = warroom(*args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert counts(tmp_path) == (0, 0, 0)


def test_activating_a_playbook_that_does_not_validate(
    warroom: Run, tmp_path: Path, edit: Callable[[str, str, str], Path]
) -> None:
    edit("outage.yaml", "    ack_within: 10m", "    ack_within: 10 minutes")
    code, _, err = warroom(*ACTIVATE)
    assert code == 1
    assert "outage.yaml:60:17: steps[0].ack_within: '10 minutes' is not a duration" in err
    assert counts(tmp_path) == (0, 0, 0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ack", "--as", "celina"), "Celina Wójcik was not paged, or has already acknowledged"),
        (("ack", "--as", "zofia"), "unknown person 'zofia'"),
        (("ack",), "`warroom ack` needs --as PERSON"),
        (("ack", "--as", "anna", "--step", "nope"), "unknown step 'nope'"),
        (("ack", "--as", "anna", "--code", "0000"), "code '0000' was not sent to Anna Kowalska"),
        (("approve", "holding", "--as", "dawid"), "Holding is not waiting for approval"),
        (("approve", "memo", "--as", "dawid"), "unknown statement 'memo'"),
        (
            ("reject", "holding", "--as", "dawid", "--reason", "tone"),
            "Holding is not waiting for approval",
        ),
        (("assign", "janitor", "anna"), "unknown role 'janitor'"),
        (("assign", "legal", "zofia"), "unknown person 'zofia'"),
        (("raise", "minor"), "level 'minor' is not above the current level 'minor'"),
        (("lower", "major"), "level 'major' is not below the current level 'minor'"),
        (("fact", "colour=red"), "unknown fact 'colour' for outage"),
        (("fact", "service"), "fact 'service' must be NAME=VALUE"),
        (("status", "outage-19990101-0000"), "unknown incident 'outage-19990101-0000'"),
        (("correct", "holding", "--reason", "typo"), "Holding has not been released"),
        (("close",), "incident outage-20261116-1000 is active; cannot close"),
    ],
)
def test_bad_commands_are_refused_and_write_nothing(
    warroom: Run, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    assert warroom(*ACTIVATE)[0] == 0
    before = counts(tmp_path)
    code, _, err = warroom(*args)
    assert code == 2, err
    assert message in err
    assert counts(tmp_path) == before


def test_approval_by_someone_who_is_not_an_approver(warroom: Run, tmp_path: Path) -> None:
    warroom(*ACTIVATE)
    for person in ("anna", "bartek", "dawid"):
        warroom("ack", "--as", person)
    before = counts(tmp_path)
    code, _, err = warroom("approve", "holding", "--as", "bartek")
    assert code == 2
    assert "Bartek Nowak is not an approver of Holding (legal: Dawid Lis)" in err
    assert counts(tmp_path) == before
    assert warroom("reject", "holding", "--as", "dawid")[2].startswith(
        "warroom: a rejection needs a reason"
    )


def test_commands_need_an_incident_when_several_are_open(warroom: Run) -> None:
    warroom(*ACTIVATE)
    warroom(*ACTIVATE, clock="2026-11-16T11:00:00+01:00")
    code, _, err = warroom("note", "hello")
    assert code == 2
    assert "several incidents are open (outage-20261116-1000, outage-20261116-1100)" in err
    code, out, _ = warroom("note", "hello", "--incident", "outage-20261116-1100")
    assert code == 0
    assert "Note by" in out


def test_no_incident_open(warroom: Run, tmp_path: Path) -> None:
    code, _, err = warroom("status")
    assert code == 3  # before any activation there is no database to read
    assert "no such database" in err
    assert warroom("ack", "--as", "anna")[0] == 2  # a writing command creates it, empty
    code, _, err = warroom("status")
    assert code == 2
    assert "no open incident" in err


def test_every_command_records_the_login_that_typed_it(warroom: Run) -> None:
    assert warroom(*ACTIVATE, login="root")[0] == 0
    assert warroom("ack", "--as", "anna", login="anna")[0] == 0
    code, out, _ = warroom("ack", "--as", "bartek", login="anna")
    assert code == 0
    assert "Bartek Nowak (Spokesperson) acknowledged (entered by anna on behalf of" in out
    code, out, _ = warroom("timeline")
    assert "acknowledged (bartek, entered by anna on behalf of Bartek Nowak)" in out
    code, out, _ = warroom("timeline", "--format", "json")
    events = [e["event"] for e in json.loads(out)["timeline"]]
    assert [e["login"] for e in events] == ["root", "anna", "anna"]
    assert all("secret" not in e for e in events)


def test_approving_on_behalf_counts_only_where_the_playbook_allows_it(
    warroom: Run, tmp_path: Path, edit: Callable[[str, str, str], Path]
) -> None:
    warroom(*ACTIVATE)
    for person in ("anna", "bartek", "dawid"):
        warroom("ack", "--as", person)
    before = counts(tmp_path)
    code, _, err = warroom("approve", "holding", "--as", "dawid", "--reason", "phoned in")
    assert code == 2
    assert "approve entered by oncall on behalf of Dawid Lis does not count" in err
    assert counts(tmp_path) == before
    edit("outage.yaml", "\nroles:", "\napprovals: {on_behalf: allowed}\n\nroles:")
    warroom(*ACTIVATE, clock="2026-11-16T11:00:00+01:00", login="anna")
    inc = ("--incident", "outage-20261116-1100")
    for person in ("anna", "bartek", "dawid"):
        warroom("ack", "--as", person, *inc, clock="2026-11-16T11:01:00+01:00")
    code, _, err = warroom("approve", "holding", "--as", "dawid", *inc)
    assert code == 2
    assert 'needs --reason (e.g. --reason "phoned in")' in err
    code, out, _ = warroom("approve", "holding", "--as", "dawid", "--reason", "phoned in", *inc)
    assert code == 0, out
    assert "(entered by oncall on behalf of Dawid Lis: phoned in)" in out


def test_status_says_a_statement_needs_a_second_approver(
    warroom: Run, edit: Callable[[str, str, str], Path]
) -> None:
    edit("outage.yaml", "approve: [legal]", "approve: [legal, crisis_lead]")
    warroom(*ACTIVATE)
    code, _, err = warroom("assign", "legal", "anna")
    assert code == 2
    assert "four eyes need a second person" in err
    code, out, err = warroom("assign", "legal", "anna", "--force", "--reason", "Dawid is ill")
    assert code == 0, err
    code, out, _ = warroom("status")
    assert "Holding cannot be released until a second person is assigned" in out


def test_status_names_the_roles_a_page_step_still_waits_for(warroom: Run) -> None:
    warroom(*ACTIVATE)
    warroom("ack", "--as", "anna")
    warroom("ack", "--as", "bartek")
    code, out, _ = warroom("status")
    assert code == 0
    assert "Not done: Assemble" in out
    assert "waits for Legal approver (Dawid Lis) to acknowledge" in out


def test_printed_messages_are_said_to_be_printed_never_delivered(warroom: Run) -> None:
    """Issue 13, finding 1: with no Twilio or SMTP configured, messages are printed to the
    terminal. The worker says so loudly at start, and `status` and the timeline call them
    `printed`, never `delivered`."""
    assert warroom(*ACTIVATE, "--as", "anna")[0] == 0
    code, out, err = warroom("run", "--until-idle")
    assert code == 0, err
    said = " ".join(err.split())
    assert "NOT SENDING SMS AND EMAIL: no sms and email channel is configured" in said
    assert "--> sms to Anna Kowalska <+48601234567>" in out  # the terminal had it instead
    code, out, _ = warroom("status")
    assert code == 0
    assert "delivered" not in out
    messages = next(line for line in out.splitlines() if line.startswith("Messages:"))
    assert messages.endswith(" printed")
    assert "Not received by anyone" in out
    code, out, _ = warroom("timeline")  # deliveries counted per audience and outcome
    assert "delivered" not in out
    assert "printed" in out.split("Deliveries", 1)[1]
    code, out, _ = warroom("timeline", "--all")  # and every report, a page said one by one
    assert "Page to Anna Kowalska by sms printed, not sent: nobody received it" in " ".join(
        out.split()
    )
    assert "delivered" not in out


def test_a_transcript_is_said_to_reach_nobody(warroom: Run, tmp_path: Path) -> None:
    assert warroom(*ACTIVATE, "--as", "anna")[0] == 0
    code, _, err = warroom("run", "--until-idle", "--transcript", str(tmp_path / "t.jsonl"))
    assert code == 0, err
    assert "NOT SENDING SMS AND EMAIL" in err
    assert "printed to the transcript" in " ".join(err.split())


def test_status_and_timeline_show_a_missed_promise_and_a_stale_statement(
    warroom: Run, tmp_path: Path
) -> None:
    worker = ("run", "--until-idle", "--transcript", str(tmp_path / "t.jsonl"))
    assert warroom(*ACTIVATE)[0] == 0
    for person in ("anna", "bartek", "dawid"):
        assert warroom("ack", "--as", person)[0] == 0
    code, out, _ = warroom("approve", "holding", "--as", "dawid", login="dlis")
    assert "Holding v1 released to Employees" in out
    assert warroom(*worker, clock="2026-11-16T10:11:00+01:00")[0] == 0
    out = warroom("status", clock="2026-11-16T10:30:00+01:00")[1]
    assert "Update promised: Employees by 11:00 (in 30m)" in out
    assert warroom(*worker, clock="2026-11-16T11:10:00+01:00")[0] == 0  # nobody updated them
    out = warroom("status", clock="2026-11-16T11:10:00+01:00")[1]
    assert "Promise missed: Employees were promised an update by 11:00; none released yet" in out
    code, out, _ = warroom("fact", "service=the app", clock="2026-11-16T11:12:00+01:00")
    assert code == 0
    assert "Stale: Holding as released to Employees, Media" in out
    out = warroom("status", clock="2026-11-16T11:12:00+01:00")[1]
    assert "Stale: Holding as released to Media (changed since: service)" in out
    code, out, _ = warroom(
        "approve", "holding", "--as", "dawid", clock="2026-11-16T11:14:00+01:00", login="dlis"
    )
    assert "Holding v2 correction to Employees" in out
    warroom(*worker, clock="2026-11-16T11:14:00+01:00")
    sent = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    corrections = [m for m in sent if m.get("version") == 2 and m.get("audience") == "media"]
    assert corrections
    assert all(  # the media heard at 10:11, after the staff's ten minutes
        m["text"].startswith("SPROSTOWANIE: zastępuje nasze oświadczenie z 10:11.")
        for m in corrections
    )
    out = warroom("status", clock="2026-11-16T11:15:00+01:00")[1]
    assert "(changed since: service)" not in out
    out = warroom("timeline")[1]
    assert "Promise missed: Employees were promised an update by 11:00, and none" in out
    code, _, err = warroom("update-now", "--to", "media")
    assert code != 0
    assert "outage has no recurring update step" in err
