"""Numbers written for people: magnitude-aware decimals, real minus signs, "n/a" for gaps."""

from __future__ import annotations

from typing import Any

import pytest

from equirec.reporting.formatting import fmt_num, fmt_p


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.0004, "< 0.001"),
        (0.001, "0.001"),
        (0.0312, "0.031"),
        (0.5, "0.50"),
        (None, "n/a"),
        (float("nan"), "n/a"),
    ],
)
def test_p_values(p: Any, text: str) -> None:
    assert fmt_p(p) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0812, "0.081"),
        (-0.004, "−0.0040"),
        (210.54, "210.5"),
        (1320, "1,320"),
        (0, "0"),
        (float("inf"), "n/a"),
        (True, "n/a"),
        ("x", "n/a"),
    ],
)
def test_numbers(value: Any, text: str) -> None:
    assert fmt_num(value) == text
