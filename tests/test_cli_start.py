"""`warroom --help` starts without the modules only some commands need, and still lists every
command. Timing lives in bench/cli.py; this guards against an eager import creeping back."""

from __future__ import annotations

import json
import subprocess
import sys

import typer

from warroom.cli import app

HEAVY = (
    "warroom.exercise",  # exercise runs, readiness, after-action reports
    "warroom.engine.decide",  # the whole engine: only commands that open an incident
    "warroom.runtime.runtime",
    "warroom.library",  # playbooks and rosters: pydantic, yaml, jinja2 behind it
    "warroom.server",
    "twilio",
    "fastapi",
    "uvicorn",
    "jinja2",
    "pydantic",
    "yaml",
    "email_validator",
    "markdown_it",  # typer's rich help: plain help instead
    "pygments",
    "rich.console",  # made when a command first prints
)

PROBE = """
import json, sys
sys.argv = ["warroom", *json.loads(sys.argv[1])]
from warroom.cli import main
try:
    main()
except SystemExit:
    pass
sys.stderr.write(json.dumps(sorted({m for m in sys.modules for h in HEAVY
                                    if m == h or m.startswith(h + ".")})))
"""


def started(*args: str) -> tuple[str, list[str]]:
    """What `warroom ARGS` prints, and which of HEAVY it imported, in a fresh process."""
    probe = PROBE.replace("HEAVY", json.dumps(HEAVY))
    done = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(list(args))],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout, json.loads(done.stderr.splitlines()[-1])


def test_help_imports_no_command_module() -> None:
    _, imported = started("--help")
    assert imported == []


def test_import_of_the_command_line_is_light() -> None:
    _, imported = started()  # no arguments: the help, as `no_args_is_help` says
    assert imported == []


def test_help_lists_every_command() -> None:
    shown, _ = started("--help")
    group = typer.main.get_group(app)
    listed = {line.split()[0] for line in shown.split("Commands:")[1].splitlines() if line.strip()}
    assert set(group.commands) == listed
    assert {"validate", "status", "exercise", "serve", "inquiry", "triggers"} <= listed


def test_a_command_help_needs_none_of_its_modules() -> None:
    shown, imported = started("exercise", "run", "--help")
    assert "Run an exercise on a virtual clock" in shown
    # typer itself builds a command's parameters with pydantic: that one is not ours
    assert [m for m in imported if m.split(".")[0] != "pydantic"] == []
