"""Claims a statement must not make unless the team says so: phrases, per language, that assert
a fact about the incident ("the incident has been contained", "no indication that customer
data has been affected").

Written into a template, such a claim goes out in every incident the playbook runs, ransomware
or not. It belongs in a fact the team sets (`kind: boolean` or `choice`, with words per
language), or under `{% if FACT %}`. Validation warns where a template asserts one of these
outside a fact's control. A list of phrases is a start, not an understanding of the text: it
catches what the shipped library was seen to bake in, and whatever a playbook author adds here.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from functools import cache

CLAIMS: dict[str, tuple[str, ...]] = {
    "en": (
        "no indication that customer data",
        "no evidence that customer data",
        "customer data has not been affected",
        "has been contained",
        "have been contained",
        "is now contained",
        "is under control",
        "emergency medical services are on site",
        "no one was injured",
        "nobody was injured",
        "nobody has been injured",
        "stepping back",
        "has stepped back",
        "there is no risk",
        "there is no danger",
        "customer data is safe",
    ),
    "pl": (
        "nic nie wskazuje",
        "brak przesłanek",
        "brak dowodów",
        "dane klientów nie zostały",
        "zostało opanowane",
        "został opanowany",
        "została opanowana",
        "zostały opanowane",
        "jest pod kontrolą",
        "służby ratunkowe są na miejscu",
        "ratownicy medyczni są na miejscu",
        "zespół ratownictwa medycznego jest na miejscu",
        "nikt nie został ranny",
        "nikt nie odniósł obrażeń",
        "odsuwa się",
        "zawiesza pełnienie",
        "nie ma zagrożenia",
        "nie ma ryzyka",
        "został ograniczony",
        "zespoły ratownictwa medycznego",
        "nie pełni swoich obowiązków",
        "dane klientów są bezpieczne",
    ),
}
"""Lowercase; matched case-insensitively, any run of white space standing for a space."""


@dataclass(frozen=True)
class Claim:
    phrase: str
    line: int
    """The line of the template it starts on (1 for a one-line template)."""


_TAG = re.compile(r"\{%-?\s*(if|elif|else|endif)\b(.*?)-?%\}", re.DOTALL)
_EXPRESSION = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@cache
def _pattern(phrase: str) -> re.Pattern[str]:
    return re.compile(r"\s+".join(map(re.escape, phrase.split())), re.IGNORECASE)


def uncontrolled_claims(source: str, language: str, facts: Collection[str]) -> list[Claim]:
    """Claims of `language` the template asserts in text no fact decides: outside every
    `{% if %}` (or `elif`/`else` of one) whose condition names a fact, and outside every
    `{{ }}` expression that names one."""
    phrases = CLAIMS.get(language, ())
    if not phrases:
        return []
    names = set(facts)
    controlled = list(_controlled(source, names))
    found: list[Claim] = []
    for phrase in phrases:
        for match in _pattern(phrase).finditer(source):
            if not any(start <= match.start() < end for start, end in controlled):
                found.append(Claim(phrase, source.count("\n", 0, match.start()) + 1))
    return sorted(found, key=lambda c: (c.line, c.phrase))


def _controlled(source: str, facts: set[str]) -> Iterator[tuple[int, int]]:
    """Spans of the template whose words are said only as a fact decides."""
    for match in _EXPRESSION.finditer(source):
        if set(_NAME.findall(match.group()[2:-2])) & facts:
            yield match.start(), match.end()
    stack: list[tuple[int, bool]] = []  # (where the block began, a fact decides it)
    for match in _TAG.finditer(source):
        word, condition = match.group(1), match.group(2)
        if word == "if":
            stack.append((match.start(), bool(set(_NAME.findall(condition)) & facts)))
        elif word == "elif" and stack:
            begun, decided = stack[-1]
            stack[-1] = (begun, decided or bool(set(_NAME.findall(condition)) & facts))
        elif word == "endif" and stack:
            begun, decided = stack.pop()
            if decided:
                yield begun, match.end()
    for begun, decided in stack:  # unclosed: a syntax error reported on its own
        if decided:
            yield begun, len(source)
