import itertools
import re

import numpy as np
import pandas as pd
import pytest

from equirec.errors import ConfigError
from equirec.fairness.groups import (
    activity_groups,
    categorical_groups,
    intersection,
    item_groups_from_labels,
    multi_valued_groups,
    quantile_groups,
)


def test_categorical_groups_sorted_and_missing():
    g = categorical_groups(pd.Series(["M", "F", None, "M", 3.0]), name="gender")
    assert g.labels == ("3", "F", "M")
    assert g.codes.tolist() == [2, 1, -1, 2, 0]
    assert g.sizes().tolist() == [1, 1, 2]
    assert g.subset(np.array([0, 2])).codes.tolist() == [2, -1]


def test_activity_groups_top_share_exact_size_ties_by_index():
    counts = np.array([5, 9, 9, 1, 2, 3, 4, 9, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1])
    g = activity_groups(counts, top=0.1)  # ceil(2) users: the first two 9s
    assert g.labels == ("active", "inactive")
    assert np.flatnonzero(g.codes == 0).tolist() == [1, 2]
    with pytest.raises(ConfigError):
        activity_groups(counts, top=1.5)


def test_quantile_groups():
    g = quantile_groups(np.array([1, 2, 3, 4, 5, 6, 7, 8, np.nan]), name="age", bands=4)
    assert g.n_groups == 4
    assert g.codes.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, -1]
    assert g.labels == ("q1 1–2", "q2 3–4", "q3 5–6", "q4 7–8")


def _holds(label: str, value: float) -> bool:
    """Whether the band ``label`` (``q2 25–30``, ``q1 7``, ``q3 [0.1, 0.5)``) holds ``value``."""
    text = label.split(" ", 1)[1]
    m = re.fullmatch(r"\[(\S+), (\S+)([)\]])", text)
    if m:
        lo, hi = float(m.group(1)), float(m.group(2))
        return lo <= value < hi or (m.group(3) == "]" and value == hi)
    parts = re.split(r"–| to ", text)
    lo, hi = int(parts[0]), int(parts[-1])
    return value == int(value) and lo <= value <= hi


def test_integer_bands_say_exactly_which_values_they_hold():
    """ML-100K's ages: the quartile edges 25, 31 and 43 are ages of some users; a band used to be
    labelled [7, 25] and the next [25, 31], both claiming 25."""
    ages = np.array([7, 12, 20, 24, 25, 25, 25, 28, 30, 31, 31, 35, 42, 43, 43, 50, 60, 73])
    g = quantile_groups(ages, name="age", bands=4)
    for value, code in zip(ages, g.codes, strict=True):
        holding = [label for label in g.labels if _holds(label, value)]
        assert holding == [g.labels[code]], (value, holding)
    lows = [int(re.split(r"–| ", label)[1]) for label in g.labels]
    highs = [int(label.rsplit("–", 1)[-1]) for label in g.labels]
    assert lows[0] == 7 and highs[-1] == 73
    assert all(h + 1 == lo for h, lo in zip(highs, lows[1:], strict=False))  # no overlap, no hole


def test_other_numbers_get_half_open_bands_and_a_closed_last_one():
    values = np.array([0.1, 0.25, 0.25, 0.5, 0.75, 1.0, 1.0, 1.5, 2.5, np.nan])
    g = quantile_groups(values, name="w", bands=4)
    assert all(label.endswith(")") for label in g.labels[:-1]) and g.labels[-1].endswith("]")
    bounds = [re.findall(r"[-\d.]+", label.split(" ", 1)[1]) for label in g.labels]
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))  # touch, no overlap
    for value, code in zip(values, g.codes, strict=True):
        if np.isnan(value):
            assert code == -1
            continue
        assert [label for label in g.labels if _holds(label, value)] == [g.labels[code]]


@pytest.mark.parametrize("seed", range(12))
def test_every_value_is_in_the_one_band_its_label_describes(seed: int) -> None:
    rng = np.random.default_rng(seed)
    kind = seed % 3
    if kind == 0:
        values = rng.integers(-20, 60, size=int(rng.integers(5, 80))).astype(float)
    elif kind == 1:
        values = rng.lognormal(size=int(rng.integers(5, 80))) * 10.0 ** rng.integers(-3, 4)
    else:  # heavy ties
        values = rng.choice([0.5, 1.5, 2.25, 10.0], size=40)
    g = quantile_groups(values, name="x", bands=int(rng.integers(2, 7)))
    assert len(set(g.labels)) == g.n_groups and (g.sizes() > 0).all()
    for value, code in zip(values, g.codes, strict=True):
        assert [label for label in g.labels if _holds(label, value)] == [g.labels[code]]


def test_tied_and_missing_values():
    assert quantile_groups(np.array([5.0, 5.0, 5.0]), name="t").labels == ("q1 5",)
    assert quantile_groups(np.array([5.0, 5.0, 5.0]), name="t").codes.tolist() == [0, 0, 0]
    empty = quantile_groups(np.array([np.nan, np.nan]), name="t")
    assert empty.labels == () and empty.codes.tolist() == [-1, -1]
    with pytest.raises(ConfigError):
        quantile_groups(np.array([1.0, 2.0]), name="t", bands=1)


def test_intersection_drops_empty_combinations():
    a = categorical_groups(["F", "M", "M", None], name="gender")
    b = categorical_groups(["y", "o", "y", "o"], name="age")
    g = intersection(a, b)
    assert g.name == "gender*age"
    assert set(g.labels) == {"F*y", "M*o", "M*y"}
    assert [g.labels[c] if c >= 0 else None for c in g.codes] == ["F*y", "M*o", "M*y", None]


def test_item_memberships():
    one_hot = item_groups_from_labels(categorical_groups(["p0", "p1", None], name="provider"))
    assert one_hot.membership.tolist() == [[1, 0], [0, 1], [0, 0]]
    genres = [("a", "b"), ("b",), (), None, ["c", "a"]]
    count = multi_valued_groups(genres, name="genres", multi="count")
    split = multi_valued_groups(genres, name="genres", multi="split")
    assert count.labels == ("a", "b", "c")
    assert count.membership.tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 0], [0, 0, 0], [1, 0, 1]]
    assert split.membership[0].tolist() == [0.5, 0.5, 0]
    assert split.membership.sum(axis=1).tolist() == [1, 1, 0, 0, 1]
    with pytest.raises(ConfigError):
        multi_valued_groups(genres, name="genres", multi="bad")
