"""preprocess: rating threshold, duplicates, k-core to a fixed point, provenance and errors."""

from __future__ import annotations

import pandas as pd
import pytest

from equirec.data import Dataset, preprocess
from equirec.errors import ConfigError, DataError


def _dataset(rows: list[tuple[str, str, int, float]]) -> Dataset:
    df = pd.DataFrame(rows, columns=["user", "item", "timestamp", "rating"])
    items = pd.DataFrame({"genre": [f"g{i}" for i in sorted(set(df["item"]))]})
    items.index = sorted(set(df["item"]))
    return Dataset(interactions=df, item_attributes=items, name="toy")


def test_defaults_keep_everything_and_record_it() -> None:
    ds = _dataset([("u", "a", 1, 5.0), ("u", "a", 2, 1.0)])
    out = preprocess(ds)
    assert len(out) == 2
    assert out.info["implicit"] == "every interaction counts"
    assert out.info["removed_interactions"] == 0
    assert "preprocess" not in ds.info  # the input is not modified


def test_min_rating_drops_items_from_the_vocabulary() -> None:
    ds = _dataset([("u", "a", 1, 5.0), ("u", "b", 2, 3.0), ("v", "a", 3, 4.0)])
    out = preprocess(ds, min_rating=4)
    assert out.interactions["item"].tolist() == ["a", "a"]
    assert list(out.item_ids) == ["a"] and out.n_users == 2
    assert out.item_attributes is not None and list(out.item_attributes.index) == ["a"]
    assert out.info["implicit"] == "rating >= 4"


@pytest.mark.parametrize(
    ("how", "kept"), [("first", [1, 3]), ("last", [2, 3]), ("keep", [1, 2, 3])]
)
def test_duplicates(how: str, kept: list[int]) -> None:
    ds = _dataset([("u", "a", 1, 5.0), ("u", "a", 2, 4.0), ("u", "b", 3, 4.0)])
    out = preprocess(ds, duplicates=how)  # type: ignore[arg-type]
    assert sorted(out.interactions["timestamp"]) == kept
    assert out.info["duplicates"] == how


def test_k_core_iterates_to_a_fixed_point() -> None:
    # Item c has 1 interaction: dropping it leaves user w with 1, whose removal leaves item b
    # with 1 (u's), whose removal leaves u with 1 -> everything except the a/x/y/z block goes.
    rows = [
        ("w", "c", 1, 5.0),
        ("w", "b", 2, 5.0),
        ("u", "b", 3, 5.0),
        ("u", "a", 4, 5.0),
        ("x", "a", 5, 5.0),
        ("x", "d", 6, 5.0),
        ("y", "a", 7, 5.0),
        ("y", "d", 8, 5.0),
    ]
    out = preprocess(_dataset(rows), user_core=2, item_core=2)
    assert set(out.user_ids) == {"x", "y"} and set(out.item_ids) == {"a", "d"}
    assert out.info["core_iterations"] >= 2
    counts_u = out.interactions.groupby("user").size()
    counts_i = out.interactions.groupby("item").size()
    assert counts_u.min() >= 2 and counts_i.min() >= 2


def test_k_core_on_real_sized_synthetic_data_is_stable() -> None:
    from equirec.data import make_synthetic

    ds = make_synthetic(n_users=300, n_items=200, seed=4)
    once = preprocess(ds, user_core=5, item_core=10)
    twice = preprocess(once, user_core=5, item_core=10)
    assert len(once) == len(twice) and once.info["removed_interactions"] > 0
    assert twice.info["removed_interactions"] == 0


def test_min_rating_without_ratings() -> None:
    ds = Dataset(interactions=pd.DataFrame({"user": [1], "item": [2], "timestamp": [0]}))
    with pytest.raises(DataError, match=r"min_rating=4 needs a rating column.*columns \["):
        preprocess(ds, min_rating=4)


def test_threshold_that_removes_everything() -> None:
    ds = _dataset([("u", "a", 1, 3.0)])
    with pytest.raises(
        DataError, match=r"no interaction of 'toy' has rating >= 6.*lower min_rating"
    ):
        preprocess(ds, min_rating=6)


def test_core_that_removes_everything() -> None:
    ds = _dataset([("u", "a", 1, 3.0), ("v", "b", 2, 5.0)])
    with pytest.raises(DataError, match=r"k-core filter \(user_core=2.*lower user_core"):
        preprocess(ds, user_core=2)


@pytest.mark.parametrize("bad", [{"duplicates": "drop"}, {"user_core": -1}, {"item_core": 2.5}])
def test_bad_options(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="preprocess"):
        preprocess(_dataset([("u", "a", 1, 3.0)]), **bad)  # type: ignore[arg-type]
