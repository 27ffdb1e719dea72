"""How long `warroom validate` takes, against a bare `yaml.safe_load` of the same files.

The baseline runs in the same process on the same bytes, so the ratio is the price of what
validation adds (positions, schema, references, template renders, SMS sizing, roster checks)
and stays comparable across noisy shared machines. Figures are printed, never asserted.

    python bench/validate_library.py [--repeat N] [--steps N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from warroom.library import load_library

ROOT = Path(__file__).resolve().parent.parent


def timed(action: Callable[[], object], repeat: int) -> float:
    """Median wall time of `repeat` runs, in seconds."""
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def large_playbook(steps: int) -> str:
    """A playbook with `steps` steps in a chain, each sending its own bilingual statement."""
    lines = [
        "playbook: large",
        "title: Generated large playbook",
        "languages: [en, pl]",
        "levels: [{id: low, title: Low}, {id: high, title: High}]",
        "facts: {company: {required: true, max_length: 30}}",
        "roles:",
        "  lead: {title: Lead, candidates: [tag:comms-director, tag:deputy-comms-director]}",
        "audiences:",
        "  team: {roles: [lead]}",
        "  staff: {groups: [all-staff], channels: [email]}",
        "statements:",
    ]
    for i in range(steps):
        lines += [
            f"  s{i}:",
            "    approve: [lead]",
            f"    text: {{en: 'Update {i} from {{{{ company }}}}.', "
            f"pl: 'Aktualizacja {i} od {{{{ company }}}}.'}}",
        ]
    lines += ["steps:", "  - {id: page, page: team, ack_within: 10m}"]
    for i in range(steps):
        after = "page" if i == 0 else f"send-{i - 1}"
        lines += [
            f"  - {{id: approve-{i}, after: [{after}], approve: s{i}}}",
            f"  - {{id: send-{i}, after: [approve-{i}], send: s{i}, to: [staff], due: 1h}}",
        ]
    return "\n".join(lines) + "\n"


def measure(name: str, folder: Path, repeat: int) -> None:
    files = sorted(folder.rglob("*.yaml"))
    texts = [f.read_text(encoding="utf-8") for f in files]
    size = sum(len(t.encode()) for t in texts)
    roster = folder / "roster.yaml"
    library = load_library([folder], roster)
    if library.errors:
        raise SystemExit("\n".join(str(d) for d in library.errors))
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    baseline = timed(lambda: [yaml.load(t, Loader=loader) for t in texts], repeat)
    validate = timed(lambda: load_library([folder], roster), repeat)
    print(
        f"{name:<28} {len(files):>3} files {size / 1024:>7.1f} KiB  "
        f"validate {validate * 1000:>8.1f} ms  yaml.load {baseline * 1000:>7.1f} ms  "
        f"ratio {validate / baseline:>5.1f}x  ({validate / len(files) * 1000:.1f} ms/file)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    print(f"median of {args.repeat} runs each")
    measure("shipped library", ROOT / "playbooks", args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        shutil.copy(ROOT / "playbooks" / "roster.yaml", folder)
        shutil.copytree(ROOT / "playbooks" / "contacts", folder / "contacts")
        (folder / "large.yaml").write_text(large_playbook(args.steps), encoding="utf-8")
        measure(f"large playbook ({args.steps} sends)", folder, args.repeat)


if __name__ == "__main__":
    main()
