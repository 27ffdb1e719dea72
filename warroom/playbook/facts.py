"""What a fact's value must be, wherever it comes from: the command line or an alert's payload.

A fact ends up in statements read by the press, in SMS, in the timeline and in `status` on a
terminal. One set of rules, in one place, so that a value from Alertmanager is held to the
same standard as one an on-call lead typed: its declared kind, its `max_length`, and no
control characters (an ESC sequence in a label must not repaint an operator's terminal, a
newline must not forge a timeline line).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from urllib.parse import urlsplit

from warroom.playbook.model import Fact

_SPACES = {"\t", "\n", "\r", "\v", "\f", "\x85", "\u2028", "\u2029"}


def clean_text(value: str) -> str:
    """`value` without control characters; line breaks and tabs become spaces, ends trimmed.

    Only the Unicode "Cc" category (and the line/paragraph separators) is touched: joiners
    and directional marks are part of how some languages are written. A lone surrogate (JSON
    can carry `"\\ud800"`) becomes U+FFFD, since neither SQLite nor SMTP can store it.
    """
    if value.isprintable():
        return value.strip()
    kept = []
    for char in value:
        if char in _SPACES:
            kept.append(" ")
        elif unicodedata.category(char) == "Cs":
            kept.append("\ufffd")  # a lone surrogate from a JSON escape: no encoding takes it
        elif unicodedata.category(char) != "Cc":
            kept.append(char)
    return "".join(kept).strip()


def fact_problem(fact: Fact, value: str, people: Collection[str] | None = None) -> str | None:
    """Why `value` cannot be `fact`, in the words the CLI shows after `fact NAME: `; None if fine.

    `people` are the roster's person ids, to check a `person` fact; without a roster at hand
    (a dry run of a trigger) that check is skipped, not failed.
    """
    if fact.required and not value.strip():
        return "is required and cannot be empty"
    if fact.kind == "boolean" and value not in BOOLEAN:
        return f"{value!r} is not true or false"
    if fact.kind == "choice" and value and value not in fact.choices:
        return f"{value!r} is not one of its choices (expected one of: {', '.join(fact.choices)})"
    if fact.max_length is not None and len(value) > fact.max_length:
        return f"{len(value)} characters, over max_length {fact.max_length}"
    if value and fact.kind in _KINDS and not _KINDS[fact.kind][0](value):
        return f"{value!r} is not {_KINDS[fact.kind][1]}"
    if fact.kind == "person" and value and people is not None and value not in people:
        return f"{value!r} is not a person in the roster (expected a person id)"
    if fact.kind == "number" and value and not value.replace(".", "", 1).isdigit():
        return f"{value!r} is not a number"
    return None


def _phone(value: str) -> bool:
    digits = sum(c.isdigit() for c in value)
    return bool(_PHONE.fullmatch(value)) and 6 <= digits <= 15


def _email(value: str) -> bool:
    return bool(_EMAIL.fullmatch(value))


def _url(value: str) -> bool:
    """An absolute http(s) address with a host: what a reader can open from a statement."""
    if any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


_PHONE = re.compile(r"\+?[0-9][0-9 ()./-]*[0-9]")
_EMAIL = re.compile(r"[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;.]+")
_KINDS = {
    "phone": (_phone, "a phone number (expected e.g. +48 22 123 45 67)"),
    "email": (_email, "an e-mail address (expected e.g. press@example.com)"),
    "url": (_url, "a web address (expected e.g. https://example.com/faq)"),
}
"""Declared kinds a value is held to; `person` and `number` are checked above."""


BOOLEAN = ("true", "false")
"""How a `boolean` fact's value is written (`warroom fact contained=true`)."""


def normal_value(fact: Fact, value: str) -> str:
    """`True`, `TRUE` and `true` are one answer to a yes-or-no fact."""
    return value.lower() if fact.kind == "boolean" and value.lower() in BOOLEAN else value


STAND_IN = "(not in alert"
"""How every value an alert could not fill begins (`(not in alert: annotations.summary)`)."""


def to_fill_in(facts: dict[str, str]) -> dict[str, str]:
    """The facts still standing in for what an alert lacked: a person must set them before
    the words go out, so `status` and the read API point at them."""
    return {name: value for name, value in facts.items() if value.startswith(STAND_IN)}
