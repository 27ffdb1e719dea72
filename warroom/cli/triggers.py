"""`warroom triggers test`: what a webhook payload would do, before Alertmanager is wired.

The dry run users ask for: which trigger takes each alert, the facts it would fill (and which
a person would have to fill in), the key repeats would attach under, the level. It runs the
matching code the HTTP routes run, and activates nothing.
"""

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from warroom.cli import LibraryOption, RosterOption, app, error_boundary, open_library, out
from warroom.durations import format_duration
from warroom.errors import PayloadError, UsageError

if TYPE_CHECKING:
    from warroom.playbook.model import Playbook, Trigger
    from warroom.triggers import Alert, TriggerMatch

triggers_app = typer.Typer(help="Automated triggers: try a webhook payload against a playbook.")
app.add_typer(triggers_app, name="triggers")


@triggers_app.command("test")
@error_boundary
def triggers_test(
    playbook: Annotated[str, typer.Argument(help="Playbook id, e.g. it-outage.")],
    source: Annotated[str, typer.Option("--source", help="alertmanager, pagerduty or generic.")],
    payload: Annotated[
        Path, typer.Option("--payload", help="The JSON body the sender would POST.")
    ],
    output: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    library: LibraryOption = None,
    roster: RosterOption = None,
) -> None:
    """Show which trigger takes each alert of a payload, its facts, key and level; activates
    nothing."""
    from warroom.triggers import SOURCES, match_alert

    if source not in SOURCES:
        raise UsageError(f"--source {source!r} is not one of: {', '.join(SOURCES)}")
    if output not in ("text", "json"):
        raise UsageError(f"--format {output!r} is not one of: text, json")
    alerts = _read(payload, source)
    lib = open_library(library, roster)
    book = lib.playbook(playbook)
    everyone = [p for p, _ in lib.playbooks.values()]
    people = set(lib.roster.people) if lib.roster is not None else None
    results = []
    for alert in alerts:
        here = match_alert([book], alert, people=people)
        first = match_alert(everyone, alert, people=people)
        results.append((alert, here, first if first and first.playbook != book.id else None))
    if output == "json":
        out.print_json(json.dumps([_as_json(n, *r) for n, r in enumerate(results, 1)]))
        return
    has = [t for t in book.triggers if t.source == source]
    out.print(
        f"[bold]{escape(book.id)}[/bold]: {len(alerts)} {source} "
        f"{'alert' if len(alerts) == 1 else 'alerts'} in {escape(str(payload))}; "
        f"{len(has)} of its {len(book.triggers)} triggers are for {source}; nothing is activated"
    )
    for number, (alert, here, first) in enumerate(results, 1):
        out.print()
        _print_alert(book, number, len(alerts), alert, here, first)


def _read(path: Path, source: str) -> "list[Alert]":
    from warroom.triggers import alerts_from, decode_json

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"payload file {str(path)!r} not found") from None
    except OSError as exc:
        raise UsageError(f"cannot read payload file {str(path)!r}: {exc.strerror}") from None
    try:
        return alerts_from(source, decode_json(raw))
    except PayloadError as exc:
        raise type(exc)(f"{path}: {exc}") from None


def _shown(value: str | None) -> str:
    """Payload text for a terminal: no control characters, no rich markup."""
    from warroom.playbook.facts import clean_text

    return escape(clean_text(value or ""))


def _describe(index: int, trigger: "Trigger") -> str:
    match = ", ".join(f"{k}={v}" for k, v in trigger.match.items()) or "every alert"
    return f"triggers[{index}] ({trigger.source}: {match})"


def _print_alert(
    book: "Playbook",
    number: int,
    total: int,
    alert: "Alert",
    found: "TriggerMatch | None",
    first: "TriggerMatch | None",
) -> None:
    from warroom.triggers.matching import mismatch

    head = f"alert {number} of {total}: {alert.status}"
    if alert.fingerprint:
        head += f", fingerprint {_shown(alert.fingerprint)}"
    if alert.event_type:
        head += f", {_shown(alert.event_type)}"
    out.print(f"[bold]{head}[/bold]")
    if found is None:
        out.print(f"  [yellow]no trigger of {book.id} takes this alert[/yellow]")
        for index, trigger in enumerate(book.triggers):
            why = mismatch(trigger, alert)
            out.print(f"    {escape(_describe(index, trigger))}: {escape(why or '')}")
        if not book.triggers:
            out.print("    the playbook has no triggers")
    else:
        _print_match(found)
    if first is not None:
        which = f"{first.playbook} triggers[{first.trigger_index}]"
        out.print(
            f"  [yellow]note: in the library {which} takes this alert first (playbooks are "
            f"tried in id order), so sent live it would start {first.playbook}[/yellow]"
            if found is not None
            else f"  [yellow]note: in the library {which} takes this alert[/yellow]"
        )


def _print_match(found: "TriggerMatch") -> None:
    out.print(f"  matches  {escape(_describe(found.trigger_index, found.trigger))}")
    out.print(f"  level    {found.level}")
    out.print(f"  key      {_shown(str(found.key))}")
    out.print(f"  cooldown {format_duration(found.cooldown)}")
    flags = {f.name: f for f in found.flagged}
    names = list(dict.fromkeys([*found.trigger.facts]))
    if not names:
        out.print("  facts    none from the alert")
    for i, name in enumerate(names):
        label = "  facts    " if i == 0 else "           "
        value = found.facts.get(name)
        shown = f"{name} = {_shown(value)}" if value is not None else f"{name} not set"
        flag = flags.get(name)
        note = f"  [red]flagged: {escape(flag.reason)}[/red]" if flag else ""
        out.print(f"{label}{shown}{note}")
    cooldown = format_duration(found.cooldown)
    if found.unset_required and not found.resolved:
        unset = ", ".join(found.unset_required)
        out.print(f"  would    [red]not start: required {unset} left unset; only logged[/red]")
    elif found.resolved:
        out.print(
            "  would    record 'resolved at source' on the open incident with this key; "
            "it never resolves or closes anything"
        )
    else:
        out.print(
            f"  would    start {found.playbook} at level {found.level}; if an incident with "
            f"this key is open, attach to it instead; if one closed less than {cooldown} ago, "
            "do nothing"
        )


def _as_json(
    number: int, alert: "Alert", found: "TriggerMatch | None", first: "TriggerMatch | None"
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "alert": number,
        "status": alert.status,
        "fingerprint": alert.fingerprint,
        "match": None,
        "library_first": (
            {"playbook": first.playbook, "trigger": first.trigger_index} if first else None
        ),
    }
    if found is not None:
        result["match"] = {
            "playbook": found.playbook,
            "trigger": found.trigger_index,
            "level": found.level,
            "key": {
                "source": found.key.source,
                "playbook": found.key.playbook,
                "dedupe": found.key.dedupe,
            },
            "cooldown": format_duration(found.cooldown),
            "facts": dict(found.facts),
            "flagged": [
                {"fact": f.name, "reason": f.reason, "missing": list(f.missing)}
                for f in found.flagged
            ],
            "unset_required": list(found.unset_required),
            "would": (
                "record resolved at source"
                if found.resolved
                else "log only"
                if found.unset_required
                else "activate"
            ),
        }
    return result
