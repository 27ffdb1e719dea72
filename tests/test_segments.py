"""SMS segment counting: what a carrier will bill and split, so statements never get cut."""

from __future__ import annotations

import pytest

from warroom.playbook.segments import count_segments


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # extension characters cost two septets
        ("[" * 81, "GSM-7", 162, 2),
        ("ą" + "a" * 69, "UCS-2", 70, 1),  # one Polish letter switches the whole text
        ("ą" + "a" * 70, "UCS-2", 71, 2),
        ("ż" * 134, "UCS-2", 134, 2),
        ("ż" * 135, "UCS-2", 135, 3),
        ("🚨" * 35, "UCS-2", 70, 1),  # an emoji is a surrogate pair: two units
    ],
)
def test_count(text: str, encoding: str, units: int, segments: int) -> None:
    count = count_segments(text)
    assert (count.encoding, count.units, count.segments) == (encoding, units, segments)


def test_escape_sequence_is_not_split_across_segments() -> None:
    # 152 plain septets then '€' (2): 154 would overflow a 153-septet part, so '€' moves on.
    assert count_segments("a" * 152 + "€" + "a" * 152).segments == 3
    assert count_segments("a" * 151 + "€" + "a" * 153).segments == 2
