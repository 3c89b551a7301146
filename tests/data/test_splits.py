"""split_dataset: exact small examples (with ties), partitions, seeds, and errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from equirec.data import Dataset, Split, make_synthetic, split_dataset
from equirec.errors import ConfigError, DataError


def _dataset(rows: list[tuple[str, str, int]]) -> Dataset:
    return Dataset(interactions=pd.DataFrame(rows, columns=["user", "item", "timestamp"]))


def _items(part: Dataset, user: str) -> list[str]:
    df = part.interactions
    return df.loc[df["user"] == user, "item"].tolist()


def _pairs(part: Dataset) -> list[tuple[str, str]]:
    df = part.interactions
    return list(zip(df["user"], df["item"], strict=True))


def _assert_partition(ds: Dataset, split: Split, *, dropped: int = 0) -> None:
    keys = [
        set(
            zip(
                p.interactions["user"],
                p.interactions["item"],
                p.interactions["timestamp"],
                strict=True,
            )
        )
        for p in (split.train, split.valid, split.test)
    ]
    assert not (keys[0] & keys[1]) and not (keys[0] & keys[2]) and not (keys[1] & keys[2])
    assert len(split.train) + len(split.valid) + len(split.test) + dropped == len(ds)
    for part in (split.train, split.valid, split.test):
        assert part.user_ids.equals(ds.user_ids) and part.item_ids.equals(ds.item_ids)


TIES = [
    ("a", "i1", 1),
    ("a", "i2", 5),
    ("a", "i3", 5),  # ties with i2 and i4: file order decides
    ("a", "i4", 5),
    ("b", "i1", 2),
    ("b", "i2", 1),  # earlier than b's first row
    ("b", "i3", 3),
    ("c", "i1", 1),
    ("c", "i2", 2),  # c has 2 interactions: train only under loo
    ("d", "i4", 9),
]


def test_loo_exact_with_ties() -> None:
    ds = _dataset(TIES)
    split = split_dataset(ds, method="loo")
    assert (_items(split.train, "a"), _items(split.valid, "a"), _items(split.test, "a")) == (
        ["i1", "i2"],
        ["i3"],
        ["i4"],
    )
    assert (_items(split.train, "b"), _items(split.valid, "b"), _items(split.test, "b")) == (
        ["i2"],
        ["i1"],
        ["i3"],
    )
    assert _items(split.train, "c") == ["i1", "i2"] and _items(split.test, "c") == []
    assert _items(split.train, "d") == ["i4"]
    assert split.name == "loo" and split.params["short_users_train_only"] == 2
    _assert_partition(ds, split)


def test_loo_rejects_fractions() -> None:
    with pytest.raises(ConfigError, match="'loo' holds out one interaction"):
        split_dataset(_dataset(TIES), method="loo", test_frac=0.2)


def test_temporal_exact_with_ties_at_the_cut() -> None:
    rows = [
        ("a", "i0", 0),
        ("a", "i1", 1),
        ("a", "i2", 2),
        ("b", "i0", 3),
        ("c", "i2", 4),
        ("b", "i1", 5),  # valid: from the 0.5 quantile (t=5) on
        ("c", "i3", 6),  # test: from the 0.7 quantile (t=6) on; the tie at t=6 goes with it
        ("c", "new", 6),
        ("d", "i1", 6),  # d and e have no train history: dropped
        ("e", "i0", 7),
    ]
    ds = _dataset(rows)
    split = split_dataset(ds, method="temporal", valid_frac=0.2, test_frac=0.3)
    assert split.train.interactions["timestamp"].tolist() == [0, 1, 2, 3, 4]
    assert _pairs(split.valid) == [("b", "i1")]
    assert _pairs(split.test) == [("c", "i3"), ("c", "new")]
    assert split.params["dropped_no_train_history"] == 2
    assert split.params["train_until"] == 4 and split.params["test_from"] == 6
    assert "new" in split.train.item_ids  # items unseen in train stay in the catalogue
    _assert_partition(ds, split, dropped=2)


def test_temporal_parts_are_ordered_in_time() -> None:
    ds = make_synthetic(n_users=200, n_items=100, seed=1)
    split = split_dataset(ds, method="temporal", valid_frac=0.15, test_frac=0.2)
    train_end = split.train.interactions["timestamp"].max()
    assert train_end < split.valid.interactions["timestamp"].min()
    assert split.valid.interactions["timestamp"].max() < split.test.interactions["timestamp"].min()
    assert abs((len(ds) - len(split.train)) / len(ds) - 0.35) < 0.01
    train_users = set(split.train.interactions["user"])
    assert set(split.test.interactions["user"]) <= train_users
    _assert_partition(ds, split, dropped=split.params["dropped_no_train_history"])


def test_temporal_with_one_timestamp_fails_clearly() -> None:
    with pytest.raises(DataError, match="no interaction is earlier than the cut-off"):
        split_dataset(_dataset([("a", "x", 1)] * 10), method="temporal")


def test_random_holdout_counts_per_user() -> None:
    rows = [("a", f"i{k}", k) for k in range(20)] + [("b", "x", 0), ("b", "y", 1), ("c", "z", 0)]
    ds = _dataset(rows)
    split = split_dataset(ds, method="random", seed=3, valid_frac=0.1, test_frac=0.2)
    sizes = {
        u: (len(_items(split.train, u)), len(_items(split.valid, u)), len(_items(split.test, u)))
        for u in "abc"
    }
    assert sizes == {"a": (14, 2, 4), "b": (1, 0, 1), "c": (1, 0, 0)}
    _assert_partition(ds, split)


def test_random_is_seeded() -> None:
    ds = make_synthetic(n_users=100, n_items=80, seed=0)
    one, same, other = (split_dataset(ds, method="random", seed=s) for s in (1, 1, 2))
    pd.testing.assert_frame_equal(one.test.interactions, same.test.interactions)
    assert not one.test.interactions["item"].equals(other.test.interactions["item"])
    assert one.params == {"method": "random", "valid_frac": 0.1, "test_frac": 0.1, "seed": 1}
    _assert_partition(ds, one)


@pytest.mark.parametrize("method", ["loo", "temporal", "random"])
def test_every_method_is_deterministic_and_a_partition(method: str) -> None:
    ds = make_synthetic(n_users=150, n_items=90, seed=5)
    a = split_dataset(ds, method=method)  # type: ignore[arg-type]
    b = split_dataset(ds, method=method)  # type: ignore[arg-type]
    for x, y in ((a.train, b.train), (a.valid, b.valid), (a.test, b.test)):
        pd.testing.assert_frame_equal(x.interactions, y.interactions)
    dropped = a.params.get("dropped_no_train_history", 0)
    _assert_partition(ds, a, dropped=dropped)
    assert np.all(a.test.history().lengths() <= ds.history().lengths())


@pytest.mark.parametrize(
    "bad",
    [
        {"method": "kfold"},
        {"method": "random", "test_frac": 0.0},
        {"method": "temporal", "valid_frac": 0.5, "test_frac": 0.5},
        {"method": "random", "valid_frac": -0.1},
    ],
)
def test_bad_options(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        split_dataset(_dataset(TIES), **bad)  # type: ignore[arg-type]


def test_empty_dataset() -> None:
    ds = _dataset(TIES).subset(np.zeros(len(TIES), dtype=bool))
    with pytest.raises(DataError, match="no interactions to split"):
        split_dataset(ds, method="loo")
