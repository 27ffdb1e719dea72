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
