"""Reading YAML the way a validator needs it: every value remembers where it was written.

PyYAML's constructor throws positions away, so we compose the node graph and build plain data
ourselves, recording `path -> (line, column)` for every key and value. That walk is also where
we refuse what PyYAML silently accepts or cannot bound: duplicate keys, alias bombs, absurd
nesting, non-UTF-8 bytes, and YAML 1.1's `no`/`on` booleans (Norwegian is a language code).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from warroom.errors import Diagnostic, InvalidInput, Severity

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_NODES = 200_000
MAX_DEPTH = 64

PathKey = tuple[str | int, ...]


_BASE: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml if built


class _Loader(_BASE):  # type: ignore[valid-type,misc]
    """SafeLoader with YAML 1.2 booleans: only true/false, never yes/no/on/off."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def format_path(path: Iterable[str | int]) -> str:
    """`('steps', 2, 'ack_within')` -> `steps[2].ack_within`, the spelling used in messages."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass
class Source:
    """Plain data from one YAML file plus where each piece of it was written."""

    file: str
    data: Any
    values: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    keys: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: PathKey, *, at_key: bool = False) -> tuple[int, int]:
        """The position of `path`, or of its nearest written ancestor (a missing key's mapping)."""
        if at_key and path in self.keys:
            return self.keys[path]
        for end in range(len(path), -1, -1):
            found = self.values.get(path[:end])
            if found is not None:
                return found
        return (1, 1)

    def diagnostic(
        self,
        path: PathKey,
        message: str,
        *,
        at_key: bool = False,
        severity: Severity = Severity.ERROR,
    ) -> Diagnostic:
        line, column = self.position(path, at_key=at_key)
        return Diagnostic(self.file, line, column, format_path(path), message, severity)


class _Builder:
    def __init__(self, source: Source, loader: _Loader) -> None:
        self.source = source
        self.loader = loader
        self.visited = 0
        self.errors: list[Diagnostic] = []

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.visited += 1
        if self.visited > MAX_NODES:
            raise InvalidInput(
                [
                    self.source.diagnostic(
                        path,
                        f"document expands to more than {MAX_NODES} values "
                        "(an alias bomb?); refused",
                    )
                ]
            )
        if len(path) > MAX_DEPTH:
            raise InvalidInput(
                [self.source.diagnostic(path, f"nested deeper than {MAX_DEPTH} levels; refused")]
            )
        self.source.values.setdefault(path, _pos(node.start_mark))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self.loader.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[str, Any]:
        self.loader.flatten_mapping(node)  # resolves `<<: *anchor` merge keys
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.errors.append(
                    Diagnostic(
                        self.source.file,
                        *_pos(key_node.start_mark),
                        format_path(path),
                        "a key must be plain text, not a list or mapping",
                    )
                )
                continue
            key = self.loader.construct_object(key_node)
            key = key if isinstance(key, str) else str(key)
            child = (*path, key)
            if key in out:
                first_line = self.source.keys[child][0]
                self.errors.append(
                    Diagnostic(
                        self.source.file,
                        *_pos(key_node.start_mark),
                        format_path(child),
                        f"duplicate key {key!r} (first written at line {first_line})",
                    )
                )
                continue
            self.source.keys[child] = _pos(key_node.start_mark)
            out[key] = self.build(value_node, child)
        return out


def _pos(mark: yaml.Mark) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1)


def _decode(raw: bytes, file: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise InvalidInput(
            [
                Diagnostic(
                    file,
                    line,
                    column,
                    "",
                    f"byte 0x{raw[exc.start]:02x} is not UTF-8; save the file as UTF-8",
                )
            ]
        ) from None


def _syntax_error(exc: yaml.YAMLError, file: str, text: str) -> Diagnostic:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        line, column = _pos(exc.problem_mark)
        problem = exc.problem or "invalid YAML"
        lines = text.splitlines()
        at = lines[line - 1][column - 1 : column] if 0 < line <= len(lines) else ""
        if at == "\t" or "'\\t'" in problem:
            problem = "a tab character; YAML indents with spaces only"
        elif exc.context:
            problem = f"{problem} ({exc.context}"
            if exc.context_mark is not None:
                problem += f" at line {exc.context_mark.line + 1}"
            problem += ")"
        return Diagnostic(file, line, column, "", f"YAML syntax: {problem}")
    if isinstance(exc, yaml.reader.ReaderError):
        # a control character: the reader knows its offset, not a line; count it out, so
        # that this error too names file and line
        position = min(max(exc.position, 0), len(text))
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
        character = exc.character if isinstance(exc.character, str) else chr(exc.character)
        return Diagnostic(
            file,
            line,
            column,
            "",
            f"YAML syntax: character U+{ord(character):04X} is not allowed "
            "(control characters cannot appear in YAML)",
        )
    return Diagnostic(file, 1, 1, "", f"YAML syntax: {exc}")


def parse_yaml(text: str, file: str) -> Source:
    """Parse YAML text into a `Source`; syntax errors and duplicate keys raise `InvalidInput`."""
    source = Source(file=file, data=None)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return source
        builder = _Builder(source, loader)
        source.data = builder.build(node, ())
    except yaml.YAMLError as exc:
        raise InvalidInput([_syntax_error(exc, file, text)]) from None
    finally:
        loader.dispose()
    if builder.errors:
        raise InvalidInput(builder.errors)
    return source


def read_text(path: Path, *, display: str | None = None, limit: int = MAX_FILE_BYTES) -> str:
    """Read a user's text file with the size limit and UTF-8 check every input gets."""
    file = display or str(path)
    try:
        size = path.stat().st_size
        if size > limit:
            raise InvalidInput(
                [
                    Diagnostic(
                        file,
                        0,
                        0,
                        "",
                        f"file is {size / 1_000_000:.1f} MB; warroom reads files of at most "
                        f"{limit // (1024 * 1024)} MiB (move long contact lists to CSV groups)",
                    )
                ]
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInput([Diagnostic(file, 0, 0, "", f"cannot read: {exc.strerror}")]) from None
    return _decode(raw, file)


def load_yaml(path: Path, *, display: str | None = None) -> Source:
    """Read and parse one YAML file, refusing oversized, non-UTF-8 and empty files."""
    file = display or str(path)
    source = parse_yaml(read_text(path, display=file), file)
    if source.data is None:
        raise InvalidInput([Diagnostic(file, 1, 1, "", "file is empty; expected a YAML mapping")])
    return source
