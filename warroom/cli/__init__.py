"""The `warroom` command line. Thin: parse options, call the library or the runtime, print.

User mistakes come out as one readable message and a non-zero exit, never a traceback:
`error_boundary` turns every `WarroomError` into that (1: a file is invalid, 2: a command or
value is wrong, 3: the database cannot be used). An `EngineBug` is not the user's mistake: it
says so, and exits 70.

A command starts in about the time of typer and rich alone (`bench/cli.py`): every command
imports the engine, the library, the exercise or the server inside its body, so `warroom
--help` pays for none of them. The command modules do without `from __future__ import
annotations`: typer reads every command's signature at each start, and evaluating them from
strings cost more than all of typer's own work. Help is click's plain help (typer's rich help
imports markdown and pygments on each `--help`).
"""

from __future__ import annotations

import functools
import getpass
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

import typer
from rich.markup import escape

from warroom.errors import EngineBug, InvalidInput, StoreError, UsageError, WarroomError

if TYPE_CHECKING:
    from rich.console import Console

    from warroom.channels import Channel
    from warroom.library import Library
    from warroom.runtime.runtime import Runtime

app = typer.Typer(
    name="warroom",
    help="Crisis communication playbooks: validate and brief them, run incidents from them.",
    no_args_is_help=True,
    rich_markup_mode=None,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class _Terminal:
    """A rich `Console`, made when a command first prints: `--help` never prints through it,
    and importing rich.console costs about as much as importing typer."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    def _made(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self._made(), name)

    # `with console:` (rich's Live, under Progress) looks these up on the type, never through
    # __getattr__: without them a progress bar fails as it closes
    def __enter__(self) -> Console:
        return self._made().__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._made().__exit__(*exc)


out = cast("Console", _Terminal(highlight=False, soft_wrap=True))
err = cast("Console", _Terminal(stderr=True, highlight=False, soft_wrap=True))

F = TypeVar("F", bound=Callable[..., Any])

DB_ENV = "WARROOM_DB"
CLOCK_ENV = "WARROOM_CLOCK"
DEFAULT_DB = Path("warroom.db")
EARLIEST, LATEST = 1970, 2199


def error_boundary(command: F) -> F:
    """Print a user's mistake as `warroom: ...` and exit non-zero, writing nothing."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except InvalidInput as exc:
            for diagnostic in exc.diagnostics:
                err.print(escape(str(diagnostic)))
            raise typer.Exit(1) from None
        except StoreError as exc:
            err.print(f"warroom: {escape(str(exc))}")
            raise typer.Exit(3) from None
        except EngineBug as exc:
            err.print(f"warroom: a bug in warroom, nothing was written; please report: {exc}")
            raise typer.Exit(70) from None
        except WarroomError as exc:
            err.print(f"warroom: {escape(str(exc))}")
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


LibraryOption = Annotated[
    Path | None,
    typer.Option(
        "--library",
        envvar="WARROOM_LIBRARY",
        help="Folder of playbooks [default: ./playbooks].",
        show_default=False,
    ),
]
RosterOption = Annotated[
    Path | None,
    typer.Option(
        "--roster",
        envvar="WARROOM_ROSTER",
        help="Roster file [default: LIBRARY/roster.yaml].",
        show_default=False,
    ),
]
DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar=DB_ENV,
        help="Incident database: FILE, sqlite:///FILE or postgresql://... [default: warroom.db].",
        show_default=False,
    ),
]


def open_library(library: Path | None, roster: Path | None) -> Library:
    from warroom.library import default_library, default_roster, load_library

    folder = library or default_library()
    if not folder.is_dir():
        raise UsageError(
            f"library folder {str(folder)!r} not found; run from the project folder, "
            "or give --library / set WARROOM_LIBRARY"
        )
    roster_path = roster or default_roster(folder)
    return load_library([folder], roster_path if roster_path.exists() else None)


def parse_time(value: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"{option} {value!r} is not a time (expected ISO 8601, e.g. 2026-11-23T09:00+01:00)"
        ) from None
    if moment.tzinfo is None:
        raise UsageError(f"{option} {value!r} needs a UTC offset, e.g. 2026-11-23T09:00+01:00")
    if not EARLIEST <= moment.year <= LATEST:
        # incidents run for weeks past the moment given: far-off years overflow the calendar
        raise UsageError(
            f"{option} {value!r} is out of range (expected a time between {EARLIEST} and {LATEST})"
        )
    return moment


def parse_facts(values: list[str], option: str = "--fact") -> dict[str, str]:
    from warroom.playbook.facts import clean_text

    facts = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"{option} {item!r} must be NAME=VALUE, e.g. company='Acme Polska'")
        facts[name.strip()] = clean_text(value)  # the same rule as facts from an alert
    return facts


def login() -> str:
    """The operating-system login running this command (`LOGNAME`, `USER`, then the password
    database, as `getpass` reads them): recorded on every event beside the person acted for."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def actor(given: str | None) -> str:
    """Who is acting, for the timeline: `--as`, else the login name."""
    if given:
        return given
    user = login()
    return f"cli:{user}" if user else "cli"


def stop_on_signals(*also: threading.Event) -> threading.Event:
    """Set when SIGINT or SIGTERM arrives: a worker finishes its pass and stops cleanly.
    `also` are set too: the events an idle worker waits on, so that it stops at once."""
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()
        for event in also:
            event.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    return stop


@contextmanager
def opened_runtime(
    db: str | None, channels: Mapping[str, Channel] | None = None, *, reading: bool = False
) -> Iterator[Runtime]:
    """A runtime on the incident database, on the system clock or on `WARROOM_CLOCK`.

    `WARROOM_CLOCK=2026-11-23T09:30+01:00` runs a command as if it were that moment: for
    drills and tests on a frozen clock, never for a live incident. `reading=True` is for
    commands that only look: the database must exist, and may be read-only.
    """
    from warroom.runtime.clock import SystemClock, VirtualClock
    from warroom.runtime.runtime import Runtime
    from warroom.store import open_store

    frozen = os.environ.get(CLOCK_ENV)
    clock = VirtualClock(parse_time(frozen, CLOCK_ENV)) if frozen else SystemClock()
    store = open_store(db_location(db), reading=reading)
    runtime = Runtime(store, clock, channels)
    try:
        yield runtime
    finally:
        runtime.close()
        store.close()


def db_location(db: str | None) -> str:
    """What `--db` or `WARROOM_DB` names, or the default file."""
    return db or os.environ.get(DB_ENV) or str(DEFAULT_DB)


def main() -> None:
    for position, argument in enumerate(sys.argv[1:], start=1):
        if not argument.isprintable() and _undecodable(argument):
            shown = os.fsencode(argument).decode("utf-8", "backslashreplace")
            err.print(
                f"warroom: argument {position} is not valid UTF-8 text ({escape(shown)}); "
                "check the terminal's encoding"
            )
            raise SystemExit(2)
    app()


def _undecodable(argument: str) -> bool:
    """Python carries bytes that are not UTF-8 as lone surrogates (PEP 383)."""
    return any("\udc80" <= char <= "\udcff" for char in argument)


from warroom.cli import exercise, incident, library, media, server, triggers  # noqa: E402

__all__ = ["app", "exercise", "incident", "library", "main", "media", "server", "triggers"]
