"""Suggesting a Q&A entry for a journalist's question: a plain word-overlap score, in the
journalist's language. Plain on purpose: a press officer can see why an entry was suggested,
and a suggestion is only ever shown, never sent, until a person chooses it."""

from __future__ import annotations

import re

from warroom.playbook.model import Playbook

WORD = re.compile(r"\w+")

_EN = """a an and are as at be been by can do does for from has have how i in is it its of on
or our the their there this to was we were what when where which who why will with you your any"""
_PL = """a albo ale co czy do dla i jak jaki jakie jest już ktoś która które który na nie o od
po przez się są to w we z za że"""
STOP_WORDS = {"en": frozenset(_EN.split()), "pl": frozenset(_PL.split())}
"""Words that say nothing about the subject of a question."""

THRESHOLD = 0.5
"""At least half the entry's words must be in the question for it to be suggested."""


def words(text: str, language: str) -> frozenset[str]:
    stop = STOP_WORDS.get(language, frozenset())
    return frozenset(w for w in WORD.findall(text.casefold()) if w not in stop)


def score(question: str, entry: str, language: str) -> float:
    """The share of the entry question's words that the journalist's question uses."""
    wanted = words(entry, language)
    if not wanted:
        return 0.0
    return len(wanted & words(question, language)) / len(wanted)


def suggest(book: Playbook, question: str, language: str) -> str:
    """The best-matching Q&A entry's statement id (`qa:<id>`), or "" when none matches."""
    best, best_score = "", 0.0
    for entry in book.media_desk.qa.values():
        text = entry.question.get(language, "")
        value = score(question, text, language)
        if value > best_score:
            best, best_score = entry.statement, value
    return best if best_score >= THRESHOLD else ""
