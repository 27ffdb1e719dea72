"""Shared test helpers: a copy of the mini library that each test may break in its own way."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    """A writable copy of tests/fixtures/mini: one playbook, a roster, a CSV, an exercise."""
    target = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", target)
    return target


@pytest.fixture
def edit(mini: Path) -> Callable[[str, str, str], Path]:
    """Replace one exact piece of a mini-library file (which must be present) and return it."""

    def apply(name: str, old: str, new: str) -> Path:
        path = mini / name
        text = path.read_text(encoding="utf-8")
        assert old in text, f"fixture {name} no longer contains {old!r}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        return path

    return apply


@pytest.fixture(autouse=True)
def login_of_the_legal_approver(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands run as Dawid's login (`dlis` in the mini roster) unless a test says otherwise:
    `getpass.getuser()` reads `LOGNAME` first, as it does in any shell, so his `approve` is his
    own. Tests of approvals on behalf set another login the same way."""
    monkeypatch.setenv("LOGNAME", "dlis")
    monkeypatch.setenv("USER", "dlis")
