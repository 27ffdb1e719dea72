"""`warroom contacts load`: the customers affected, known only during the incident.

An audience declared `contacts: at_release` has nobody in it until a list is loaded for the
incident. A release to it waits, `status` says so, and the list is checked like the roster's
CSV files: a bad one is refused whole, with its file, line and column, and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from support.cli import Run, command_line, event_count

LATER = "2026-11-16T10:20:00+01:00"
ACTIVATE = ("activate", "outage", "--fact", "company=Acme", "--fact", "service=the shop")
GOOD = (
    "name,email,phone,language\n"
    "Jan Kot,jan@example.com,+48 605 111 222,pl\n"
    "Ann Lee,ann@example.com,,en\n"
)


@pytest.fixture
def warroom(mini: Path, tmp_path: Path, edit: Callable[[str, str, str], Path]) -> Run:
    """The mini library with a `customers-affected` audience loaded at release, after staff
    and the press; a database in tmp and a frozen clock."""
    edit(
        "outage.yaml",
        "  media: {groups: [press], channels: [email], language: pl}\n",
        "  media: {groups: [press], channels: [email], language: pl}\n"
        "  customers-affected: {title: Customers affected, contacts: at_release,"
        " channels: [email, sms], reply_to: klienci@acme.example}\n",
    )
    edit(
        "outage.yaml",
        "    to: [employees, media]",
        "    to: [employees, media, customers-affected]",
    )

    return command_line(mini, tmp_path)


def released_to_staff_and_press(warroom: Run, tmp_path: Path) -> None:
    worker = ("run", "--until-idle", "--transcript", str(tmp_path / "t.jsonl"))
    assert warroom(*ACTIVATE)[0] == 0
    for person in ("anna", "bartek", "dawid"):
        assert warroom("ack", "--as", person)[0] == 0
    assert warroom("approve", "holding", "--as", "dawid", login="dlis")[0] == 0
    assert warroom(*worker, clock=LATER)[0] == 0


def csv(tmp_path: Path, text: str, name: str = "affected.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_release_waits_for_the_list_then_reaches_it(warroom: Run, tmp_path: Path) -> None:
    released_to_staff_and_press(warroom, tmp_path)

    def release_row() -> str:
        out = warroom("status", clock=LATER)[1]
        (row,) = [line for line in out.splitlines() if line.startswith("│ Release holding")]
        return row

    assert "waits for the contacts of Customers" in release_row()
    code, out, _ = warroom("timeline", "outage-20261116-1000")
    assert "Release holding: waits for the contacts of Customers affected" in out

    path = csv(tmp_path, GOOD)
    code, out, err = warroom("contacts", "load", "customers-affected", str(path), clock=LATER)

    assert code == 0, err
    assert (
        f"Contacts of Customers affected loaded from {path} by cli:oncall: 2 contacts, 2 reachable "
        "(2 by e-mail, 1 by SMS)"
    ) in out
    assert "Holding v1 released to Customers affected: 3 messages in en, pl" in out
    assert "done" in release_row()


def test_a_second_list_replaces_the_first_for_later_releases(warroom: Run, tmp_path: Path) -> None:
    assert warroom(*ACTIVATE)[0] == 0
    first = csv(tmp_path, GOOD)
    assert warroom("contacts", "load", "customers-affected", str(first))[0] == 0
    second = csv(tmp_path, "name,email\nOla Lis,ola@example.com\n", "more.csv")
    code, out, _ = warroom("contacts", "load", "customers-affected", str(second))
    assert code == 0
    assert "1 contacts, 1 reachable (1 by e-mail, 0 by SMS); replaces the 2 loaded before" in out


@pytest.mark.parametrize(
    ("audience", "text", "message"),
    [
        pytest.param(
            "customers",
            GOOD,
            "unknown audience 'customers' for outage (audiences loaded during an incident: "
            "customers-affected)",
            id="unknown-audience",
        ),
        pytest.param(
            "media",
            GOOD,
            "audience 'media' (Media) takes its contacts from the roster; only an audience "
            "declared `contacts: at_release` is loaded during an incident (customers-affected)",
            id="not-at-release",
        ),
        pytest.param(
            "customers-affected",
            "name,mail\nJan Kot,jan@example.com\n",
            "{file}:1:1: unknown column 'mail' (expected header name,email,phone,language,outlet)",
            id="bad-header",
        ),
        pytest.param(
            "customers-affected",
            "name,email,phone\nJan Kot,jan@example.com\n",
            "{file}:2:1: 2 cells, expected 3",
            id="short-row",
        ),
        pytest.param(
            "customers-affected",
            "name,email,phone\nJan Kot,jan@example.com,+48 605 111 222\nAnn Lee,,605 111\n",
            "{file}:3:3: phone: '605 111' is not a phone number in international format",
            id="bad-phone",
        ),
        pytest.param(
            "customers-affected",
            "name,email\nJan Kot,jan.example.com\n",
            "{file}:2:2: email: 'jan.example.com' is not a valid e-mail address",
            id="bad-e-mail",
        ),
        pytest.param(
            "customers-affected",
            "name,email,phone\nJan Kot,,\n",
            "{file}:2:1: contact 'Jan Kot' needs a phone or an e-mail",
            id="unreachable-row",
        ),
        pytest.param(
            "customers-affected",
            "name,email,phone\n",
            "{file}:1:1: no contacts in the file",
            id="no-rows",
        ),
    ],
)
def test_a_bad_list_is_refused_whole_and_writes_nothing(
    warroom: Run, tmp_path: Path, audience: str, text: str, message: str
) -> None:
    assert warroom(*ACTIVATE)[0] == 0
    before = event_count(tmp_path)
    path = csv(tmp_path, text)

    code, out, err = warroom("contacts", "load", audience, str(path))

    assert code != 0
    assert message.format(file=path) in out + err
    assert "Traceback" not in out + err
    assert event_count(tmp_path) == before


def test_a_missing_file_is_named(warroom: Run, tmp_path: Path) -> None:
    assert warroom(*ACTIVATE)[0] == 0
    before = event_count(tmp_path)
    code, out, err = warroom("contacts", "load", "customers-affected", str(tmp_path / "nope.csv"))
    assert code != 0
    assert f"{tmp_path}/nope.csv: cannot read: No such file or directory" in out + err
    assert event_count(tmp_path) == before


# -- in a drill: an inject loads the list -------------------------------------------------------


def drill_with_contacts(mini: Path, edit: Callable[[str, str, str], Path], text: str) -> None:
    (mini / "contacts" / "affected.csv").write_text(text, encoding="utf-8")
    edit(
        "exercises/outage-drill.yaml",
        "  - {at: 40m, raise_level: major}\n",
        "  - {at: 40m, raise_level: major}\n"
        "  - {at: 2h, contacts: {audience: customers-affected, csv: ../contacts/affected.csv}}\n",
    )


def test_a_drill_loads_the_list_with_an_inject(
    warroom: Run, mini: Path, edit: Callable[[str, str, str], Path], tmp_path: Path
) -> None:
    drill_with_contacts(mini, edit, GOOD)
    edit("exercises/outage-drill.yaml", "participants: [anna]", "participants: []")
    edit(
        "exercises/outage-drill.yaml",
        "  bartek: {silent: true}",
        "  bartek: {ack_after: 2m}\n  dawid: {ack_after: 2m, approve_after: 5m}",
    )

    code, _, err = warroom("exercise", "run", "outage-drill", "--out", str(tmp_path / "r"))

    assert code == 0, err
    report = (tmp_path / "r" / "outage-drill.md").read_text(encoding="utf-8")
    assert "Release holding: waits for the contacts of Customers affected" in report
    assert (
        "Contacts of Customers affected loaded from ../contacts/affected.csv by inject:3: "
        "2 contacts" in report
    )
    assert "Holding v1 released to Customers affected" in report


@pytest.mark.parametrize(
    ("text", "audience", "message"),
    [
        pytest.param(
            "name,email\nJan Kot,jan.example.com\n",
            "customers-affected",
            "{mini}/contacts/affected.csv:2:2: email: 'jan.example.com' is not a valid e-mail",
            id="bad-row",
        ),
        pytest.param(
            GOOD,
            "media",
            "{mini}/exercises/outage-drill.yaml:14:35: injects[2].contacts.audience: audience "
            "'media' takes its contacts from the roster; only an audience declared `contacts: "
            "at_release` is loaded during an incident",
            id="roster-audience",
        ),
    ],
)
def test_validate_checks_a_drill_s_list(
    warroom: Run,
    mini: Path,
    edit: Callable[[str, str, str], Path],
    text: str,
    audience: str,
    message: str,
) -> None:
    drill_with_contacts(mini, edit, text)
    edit("exercises/outage-drill.yaml", "audience: customers-affected", f"audience: {audience}")

    code, out, _ = warroom("validate", str(mini))

    assert code == 1
    assert message.format(mini=mini) in out
