from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warroom.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("10m", 600), ("2h", 7200), ("3d", 259200), ("1w", 604800), ("1h30m", 5400)],
)
def test_parse(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["10 minutes", "1.5h", "m", "", "30m1h", "-5m", 10])
def test_bad_durations_say_what_is_expected(text: object) -> None:
    with pytest.raises(ValueError, match=r"expected e\.g\. 10m, 1h30m"):
        parse_duration(text)


def test_a_zero_duration_is_refused() -> None:
    with pytest.raises(ValueError, match=r"is zero"):
        parse_duration("0m")


@given(st.integers(min_value=1, max_value=10**8))
def test_format_round_trips(seconds: int) -> None:
    delta = timedelta(seconds=seconds)
    assert parse_duration(format_duration(delta)) == delta
