"""Property tests (hypothesis, issue 13): whatever a playbook file holds, random YAML or a
shipped playbook mutated at random, loading it never raises (no traceback), and every
finding names the file and a line in it.

`load_library` is what `warroom validate`, `show`, `activate` and `serve` all read the
library with; a few generated files also go through `warroom validate` itself."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from warroom.cli import app
from warroom.errors import Diagnostic
from warroom.library import load_library

LIBRARY = Path(__file__).parent.parent / "playbooks"
SHIPPED = sorted(p.name for p in LIBRARY.glob("*.yaml") if p.name != "roster.yaml")
ORIGINALS = {name: yaml.safe_load((LIBRARY / name).read_text(encoding="utf-8")) for name in SHIPPED}
KEYS = sorted(
    {
        *ORIGINALS["data-breach.yaml"],
        "playbook", "exercise", "people", "groups", "oncall",
        "candidates", "from_level", "page", "send", "to", "approve", "escalate", "after",
        "raise_level", "confirms_level", "internal", "exclude", "text", "sms", "every", "due",
    }
)  # fmt: skip
"""Keys the loader knows, so that random mappings reach past the first "unknown key"."""

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["10m", "-5m", "99999999d", "{{ x }}", "{% for i in range(9) %}", "tag:ceo"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=10)), inner, max_size=5),
    ),
    max_leaves=25,
)


@contextmanager
def library_with(name: str, text: str) -> Iterator[Path]:
    """A folder with the roster (and its contact lists) and one playbook file as given."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        shutil.copy(LIBRARY / "roster.yaml", root / "roster.yaml")
        shutil.copytree(LIBRARY / "contacts", root / "contacts")
        (root / name).write_text(text, encoding="utf-8", errors="surrogatepass")
        yield root


def assert_located(diagnostics: list[Diagnostic], file: Path) -> None:
    """Every finding about the file names it and a line in it."""
    lines = max(1, len(file.read_bytes().splitlines()) + 1)
    for found in diagnostics:
        if found.file == str(file):
            assert 1 <= found.line <= lines, str(found)
            assert found.message.strip(), str(found)


def load(root: Path, name: str) -> list[Diagnostic]:
    library = load_library([root / name], root / "roster.yaml")  # must not raise
    assert_located(library.diagnostics, root / name)
    return library.diagnostics


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values)
def test_random_yaml_never_raises_and_every_finding_has_a_line(data: Any) -> None:
    text = yaml.safe_dump(data, allow_unicode=True)
    with library_with("random.yaml", text) as root:
        load(root, "random.yaml")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_random_text_never_raises_and_every_finding_has_a_line(text: str) -> None:
    with library_with("random.yaml", text) as root:
        load(root, "random.yaml")


# -- mutations of the shipped playbooks -----------------------------------------------------------


def paths(data: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in the document: mapping keys and list positions, depth first."""
    found = [at]
    if isinstance(data, dict):
        for key, value in data.items():
            found += paths(value, (*at, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += paths(value, (*at, index))
    return found


def mutated(data: Any, where: tuple[Any, ...], how: str, value: Any) -> Any:
    """A copy of `data` with one change at `where`: deleted, replaced, duplicated, renamed."""
    if not where:
        return value if how == "replace" else data
    head, rest = where[0], where[1:]
    if isinstance(data, dict):
        copy = dict(data)
        if not rest and how == "delete":
            del copy[head]
        elif not rest and how == "rename":
            copy[f"{head}x" if isinstance(head, str) else "x"] = copy.pop(head)
        else:
            copy[head] = mutated(data[head], rest, how, value)
        return copy
    copy_list = list(data)
    if not rest and how == "delete":
        del copy_list[head]
    elif not rest and how in ("duplicate", "rename"):
        copy_list.insert(head, copy_list[head])
    else:
        copy_list[head] = mutated(data[head], rest, how, value)
    return copy_list


@st.composite
def mutations(draw: st.DrawFn) -> tuple[str, Any]:
    name = draw(st.sampled_from(SHIPPED))
    data: Any = ORIGINALS[name]
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        where = draw(st.sampled_from(paths(data)))
        how = draw(st.sampled_from(["delete", "replace", "replace", "duplicate", "rename"]))
        data = mutated(data, where, how, draw(values))
    return name, data


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations())
def test_a_mutated_shipped_playbook_never_raises_and_every_finding_has_a_line(
    mutation: tuple[str, Any],
) -> None:
    name, data = mutation
    with library_with(name, yaml.safe_dump(data, allow_unicode=True, sort_keys=False)) as root:
        load(root, name)


@st.composite
def text_edits(draw: st.DrawFn) -> tuple[str, str]:
    """The shipped text with a line deleted, a span cut out, or characters typed in."""
    name = draw(st.sampled_from(SHIPPED))
    text = (LIBRARY / name).read_text(encoding="utf-8")
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        at = draw(st.integers(min_value=0, max_value=len(text)))
        cut = draw(st.integers(min_value=0, max_value=80))
        typed = draw(
            st.one_of(
                st.just(""), st.text(max_size=12), st.sampled_from(["\t", ": ", "- ", "{{", "\n  "])
            )
        )
        text = text[:at] + typed + text[at + cut :]
    return name, text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text_edits())
def test_a_shipped_playbook_edited_as_text_never_raises_and_every_finding_has_a_line(
    edit: tuple[str, str],
) -> None:
    name, text = edit
    with library_with(name, text) as root:
        load(root, name)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations())
def test_validate_answers_a_mutated_playbook_without_a_traceback(
    mutation: tuple[str, Any],
) -> None:
    name, data = mutation
    with library_with(name, yaml.safe_dump(data, allow_unicode=True, sort_keys=False)) as root:
        result = CliRunner().invoke(
            app, ["validate", str(root / name), "--roster", str(root / "roster.yaml")]
        )
        assert result.exit_code in (0, 1, 2), result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert "Traceback" not in result.output
