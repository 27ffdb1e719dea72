"""One closed exception tree: every error warroom defines derives from `WarroomError`, and a
user's mistake and a bug in warroom sit on different branches, so the CLI can tell them apart."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import warroom
from warroom import errors


def defined_errors() -> list[type[BaseException]]:
    found: list[type[BaseException]] = []
    for module in pkgutil.walk_packages(warroom.__path__, "warroom."):
        if module.name.endswith("__main__"):
            continue
        for _, value in inspect.getmembers(importlib.import_module(module.name), inspect.isclass):
            if issubclass(value, BaseException) and value.__module__.startswith("warroom"):
                found.append(value)
    return found


def test_every_error_warroom_defines_is_a_warroom_error() -> None:
    found = defined_errors()
    assert errors.TemplateProblem in found
    assert [e.__name__ for e in found if not issubclass(e, errors.WarroomError)] == []


def test_mistakes_and_bugs_are_different_branches() -> None:
    mistakes = [e for e in defined_errors() if issubclass(e, errors.UserError)]
    assert errors.CommandRejected in mistakes
    assert errors.TemplateProblem in mistakes
    assert not any(issubclass(e, errors.EngineBug) for e in mistakes)
    assert issubclass(errors.TransitionError, errors.EngineBug)
    assert not issubclass(errors.StoreError, errors.UserError | errors.EngineBug)
