"""Reading the roster file and its CSV contact lists into a `Roster`."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from warroom.errors import Diagnostic, InvalidInput
from warroom.roster.model import Away, Contact, Override, Person, Roster, Rota
from warroom.roster.schema import ContactSpec, CsvGroupSpec, PersonSpec, RosterSpec
from warroom.specs import Findings, can_text, validate_source
from warroom.yamlsource import Source, load_yaml, read_text

CSV_COLUMNS = ("name", "email", "phone", "language", "outlet")
MAX_CSV_BYTES = 20 * 1024 * 1024


def load_roster(path: Path, *, display: str | None = None) -> tuple[Roster, list[Diagnostic]]:
    """Load and check a roster file (and the CSV files it names); raises `InvalidInput`."""
    return compile_roster(load_yaml(path, display=display), path.parent)


CsvReader = Callable[[str], str]
"""Given a group's `csv:` name, its text. Activation records what it read into the snapshot."""


def folder_reader(folder: Path, shown_folder: Path) -> CsvReader:
    def read(name: str) -> str:
        return read_text(folder / name, display=str(shown_folder / name), limit=MAX_CSV_BYTES)

    return read


def compile_roster(
    source: Source, folder: Path, read: CsvReader | None = None
) -> tuple[Roster, list[Diagnostic]]:
    """Check a parsed roster; CSV group files are read relative to `folder` unless `read`."""
    read = read or folder_reader(folder, Path(source.file).parent)
    spec = validate_source(RosterSpec, source)
    found = Findings(source)
    people: dict[str, Person] = {}
    for i, person in enumerate(spec.people):
        if person.id in people:
            found.error(("people", i, "id"), f"duplicate person id {person.id!r}")
        people.setdefault(person.id, _person(person))
        if not (person.phone or person.email):
            found.warn(("people", i), f"{person.name} has no phone or e-mail: nobody can page them")
    groups: dict[str, tuple[Contact, ...]] = {}
    for gid, group in spec.groups.items():
        if isinstance(group, CsvGroupSpec):
            shown = str(Path(source.file).parent / group.csv)
            try:
                groups[gid] = _csv_group(read(group.csv), shown)
            except InvalidInput as exc:
                found.items.extend(exc.diagnostics)
            continue
        members: list[Contact] = []
        for i, member in enumerate(group):
            if isinstance(member, ContactSpec):
                members.append(_contact(member))
            elif found.ref("person", member, people, ("groups", gid, i)):
                members.append(people[member].contact())
        groups[gid] = tuple(members)
    rotas = {}
    for rid, rota in spec.oncall.items():
        for i, member in enumerate(rota.members):
            found.ref("person", member, people, ("oncall", rid, "members", i))
        for i, override in enumerate(rota.overrides):
            found.ref("person", override.person, people, ("oncall", rid, "overrides", i, "person"))
        rotas[rid] = Rota(
            id=rid,
            every=rota.every,
            handoff=rota.handoff,
            members=tuple(rota.members),
            timezone=rota.timezone,
            overrides=tuple(Override(o.start, o.end, o.person) for o in rota.overrides),
        )
    found.raise_if_errors()
    return Roster(people=people, groups=groups, rotas=rotas, file=source.file), found.items


def _contact(spec: ContactSpec) -> Contact:
    textable = spec.phone is not None and can_text(spec.phone)
    return Contact(spec.name, spec.phone, spec.email, spec.language, spec.outlet, None, textable)


def _person(spec: PersonSpec) -> Person:
    zone = ZoneInfo(spec.timezone)

    def moment(value: date | datetime, *, end: bool) -> datetime:
        if isinstance(value, datetime):
            return value
        day = value + timedelta(days=1) if end else value  # a day is away until it is over
        return datetime.combine(day, time(0), tzinfo=zone)

    return Person(
        id=spec.id,
        name=spec.name,
        title=spec.title,
        phone=spec.phone,
        email=spec.email,
        languages=tuple(spec.languages),
        tags=tuple(spec.tags),
        timezone=spec.timezone,
        away=tuple(
            Away(moment(a.start, end=False), moment(a.end, end=True), a.note) for a in spec.away
        ),
        textable=spec.phone is not None and can_text(spec.phone),
        logins=tuple(spec.logins),
    )


def read_contact_list(path: Path, *, display: str | None = None) -> tuple[Contact, ...]:
    """A list of contacts given during an incident (`warroom contacts load`), held to the
    rules of the roster's CSV groups; an empty list is refused, since it would release to
    nobody while looking loaded."""
    shown = display or str(path)
    contacts = _csv_group(read_text(path, display=shown, limit=MAX_CSV_BYTES), shown)
    if not contacts:
        expected = ",".join(CSV_COLUMNS)
        raise InvalidInput(
            [
                Diagnostic(
                    shown,
                    1,
                    1,
                    "",
                    f"no contacts in the file (expected header {expected} and a row per contact)",
                )
            ]
        )
    return contacts


def _csv_group(text: str, shown: str) -> tuple[Contact, ...]:
    """Contacts from a CSV with a header row; each bad cell is reported at its line and column."""
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    problems: list[Diagnostic] = []
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown or "name" not in header:
        expected = ",".join(CSV_COLUMNS)
        what = f"unknown column {unknown[0]!r}" if unknown else "no `name` column"
        raise InvalidInput([Diagnostic(shown, 1, 1, "", f"{what} (expected header {expected})")])
    contacts: list[Contact] = []
    seen: set[tuple[str | None, str | None]] = set()
    start = 1
    for row in reader:
        line, start = start + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(
                Diagnostic(shown, line, 1, "", f"{len(row)} cells, expected {len(header)}")
            )
            continue
        data = {h: cell.strip() for h, cell in zip(header, row, strict=True) if cell.strip()}
        source = Source(
            shown, data, values={(h,): (line, header.index(h) + 1) for h in data} | {(): (line, 1)}
        )
        try:
            contact = _contact(validate_source(ContactSpec, source))
        except InvalidInput as exc:
            problems.extend(exc.diagnostics)
            continue
        key = (contact.phone, contact.email)
        if key not in seen:  # the same person twice in a list gets one message
            seen.add(key)
            contacts.append(contact)
    if problems:
        raise InvalidInput(problems)
    return tuple(contacts)
