"""The dependency rule of ARCHITECTURE.md, checked: a pure engine and downward-only imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "warroom"
FORBIDDEN_IN_ENGINE = {
    "sqlite3",
    "twilio",
    "smtplib",
    "httpx",
    "requests",
    "socket",
    "asyncio",
    "aiosmtpd",
    "psycopg",
    "subprocess",
    "os",
    "random",
    "time",
}
# what each package may import from warroom itself (foundation modules are always allowed)
FOUNDATION = {"errors", "durations", "yamlsource", "specs"}
ALLOWED = {
    "playbook": set(),
    "roster": set(),
    "exercise": {"engine", "runtime", "store", "channels", "playbook", "roster", "library"},
    "engine": {"playbook", "roster"},
    "store": {"engine"},
    "channels": {"engine", "playbook"},  # playbook: SMS segment counting
    "runtime": {"engine", "store", "channels", "playbook", "roster", "library"},
    "triggers": {"playbook"},
}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def files(package: str) -> list[Path]:
    return sorted((PACKAGE / package).rglob("*.py"))


@pytest.mark.parametrize(
    "path", files("engine") + files("triggers"), ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_engine_and_triggers_are_pure(path: Path) -> None:
    roots = {name.split(".")[0] for name in imports(path)}
    assert not roots & FORBIDDEN_IN_ENGINE, f"{path.name} imports {roots & FORBIDDEN_IN_ENGINE}"
    source = path.read_text(encoding="utf-8")
    for clock_read in ("datetime.now(", ".utcnow(", "date.today(", "time.time("):
        assert clock_read not in source, f"{path.name} reads the clock: {clock_read}"


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_only_point_down(package: str) -> None:
    for path in files(package):
        for name in imports(path):
            parts = name.split(".")
            if parts[0] != "warroom" or len(parts) < 2:
                continue
            target = parts[1]
            allowed = {package, *FOUNDATION, *ALLOWED[package]}
            assert target in allowed, f"{path.relative_to(PACKAGE)} imports {name}"
