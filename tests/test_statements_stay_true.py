"""The shipped drills end to end: what their audiences read is true when it reaches them.

Times that depend on the release are filled in by it ("as of" is never older than the
release), a promised update comes in time or the report says it did not, and a fact that
changes after a release reaches the audiences who heard the old one.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from warroom.cli import app
from warroom.durations import parse_duration

LIBRARY = Path(__file__).parent.parent / "playbooks"
runner = CliRunner()
ZONE = ZoneInfo("Europe/Warsaw")
AS_OF = re.compile(r"(?:Update as of|Stan na(?: godz\.)?) (?:(\d{4}-\d\d-\d\d) )?(\d\d:\d\d)")


def report(tmp_path: Path, name: str) -> dict[str, Any]:
    result = runner.invoke(
        app,
        ["exercise", "run", name, "--library", str(LIBRARY), "--out", str(tmp_path), "--quiet"],
    )
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads((tmp_path / f"{name}.json").read_text())
    return data


def released_at(data: dict[str, Any], row: dict[str, str]) -> datetime:
    start = datetime.fromisoformat(data["start"])
    offset = row["released"].removeprefix("+")
    return start + (parse_duration(offset) if offset != "0m" else timedelta(0))


@pytest.mark.parametrize("name", ["fire-drill", "breach-drill-q4"])
def test_no_released_text_is_older_than_its_release(tmp_path: Path, name: str) -> None:
    data = report(tmp_path, name)
    stamped = 0
    for row in data["statements"]:
        for day, time in AS_OF.findall(row["text"]):
            stamped += 1
            local = released_at(data, row).astimezone(ZONE)
            assert time == f"{local:%H:%M}", row
            assert not day or day == f"{local:%Y-%m-%d}", row
    assert "\ue000" not in json.dumps(data)
    assert stamped or name == "breach-drill-q4"  # the fire drill's updates carry "as of"


def test_the_fire_drills_neighbours_are_told_to_keep_windows_closed_in_time(
    tmp_path: Path,
) -> None:
    data = report(tmp_path, "fire-drill")
    start = datetime.fromisoformat(data["start"])
    changed = start + timedelta(minutes=35)  # the inject that tells residents to close windows
    told = [
        released_at(data, row)
        for row in data["statements"]
        if row["audience"] == "Neighbours of the plant" and "zamknąć okna" in row["text"]
    ]
    assert told, "the neighbours never heard to keep windows closed"
    first = min(told)
    missed = [m for m in data["promises_missed"] if m["audience"] == "Neighbours of the plant"]
    assert first - changed <= timedelta(hours=1) or missed
    corrected = [
        row
        for row in data["statements"]
        if row["audience"] == "Neighbours of the plant" and "(correction)" in row["statement"]
    ]
    assert corrected[0]["text"].startswith("SPROSTOWANIE: zastępuje nasze oświadczenie z 13:44.")
    stale = [s for s in data["stale"] if s["statement"] == "Information for neighbours v1"]
    assert stale[0]["audiences"] == "Neighbours of the plant"
    assert "keep windows closed" in stale[0]["changed"]
