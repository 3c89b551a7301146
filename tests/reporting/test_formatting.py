"""Numbers written for people: magnitude-aware decimals, real minus signs, "n/a" for gaps."""

from __future__ import annotations

from typing import Any

import pytest

from equirec.reporting.formatting import fmt_num, fmt_p, fmt_pct, fmt_ratio


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


@pytest.mark.parametrize(
    ("share", "text"),
    [
        (0.125, "12.5%"),
        (0.000674, "0.067%"),
        (0.0000067, "0.00067%"),
        (0.0005, "0.050%"),
        (0, "0.0%"),
    ],
)
def test_small_shares_keep_two_significant_digits(share: float, text: str) -> None:
    assert fmt_pct(share) == text  # 0.0000067 was "0.00%"


@pytest.mark.parametrize(
    ("ratio", "text"),
    [(3.1534, "3.15"), (0.54, "0.54"), (0.00098, "0.00098"), (0.001, "0.0010"), (0.0, "0")],
)
def test_ratios_keep_their_digits(ratio: float, text: str) -> None:
    assert fmt_ratio(ratio) == text  # exposure ÷ catalogue share was "×0.00"


def test_a_reference_never_hides_a_value() -> None:
    """Decimals taken from a column's largest value (0.97) wrote 0.00003 as "0.0000"."""
    assert fmt_num(0.00003, 4, like=0.97) == "0.000030"
    assert fmt_num(0.0007, 2, like=0.97) == "0.00070"
    assert fmt_num(0.5, like=0.97) == "0.500" and fmt_num(0.0, like=0.97) == "0.000"


def test_a_share_is_never_rounded_to_zero() -> None:
    assert fmt_pct(0.003, 0) == "0.30%" and fmt_pct(0.05, 0) == "5%"  # 0.3% used to print "0%"
