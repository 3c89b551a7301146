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
    assert g.labels[0].startswith("q1 [1,")


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
