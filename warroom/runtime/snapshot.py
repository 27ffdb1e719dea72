"""What an incident runs on: the exact playbook and roster texts in force at activation.

Stored with the incident and compiled again whenever it is loaded, so editing the YAML never
changes a running incident, and the database shows exactly which words were agreed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from warroom.errors import InvalidInput
from warroom.library import check_against_roster
from warroom.playbook.compile import compile_playbook
from warroom.playbook.model import Playbook
from warroom.roster.load import compile_roster, folder_reader
from warroom.roster.model import Roster
from warroom.yamlsource import load_yaml, parse_yaml


@lru_cache(maxsize=32)
def _compiled(
    playbook_file: str,
    playbook_text: str,
    roster_file: str,
    roster_text: str,
    csv: tuple[tuple[str, str], ...],
) -> tuple[Playbook, Roster]:
    """Compiling costs tens of milliseconds (phone numbers, e-mails, templates); a worker with
    hundreds of incidents from one playbook pays it once. The results are frozen data."""
    playbook, _ = compile_playbook(parse_yaml(playbook_text, playbook_file))
    roster, _ = compile_roster(
        parse_yaml(roster_text, roster_file), Path(roster_file).parent, dict(csv).__getitem__
    )
    return playbook, roster


_CAPTURED: dict[
    tuple[str, str, str, str, tuple[tuple[str, str], ...]], tuple[Playbook, Roster]
] = {}
"""What `capture` compiled, for the activation that follows it to use as is."""


@lru_cache(maxsize=32)
def _compiled_playbook(playbook_file: str, playbook_text: str) -> Playbook:
    return compile_playbook(parse_yaml(playbook_text, playbook_file))[0]


@dataclass(frozen=True)
class Snapshot:
    playbook_file: str
    playbook_text: str
    roster_file: str
    roster_text: str
    csv: dict[str, str] = field(default_factory=dict)
    scenario_file: str = ""
    scenario_text: str = ""
    """For an exercise: the scenario, so its report can be produced again from the log."""

    @classmethod
    def capture(cls, playbook_path: Path, roster_path: Path) -> Snapshot:
        """Read the files now; refuse them unless they validate together."""
        playbook_source = load_yaml(playbook_path)
        roster_source = load_yaml(roster_path)
        read = folder_reader(roster_path.parent, roster_path.parent)
        texts: dict[str, str] = {}

        def recording(name: str) -> str:
            texts[name] = read(name)
            return texts[name]

        roster, _ = compile_roster(roster_source, roster_path.parent, recording)
        snapshot = cls(
            str(playbook_path),
            playbook_path.read_text(encoding="utf-8"),
            str(roster_path),
            roster_path.read_text(encoding="utf-8"),
            texts,
        )
        playbook = snapshot.compile_playbook()
        # validated once: activation compiles the same texts, and finds this result
        _CAPTURED[snapshot._key()] = (playbook, roster)
        while len(_CAPTURED) > 8:
            del _CAPTURED[next(iter(_CAPTURED))]
        problems = [
            d
            for d in check_against_roster(playbook, playbook_source, roster)
            if d.severity == "error"
        ]
        if problems:
            raise InvalidInput(problems)
        return snapshot

    def _key(self) -> tuple[str, str, str, str, tuple[tuple[str, str], ...]]:
        return (
            self.playbook_file,
            self.playbook_text,
            self.roster_file,
            self.roster_text,
            tuple(sorted(self.csv.items())),
        )

    def compile(self) -> tuple[Playbook, Roster]:
        """The compiled playbook and roster; incidents sharing these texts share the result."""
        key = self._key()
        return _CAPTURED.get(key) or _compiled(*key)

    def compile_playbook(self) -> Playbook:
        """The playbook alone: what reading an incident's log needs (its time zone, its
        titles), without validating every contact of a 10,000-row list again."""
        return _compiled_playbook(self.playbook_file, self.playbook_text)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "playbook": {"file": self.playbook_file, "text": self.playbook_text},
            "roster": {"file": self.roster_file, "text": self.roster_text, "csv": self.csv},
        }
        if self.scenario_text:
            data["scenario"] = {"file": self.scenario_file, "text": self.scenario_text}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Snapshot:
        scenario = data.get("scenario") or {}
        return cls(
            data["playbook"]["file"],
            data["playbook"]["text"],
            data["roster"]["file"],
            data["roster"]["text"],
            dict(data["roster"]["csv"]),
            scenario.get("file", ""),
            scenario.get("text", ""),
        )
