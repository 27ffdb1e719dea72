"""`warroom ...` run in-process on a test's library and database, as a person at a terminal."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from warroom.cli import app

Run = Callable[..., tuple[int, str, str]]
T0 = "2026-11-16T10:00:00+01:00"
runner = CliRunner()


def command_line(library: Path, tmp_path: Path) -> Run:
    """Commands on `library` with a database in `tmp_path` and a frozen clock; `login` is
    who pressed the key (`getpass.getuser()` reads LOGNAME and USER, as in a shell)."""

    def run(*args: str, clock: str = T0, login: str = "oncall") -> tuple[int, str, str]:
        env = {
            "WARROOM_LIBRARY": str(library),
            "WARROOM_DB": str(tmp_path / "warroom.db"),
            "WARROOM_CLOCK": clock,
            "LOGNAME": login,
            "USER": login,
        }
        result = runner.invoke(app, list(args), env=env)
        return result.exit_code, result.stdout, result.stderr

    return run


def event_count(tmp_path: Path) -> int:
    """Events in the test's database: a refused command must leave it unchanged."""
    db = sqlite3.connect(tmp_path / "warroom.db")
    try:
        return int(db.execute("SELECT COUNT(*) FROM events").fetchone()[0])
    finally:
        db.close()
