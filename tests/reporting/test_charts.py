"""Inline-SVG chart primitives: round axis ticks."""

from __future__ import annotations

import itertools
import math

import pytest

from equirec.reporting.charts import nice_ticks


@pytest.mark.parametrize(("lo", "hi"), [(0.0, 0.104), (0.0, 1.0), (-0.02, 0.05), (0.0, 583.0)])
def test_ticks_cover_the_range(lo: float, hi: float) -> None:
    ticks = nice_ticks(lo, hi)
    assert ticks[0] <= lo and ticks[-1] >= hi
    assert 3 <= len(ticks) <= 9
    assert ticks[-1] - ticks[0] < 1.5 * (hi - lo)
    steps = {round(b - a, 9) for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1 and not math.isnan(next(iter(steps)))
