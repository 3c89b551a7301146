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


# -- cold-items ---------------------------------------------------------------------------------
COLD = [
    ("a", "i0", 0),
    ("a", "i1", 1),
    ("b", "i0", 2),
    ("a", "i2", 3),
    ("b", "i3", 4),  # i3 first seen: cold from here on
    ("a", "i3", 5),  # a's last: test, cold
    ("b", "i1", 6),
    ("c", "i4", 7),  # i4 first seen: cold
    ("c", "i0", 8),
    ("b", "i4", 9),  # b's last: test, cold
    ("c", "i1", 10),
    ("d", "i3", 11),  # d has 2 interactions: train only, and i3 is cold
    ("d", "i2", 12),
    ("e", "i0", 13),
    ("e", "i4", 14),  # e's second-to-last: validation, cold
    ("e", "i2", 15),
]


def test_cold_items_exact() -> None:
    ds = _dataset(COLD)
    split = split_dataset(ds, method="cold-items", cold_frac=0.4)  # 2 of 5 items
    assert {u: _items(split.train, u) for u in "abcde"} == {
        "a": ["i0", "i1"],
        "b": ["i0"],  # i3 dropped
        "c": [],  # i4 dropped
        "d": ["i2"],  # i3 dropped
        "e": ["i0"],
    }
    assert _pairs(split.valid) == [("a", "i2"), ("b", "i1"), ("c", "i0")]  # e's i4 dropped
    assert _pairs(split.test) == [("a", "i3"), ("b", "i4"), ("c", "i1"), ("e", "i2")]
    assert split.name == "cold-items"
    assert split.params == {
        "method": "cold-items",
        "cold_frac": 0.4,
        "cold_from": 4,
        "cold_items": 2,
        "cold_share": 6 / 16,
        "cold_test_events": 2,
        "dropped_cold_train": 3,
        "dropped_cold_valid": 1,
        "min_interactions": 3,
        "short_users_train_only": 1,
    }
    _assert_partition(ds, split, dropped=4)


def test_cold_items_ties_at_the_cut_go_by_item_index() -> None:
    # y and z are both first seen at t=1; z comes later in the vocabulary, so it is the newer
    rows = [("a", "x", 0), ("a", "y", 1), ("b", "z", 1), ("b", "x", 2), ("c", "x", 3)]
    split = split_dataset(_dataset(rows), method="cold-items", cold_frac=0.3)  # 1 of 3
    assert "z" not in set(split.train.interactions["item"]) | set(split.valid.interactions["item"])
    assert "y" in set(split.train.interactions["item"])
    assert split.params["cold_items"] == 1 and split.params["cold_from"] == 1


def _first_seen_newest(ds: Dataset, frac: float) -> set[str]:
    """The newest ``frac`` of the items by first interaction (ties by vocabulary position)."""
    df = ds.interactions
    first = df.groupby("item_idx")["timestamp"].min().reset_index()
    first = first.sort_values(["timestamp", "item_idx"], kind="stable")
    n = max(1, round(frac * len(first)))
    return {ds.item_ids[i] for i in first["item_idx"].iloc[-n:]}


@pytest.mark.parametrize("frac", [0.05, 0.2, 0.5])
def test_cold_items_on_synthetic_data(frac: float) -> None:
    ds = make_synthetic(n_users=200, n_items=120, seed=2)
    split = split_dataset(ds, method="cold-items", cold_frac=frac, seed=7)
    cold = _first_seen_newest(ds, frac)
    assert split.params["cold_items"] == len(cold)
    # never trained on (nor validated on), yet still in the catalogue
    for part in (split.train, split.valid):
        assert not (set(part.interactions["item"]) & cold)
        assert part.item_ids.equals(ds.item_ids)
    # the held-out test is leave-one-out's: every evaluated user's last interaction, cold or warm
    loo = split_dataset(ds, method="loo")
    pd.testing.assert_frame_equal(split.test.interactions, loo.test.interactions)
    tests = split.test.interactions
    n_cold_test = int(tests["item"].isin(cold).sum())
    assert split.params["cold_test_events"] == n_cold_test > 0
    # train and valid are loo's less exactly the interactions with cold items
    for mine, theirs, key in ((split.train, loo.train, "train"), (split.valid, loo.valid, "valid")):
        kept = theirs.interactions[~theirs.interactions["item"].isin(cold)]
        assert _pairs(mine) == list(zip(kept["user"], kept["item"], strict=True))
        assert split.params[f"dropped_cold_{key}"] == len(theirs) - len(kept)
    assert split.params["cold_share"] == pytest.approx(ds.interactions["item"].isin(cold).mean())
    first_cold = ds.interactions[ds.interactions["item"].isin(cold)].groupby("item")["timestamp"]
    assert split.params["cold_from"] == first_cold.min().min()
    dropped = split.params["dropped_cold_train"] + split.params["dropped_cold_valid"]
    _assert_partition(ds, split, dropped=dropped)


