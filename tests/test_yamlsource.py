"""The YAML reader: positions for every value, and refusals of what PyYAML lets through."""

from __future__ import annotations

from pathlib import Path

import pytest

from warroom.errors import InvalidInput
from warroom.yamlsource import MAX_NODES, load_yaml, parse_yaml


def messages(exc: pytest.ExceptionInfo[InvalidInput]) -> list[str]:
    return [str(d) for d in exc.value.diagnostics]


def test_positions_are_recorded_for_keys_and_values() -> None:
    source = parse_yaml("a:\n  b: [1, 2]\n  c: x\n", "f.yaml")
    assert source.data == {"a": {"b": [1, 2], "c": "x"}}
    assert source.position(("a", "b", 1)) == (2, 10)
    assert source.position(("a", "c"), at_key=True) == (3, 3)
    # a missing key is reported at its nearest written ancestor
    assert source.position(("a", "missing")) == (2, 3)


def test_yes_no_on_off_stay_text() -> None:
    # Norwegian's language code is `no`; YAML 1.1 would read it as false.
    source = parse_yaml("languages: [no, on, yes]\nflag: true\n", "f.yaml")
    assert source.data == {"languages": ["no", "on", "yes"], "flag": True}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\na: 2\n", "f.yaml:2:1: a: duplicate key 'a' (first written at line 1)"),
        ("a:\n\tb: 1\n", "f.yaml:2:1: YAML syntax: a tab character; YAML indents with spaces only"),
        ('a: "open\nb: 2\n', "f.yaml:3:1: YAML syntax: found unexpected end of stream"),
        ("a: [1, 2\n", "f.yaml:2:1: YAML syntax: did not find expected ',' or ']'"),
        ("? [a]\n: 1\n", "f.yaml:1:3: a key must be plain text, not a list or mapping"),
        # found by tests/test_library_properties.py: the reader's error had no line at all
        ("a: 1\nb: x\x07y\n", "f.yaml:2:5: YAML syntax: character U+0007 is not allowed"),
    ],
    ids=["duplicate-key", "tab", "unclosed-quote", "unclosed-list", "complex-key", "control"],
)
def test_malformed_yaml_is_reported_with_position(text: str, expected: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_yaml(text, "f.yaml")
    assert any(m.startswith(expected) for m in messages(exc)), messages(exc)


def test_all_duplicate_keys_of_a_file_are_reported_together() -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_yaml("a: 1\na: 2\nb:\n  c: 1\n  c: 2\n", "f.yaml")
    assert [(d.line, d.path) for d in exc.value.diagnostics] == [(2, "a"), (5, "b.c")]


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    with pytest.raises(InvalidInput) as exc:
        parse_yaml("\n".join(lines) + "\n", "bomb.yaml")
    # 10**9 values if expanded; the walk stops at the budget instead of hanging
    assert f"more than {MAX_NODES} values (an alias bomb?)" in messages(exc)[0]


def test_self_referencing_alias_is_refused() -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_yaml("a: &x [*x]\n", "loop.yaml")
    assert "refused" in messages(exc)[0]


def test_merge_keys_work() -> None:
    source = parse_yaml("base: &b {x: 1}\nuse: {<<: *b, y: 2}\n", "f.yaml")
    assert source.data["use"] == {"x": 1, "y": 2}


def test_non_utf8_bytes_are_located(tmp_path: Path) -> None:
    path = tmp_path / "latin2.yaml"
    path.write_bytes(b"title: Zak" + b"\xb3ady\n")  # ISO-8859-2 'ł'
    with pytest.raises(InvalidInput) as exc:
        load_yaml(path)
    assert messages(exc) == [f"{path}:1:11: byte 0xb3 is not UTF-8; save the file as UTF-8"]


@pytest.mark.parametrize("content", ["", "\n\n", "# only a comment\n"])
def test_empty_file_is_an_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text(content)
    with pytest.raises(InvalidInput) as exc:
        load_yaml(path)
    assert messages(exc) == [f"{path}:1:1: file is empty; expected a YAML mapping"]


def test_a_10_mb_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text("a: " + "x" * 10_000_000 + "\n")
    with pytest.raises(InvalidInput) as exc:
        load_yaml(path)
    assert "file is 10.0 MB; warroom reads files of at most 2 MiB" in messages(exc)[0]


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\n")
    assert load_yaml(path).data == {"a": 1}
