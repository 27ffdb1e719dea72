"""The shipped drills' reports, pinned byte for byte.

The fixtures were written by the engine before it was split by concern; a refactoring that
changes what an exercise decides, or when, shows up here as a changed report. The event log
of the breach drill is kept too (gzipped SQLite, with timers in their stored string form), so
a log written by an older warroom must replay to the very same report.

Reply codes are keyed by a per-incident secret since issue 12 (a drill's from its `seed`), so
the drills' codes changed once; an old log has no secret and replays with the codes it had,
to the report pinned in `before-secrets/`.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from typer.testing import CliRunner

from warroom.cli import app

LIBRARY = Path(__file__).parent.parent / "playbooks"
FIXTURES = Path(__file__).parent / "fixtures" / "reports"
runner = CliRunner()


def same_reports(name: str, out: Path, pinned_in: Path = FIXTURES) -> None:
    for kind in ("md", "html", "json"):
        written = (out / f"{name}.{kind}").read_bytes()
        pinned = (pinned_in / f"{name}.{kind}").read_bytes()
        assert written == pinned, f"{name}.{kind} differs from tests/fixtures/reports"


@pytest.mark.parametrize("name", ["breach-drill-q4", "fire-drill"])
def test_a_drill_reports_exactly_what_it_reported_before(tmp_path: Path, name: str) -> None:
    result = runner.invoke(
        app,
        ["exercise", "run", name, "--library", str(LIBRARY), "--out", str(tmp_path), "--quiet"],
    )
    assert result.exit_code == 0, result.stderr
    same_reports(name, tmp_path)


def test_an_old_event_log_replays_to_the_same_report(tmp_path: Path) -> None:
    database = tmp_path / "old.db"
    database.write_bytes(gzip.decompress((FIXTURES / "breach-drill-q4.db.gz").read_bytes()))
    result = runner.invoke(
        app,
        ["exercise", "replay", "data-breach-20261123-0900", "--out", str(tmp_path)],
        env={"WARROOM_DB": str(database)},
    )
    assert result.exit_code == 0, result.stderr
    same_reports("breach-drill-q4", tmp_path, FIXTURES / "before-secrets")