def test_cold_items_is_deterministic() -> None:
    ds = make_synthetic(n_users=150, n_items=90, seed=5)
    a, b = (split_dataset(ds, method="cold-items", seed=s) for s in (0, 1))
    for x, y in ((a.train, b.train), (a.valid, b.valid), (a.test, b.test)):
        pd.testing.assert_frame_equal(x.interactions, y.interactions)
    assert a.params == b.params and a.params["cold_frac"] == 0.2


@pytest.mark.parametrize("frac", [0.0, 1.0, 1.5, -0.2])
def test_cold_frac_out_of_range(frac: float) -> None:
    with pytest.raises(ConfigError, match=rf"cold_frac must be strictly between 0 and 1.*{frac}"):
        split_dataset(_dataset(COLD), method="cold-items", cold_frac=frac)


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"method": "loo", "cold_frac": 0.2}, "cold_frac applies to split method 'cold-items'"),
        ({"method": "random", "cold_frac": 0.2}, "cold_frac applies to split method 'cold-items'"),
        ({"method": "cold-items", "test_frac": 0.2}, "'cold-items' holds out one interaction"),
    ],
)
def test_cold_items_fractions_that_do_not_apply(bad: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        split_dataset(_dataset(COLD), **bad)  # type: ignore[arg-type]


def test_cold_items_without_ordering_timestamps_fails_clearly() -> None:
    rows = [(u, i, 5) for u in "abc" for i in ("x", "y", "z", "w")]
    with pytest.raises(DataError, match="no item is first seen before the cut-off time 5"):
        split_dataset(_dataset(rows), method="cold-items")


@pytest.mark.parametrize(
    "rows, frac, message",
    [
        ([("a", "x", 0), ("a", "x", 1), ("a", "x", 2)], 0.2, "no warm item would remain"),
        ([("a", "x", 0), ("b", "y", 1), ("a", "x", 2)], 0.9, "no warm item would remain"),
    ],
)
def test_cold_items_that_leave_no_warm_item(rows: list, frac: float, message: str) -> None:
    with pytest.raises(DataError, match=message):
        split_dataset(_dataset(rows), method="cold-items", cold_frac=frac)


@pytest.mark.parametrize("method", ["loo", "temporal", "random", "cold-items"])
def test_held_out_users_are_never_trained_validated_or_tested(method: str) -> None:
    ds = make_synthetic(n_users=150, n_items=90, seed=5)
    whole = split_dataset(ds, method=method)  # type: ignore[arg-type]
    split = split_dataset(ds, method=method, holdout_users=0.2)  # type: ignore[arg-type]
    assert split.holdout is not None
    held = set(split.holdout.interactions["user"])
    assert split.params["holdout_user_count"] == 30
    # under a temporal cut some held-out users have nothing before it
    assert len(held) == 30 if method != "temporal" else 20 < len(held) <= 30
    trained = set(whole.train.interactions["user"])
    assert set(split.train.interactions["user"]) | held == trained
    for part, before in ((split.train, whole.train), (split.valid, whole.valid)):
        assert not held & set(part.interactions["user"])
        # everyone else is split exactly as without a holdout
        kept = before.interactions[~before.interactions["user"].isin(held)]
        pd.testing.assert_frame_equal(
            part.interactions.reset_index(drop=True), kept.reset_index(drop=True)
        )
    assert not held & set(split.test.interactions["user"])
    # the held-out users' history is what their training part would have been
    theirs = whole.train.interactions[whole.train.interactions["user"].isin(held)]
    pd.testing.assert_frame_equal(
        split.holdout.interactions.reset_index(drop=True), theirs.reset_index(drop=True)
    )
    assert split.params["holdout_users"] == 0.2
    again = split_dataset(ds, method=method, holdout_users=0.2)  # type: ignore[arg-type]
    assert set(again.holdout.interactions["user"]) == held  # type: ignore[union-attr]
    other = split_dataset(ds, method=method, holdout_users=0.2, seed=1)  # type: ignore[arg-type]
    assert set(other.holdout.interactions["user"]) != held  # type: ignore[union-attr]


def test_no_holdout_by_default() -> None:
    split = split_dataset(_dataset(TIES), method="loo")
    assert split.holdout is None and "holdout_users" not in split.params


@pytest.mark.parametrize(
    ("share", "error", "message"),
    [(-0.1, ConfigError, r"holdout_users must be in \[0, 1\)"), (0.9, DataError, "no one")],
)
def test_bad_holdout_share(share: float, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        split_dataset(_dataset(TIES), method="loo", holdout_users=share)
