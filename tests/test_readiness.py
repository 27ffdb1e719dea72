"""Readiness runs: many simulated activations, reproducible from the seed, refused clearly."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from warroom.cli import app
from warroom.exercise.readiness import Setup, run_one, simulate, wilson
from warroom.exercise.schema import ScenarioSpec
from warroom.runtime.snapshot import Snapshot
from warroom.specs import validate_source
from warroom.yamlsource import load_yaml

LIBRARY = Path(__file__).parent.parent / "playbooks"
DRILL = "breach-drill-q4"
runner = CliRunner()


def readiness(*args: str, library: Path = LIBRARY) -> tuple[int, str, str]:
    result = runner.invoke(app, ["exercise", "readiness", *args, "--library", str(library)])
    return result.exit_code, result.stdout, result.stderr


def library_with(tmp_path: Path, section: str) -> Path:
    """A copy of the shipped library whose breach drill carries this `readiness:` section."""
    target = tmp_path / "lib"
    shutil.copytree(LIBRARY, target)
    scenario = target / "exercises" / f"{DRILL}.yaml"
    text = scenario.read_text(encoding="utf-8")
    if "\nreadiness:" in text:
        text = text[: text.index("\nreadiness:")] + "\n"
    scenario.write_text(text + section, encoding="utf-8")
    return target


def report(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (folder / f"readiness-{DRILL}.json").read_text(encoding="utf-8")
    )
    return data


def setup(seed: int = 3) -> Setup:
    drill = LIBRARY / "exercises" / f"{DRILL}.yaml"
    spec = validate_source(ScenarioSpec, load_yaml(drill))
    # as `warroom exercise` captures it: the drill's contact list is read next to the drill
    snapshot = replace(
        Snapshot.capture(LIBRARY / "data-breach.yaml", LIBRARY / "roster.yaml"),
        scenario_file=str(drill),
        scenario_text=drill.read_text(encoding="utf-8"),
    )
    return Setup(spec, snapshot, seed, spec.start, timedelta(days=28))


def test_the_same_seed_gives_byte_identical_json_on_one_and_two_workers(tmp_path: Path) -> None:
    texts = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        code, stdout, stderr = readiness(
            DRILL, "--runs", "24", "--seed", "11", "--workers", workers, "--out", str(out)
        )
        assert code == 0, stderr
        assert f"report: {out / f'readiness-{DRILL}.json'}" in stdout
        texts.append((out / f"readiness-{DRILL}.json").read_bytes())
    assert texts[0] == texts[1]
    other = tmp_path / "seed12"
    assert readiness(DRILL, "--runs", "24", "--seed", "12", "--out", str(other))[0] == 0
    assert (other / f"readiness-{DRILL}.json").read_bytes() != texts[0]


def test_a_run_replayed_alone_is_the_run_played_among_the_others() -> None:
    study = setup()
    among = simulate(study, 6, 1)
    assert [r["index"] for r in among] == list(range(6))
    assert run_one(study, 4) == among[4]


def test_only_prints_one_runs_timeline(tmp_path: Path) -> None:
    code, stdout, stderr = readiness(DRILL, "--only", "5", "--seed", "2", "--out", str(tmp_path))
    assert code == 0, stderr
    assert "run 5 of seed 2: activated" in stdout
    assert "activated from playbook data-breach" in stdout
    assert "did not answer:" in stdout
    assert not list(tmp_path.iterdir())  # a replay writes no report


def test_the_report_names_the_shipped_rosters_weakness(tmp_path: Path) -> None:
    code, _, stderr = readiness(DRILL, "--runs", "30", "--workers", "1", "--out", str(tmp_path))
    assert code == 0, stderr
    data = report(tmp_path)
    gaps = {g["role"]: g for g in data["rota_gaps"]}
    # the press officer on duty is the only spokesperson who is not already crisis lead
    assert gaps["spokesperson"]["share"] == 1.0
    assert "no free backup for spokesperson" in gaps["spokesperson"]["text"]
    assert any("spokesperson" in action for action in data["actions"])
    html = (tmp_path / f"readiness-{DRILL}.html").read_text(encoding="utf-8")
    assert html.count("<svg") >= 3
    assert "src=" not in html
    assert "href=" not in html
    markdown = (tmp_path / f"readiness-{DRILL}.md").read_text(encoding="utf-8")
    assert "## Single points of failure: people" in markdown


def test_people_who_never_answer_miss_every_target_and_are_blamed(tmp_path: Path) -> None:
    section = "readiness:\n  people:\n    anna-kowalska: {no_answer: 1}\n  injects: drop\n"
    lib = library_with(tmp_path, section)
    code, _, stderr = readiness(
        DRILL, "--runs", "12", "--workers", "1", "--out", str(tmp_path / "r"), library=lib
    )
    assert code == 0, stderr
    data = report(tmp_path / "r")
    top = data["single_points_of_failure"]["people"][0]
    assert top["person"] == "anna-kowalska"
    assert top["silent_in"] == 12
    assert data["injects"] == "drop"


def test_fixed_delays_and_everyone_answering_meet_the_holding_target(tmp_path: Path) -> None:
    section = (
        "readiness:\n  default: {no_answer: 0, ack: {fixed: 1m}, approve: {fixed: 2m}}\n"
        "  injects: drop\n"
    )
    lib = library_with(tmp_path, section)
    code, _, stderr = readiness(
        DRILL, "--runs", "10", "--workers", "1", "--out", str(tmp_path / "r"), library=lib
    )
    assert code == 0, stderr
    data = report(tmp_path / "r")
    holding = next(o for o in data["objectives"] if o["id"] == "holding-fast")
    assert holding["met"] == 10
    assert holding["low"] < 1.0 <= holding["high"]  # Wilson: never certain from 10 runs
    assert data["single_points_of_failure"]["people"] == []


def test_wilson_interval() -> None:
    low, high = wilson(0, 10)
    assert low == 0.0
    assert round(high, 3) == 0.278
    low, high = wilson(50, 100)
    assert (round(low, 3), round(high, 3)) == (0.404, 0.596)


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            "readiness:\n  default: {no_answer: 1.5}\n",
            "readiness.default.no_answer: 1.5 is outside 0..1",
        ),
        (
            "readiness:\n  roles:\n    legal: {no_answer: -0.1}\n",
            "readiness.roles.legal.no_answer: -0.1 is outside 0..1",
        ),
        (
            "readiness:\n  channels:\n    sms: {outage: 2}\n",
            "readiness.channels.sms.outage: 2 is outside 0..1",
        ),
        (
            "readiness:\n  default: {ack: {fixed: -5m}}\n",
            "readiness.default.ack.fixed: '-5m' is negative",
        ),
        (
            "readiness:\n  default: {approve: {median: 10m, p90: 5m}}\n",
            "readiness.default.approve: p90 5m is below the median 10m",
        ),
        (
            "readiness:\n  people:\n    anna-kowalsky: {no_answer: 0.1}\n",
            "readiness.people.anna-kowalsky: unknown person 'anna-kowalsky'; "
            "did you mean 'anna-kowalska'?",
        ),
        (
            "readiness:\n  roles:\n    legl: {no_answer: 0.1}\n",
            "readiness.roles.legl: unknown role 'legl'; did you mean 'legal'?",
        ),
        (
            "readiness:\n  channels:\n    pigeon: {outage: 0.1}\n",
            "readiness.channels.pigeon: unknown channel 'pigeon'",
        ),
    ],
    ids=[
        "probability",
        "negative-probability",
        "outage",
        "negative-delay",
        "p90-below-median",
        "person",
        "role",
        "channel",
    ],
)
def test_a_bad_model_is_refused_with_its_place(tmp_path: Path, section: str, message: str) -> None:
    lib = library_with(tmp_path, section)
    code, stdout, stderr = readiness(DRILL, "--runs", "2", "--out", str(tmp_path), library=lib)
    assert code == 1
    assert f"{DRILL}.yaml:" in stderr
    assert message in stderr
    assert "Traceback" not in stdout + stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--runs", "0"), "--runs 0 is outside 1..100,000"),
        (("--runs", "10000000"), "--runs 10000000 is outside 1..100,000"),
        (("--period", "0d"), "--period: '0d' is zero"),
        (("--period", "soon"), "--period: 'soon' is not a duration"),
        (("--workers", "0"), "--workers 0: give 1 or more processes"),
        (("--from", "next week"), "--from 'next week' is not a date or time"),
        (("--only", "5", "--runs", "5"), "--only 5 is not a run of 0..4"),
    ],
    ids=["runs-0", "runs-10m", "period-0d", "period-text", "workers-0", "from", "only"],
)
def test_bad_options_are_refused_in_one_line(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    code, _, stderr = readiness(DRILL, *args, "--out", str(tmp_path))
    assert code == 2
    assert message in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


def test_a_silent_ceo_at_crisis_level_is_named_with_the_share_of_misses_he_explains(
    tmp_path: Path,
) -> None:
    section = "readiness:\n  people:\n    krzysztof-mazur: {no_answer: 1}\n"
    lib = library_with(tmp_path, section)
    code, stdout, stderr = readiness(
        DRILL, "--runs", "16", "--workers", "1", "--out", str(tmp_path / "r"), library=lib
    )
    assert code == 0, stderr
    data = report(tmp_path / "r")
    staff_first = next(o for o in data["objectives"] if o["id"] == "staff-first")
    assert staff_first["met"] < 16  # once the level is raised, the CEO holds the statement up
    assert staff_first["most_often_silent"].startswith("Krzysztof Mazur")
    assert "Krzysztof Mazur not answering explains" in stdout


def test_a_past_period_starts_at_midnight_in_the_playbooks_time_zone(tmp_path: Path) -> None:
    args = ("--runs", "3", "--workers", "1", "--from", "2025-01-06", "--period", "7d")
    code, _, stderr = readiness(DRILL, *args, "--out", str(tmp_path))
    assert code == 0, stderr
    period = report(tmp_path)["period"]
    assert period == {
        "from": "2025-01-06T00:00:00+01:00",
        "to": "2025-01-13T00:00:00+01:00",
        "length": "7d",
    }
