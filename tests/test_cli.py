"""The command line as an on-call user meets it: exit codes, messages, briefs, diagrams."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from warroom.cli import app

runner = CliRunner()


def warroom(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_validate_clean_library(mini: Path) -> None:
    code, out, _ = warroom("validate", str(mini))
    assert code == 0
    assert "ok: 1 playbooks, 1 exercises, roster (3 files: 0 errors, 1 warnings)" in out


def test_validate_reports_errors_and_fails(mini: Path, edit: Callable[..., Path]) -> None:
    edit("outage.yaml", "    ack_within: 10m", "    ack_within: 10 minutes")
    code, out, _ = warroom("validate", str(mini))
    assert code == 1
    assert f"{mini}/outage.yaml:60:17: steps[0].ack_within: '10 minutes' is not a duration" in out
    assert "invalid:" in out


def test_warnings_fail_only_with_strict(mini: Path) -> None:
    assert warroom("validate", str(mini))[0] == 0
    code, out, _ = warroom("validate", str(mini), "--strict")
    assert code == 1
    assert "warning: roles.spokesperson: Anna Kowalska is first choice for" in out


def test_validate_json(mini: Path, edit: Callable[..., Path]) -> None:
    edit("outage.yaml", "version: 2", "version: two")
    code, out, _ = warroom("validate", str(mini), "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False
    assert report["errors"] == 1
    error = next(d for d in report["diagnostics"] if d["severity"] == "error")
    assert error == {
        "file": f"{mini}/outage.yaml",
        "line": 3,
        "column": 10,
        "path": "version",
        "message": "expected a whole number, got text 'two'",
        "severity": "error",
    }


def test_validate_a_single_file_without_roster(mini: Path) -> None:
    code, out, _ = warroom("validate", str(mini / "outage.yaml"))
    assert code == 0
    assert "1 playbooks, 0 exercises, no roster" in out


def test_validate_folder_without_playbooks(tmp_path: Path) -> None:
    code, out, _ = warroom("validate", str(tmp_path))
    assert code == 1
    assert f"{tmp_path}: no playbooks here (expected *.yaml files)" in out


def test_validate_missing_path(tmp_path: Path) -> None:
    code, out, _ = warroom("validate", str(tmp_path / "nope"))
    assert code == 1
    assert f"{tmp_path}/nope: no such file or folder" in out


def test_validate_rejects_unknown_format(mini: Path) -> None:
    code, _, err = warroom("validate", str(mini), "--format", "xml")
    assert code == 2
    assert "--format 'xml' is not one of: text, json" in err


def test_list(mini: Path) -> None:
    code, out, _ = warroom("list", "--library", str(mini))
    assert code == 0
    assert "outage" in out
    assert "Service outage" in out
    assert "minor < major" in out


def test_show_names_who_fills_each_role_with_backups(mini: Path) -> None:
    code, out, _ = warroom(
        "show", "outage", "--library", str(mini), "--at", "2026-11-24T10:00+01:00"
    )
    assert code == 0, out
    assert "at 2026-11-24 10:00 CET, level minor" in out
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") > 3}
    assert "Ewa Wiśniewska" in rows["Spokesperson"]  # the press-rota override that day
    assert "Anna Kowalska" in rows["Spokesperson"]  # ...with Anna as backup
    assert "Dawid Lis" in rows["Legal approver"]


def test_show_uses_library_from_environment(mini: Path) -> None:
    code, out, _ = warroom(
        "show", "outage", "--at", "2026-11-24T10:00+01:00", env={"WARROOM_LIBRARY": str(mini)}
    )
    assert code == 0
    assert "Service outage" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "nope"], "warroom: unknown playbook 'nope' (the library has: outage)"),
        (
            ["show", "outage", "--at", "2026-11-24T10:00"],
            "warroom: --at '2026-11-24T10:00' needs a UTC offset, e.g. 2026-11-23T09:00+01:00",
        ),
        (["show", "outage", "--at", "monday"], "warroom: --at 'monday' is not a time"),
        (
            ["show", "outage", "--level", "huge"],
            "warroom: unknown level 'huge' for outage (expected one of: minor, major)",
        ),
        (["show", "outage", "--fact", "oops"], "warroom: --fact 'oops' must be NAME=VALUE"),
        (
            ["show", "outage", "--fact", "colour=red"],
            "warroom: unknown fact 'colour' for outage (expected one of: company, implicated,",
        ),
    ],
    ids=["unknown-playbook", "naive-time", "bad-time", "unknown-level", "bad-fact", "unknown-fact"],
)
def test_show_bad_arguments(mini: Path, args: list[str], message: str) -> None:
    code, _, err = warroom(*args, "--library", str(mini))
    assert code == 2
    assert err.startswith(message), err


def test_show_a_broken_playbook_prints_its_errors(mini: Path, edit: Callable[..., Path]) -> None:
    edit("outage.yaml", "version: 2", "version: two")
    code, _, err = warroom("show", "outage", "--library", str(mini))
    assert code == 1
    assert "outage.yaml:3:10: version: expected a whole number" in err


def test_missing_library_folder(tmp_path: Path) -> None:
    code, _, err = warroom("list", "--library", str(tmp_path / "nowhere"))
    assert code == 2
    assert "library folder" in err
    assert "give --library / set WARROOM_LIBRARY" in err


def test_diagram_is_mermaid(mini: Path) -> None:
    code, out, _ = warroom("show", "outage", "--diagram", "--library", str(mini))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "flowchart TD"
    assert "  assemble --> approve_holding" in lines
    assert "  approve_holding --> release_holding" in lines
    assert "  assemble -. not acknowledged .-> assemble_esc0" in lines
    assert any(line.startswith("  assemble_esc1{{") and "propose major" in line for line in lines)


def test_installed_command_never_shows_a_traceback(mini: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "warroom.cli", "show", "nope", "--library", str(mini)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "unknown playbook 'nope'" in result.stderr


def test_validation_warns_when_four_eyes_cannot_be_kept(
    mini: Path, edit: Callable[..., Path]
) -> None:
    edit("outage.yaml", "approve: [legal]", "approve: [legal, crisis_lead]")
    assert "four eyes" not in warroom("validate", str(mini))[1]  # Dawid or Ewa; Anna or Bartek
    edit("outage.yaml", "candidates: [tag:counsel]", "candidates: [dawid]")
    edit("outage.yaml", "candidates: [tag:comms-director, tag:deputy]", "candidates: [dawid]")
    code, out, _ = warroom("validate", str(mini))
    assert code == 0
    assert (
        "warning: statements.holding.approve: at level 'minor' no 2 different people in the "
        "roster can hold legal, crisis_lead: 'Holding' cannot be released until a second person "
        "is assigned (four eyes)"
    ) in " ".join(out.split())
