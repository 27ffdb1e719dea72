"""The one exception tree of warroom, and the diagnostics that user-facing errors carry.

Every error a user can cause must say where (file, line, column, field path, or the command
and value) and what was expected, so that at 3 a.m. nobody has to read a traceback. The CLI
catches `WarroomError` and prints it; anything else escaping is a bug in warroom.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One finding about one place in one file; `file:line:column: path: message`."""

    file: str
    line: int
    column: int
    path: str
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        what = f"{self.path}: {self.message}" if self.path else self.message
        tag = "" if self.severity is Severity.ERROR else "warning: "
        return f"{where}: {tag}{what}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
            "severity": self.severity.value,
        }


class WarroomError(Exception):
    """Root of every error warroom raises on purpose.

    Three branches: `UserError` (a person gave warroom something it cannot use; the CLI
    prints it and exits 1 or 2), `StoreError` (the database cannot be used; exit 3) and
    `EngineBug` (warroom broke its own rules; a bug to report, never a refused command).
    """


class UserError(WarroomError):
    """Something a person gave warroom (a file, a command, a value) that it cannot use."""


class InvalidInput(UserError):
    """One or more diagnostics about a user's file; all of a file's errors travel together."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]


class TemplateProblem(UserError):
    """A template that does not compile or render; the compile step turns it into a diagnostic."""


class UsageError(UserError):
    """A command was given a value it cannot use (unknown playbook, bad option value, ...)."""


class NotFound(UsageError):
    """A name given on the command line or in a file does not exist."""


class CommandRejected(UsageError):
    """A command that makes no sense for the incident as it stands (ack by someone not paged,
    approval of a released statement, ...). Nothing is written."""


class PayloadError(UsageError):
    """A webhook body warroom cannot read as an alert of its source; nothing was acted on."""


class MalformedPayload(PayloadError):
    """The body is not JSON at all (an HTTP route answers 400)."""


class PayloadRejected(PayloadError):
    """Valid JSON of the wrong shape (an HTTP route answers 422); the message names the field
    and what was expected, e.g. `version: '3' is not allowed (expected '4')`."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        """The first field at fault, as a dotted path (`alerts[0].labels`), when known."""


class StoreError(WarroomError):
    """The incident database cannot be used: locked, read-only, corrupt or from a newer warroom."""


class UnreadableEvent(WarroomError):
    """A recorded event that this warroom cannot read back (an unknown kind or field); the
    store reports it as a `StoreError` naming the database."""


class EngineBug(WarroomError):
    """warroom broke one of its own rules. Not a user's mistake: report it."""


class TransitionError(EngineBug):
    """A lifecycle was asked to move in a way its declared transitions do not allow; handlers
    refuse such commands with `CommandRejected` before they move anything."""


def masked_url(url: str) -> str:
    """A URL as it may be shown in a message: a password in it (`https://user:pw@proxy`,
    `postgresql://warroom:pw@db/warroom`) becomes `***`."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url
