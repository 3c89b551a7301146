"""make_synthetic: determinism, shapes, and the planted user-group and provider biases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from equirec.data import Dataset, make_synthetic
from equirec.errors import ConfigError

SMALL = {"n_users": 400, "n_items": 200, "n_interactions_per_user": 15.0}


def _group_popularity(ds: Dataset) -> dict[int, float]:
    """Mean overall popularity of the items each user group consumed."""
    df = ds.interactions
    popularity = np.bincount(df["item_idx"], minlength=ds.n_items)[df["item_idx"]]
    assert ds.user_attributes is not None
    groups = ds.user_attributes["group"].to_numpy()[df["user_idx"]]
    return pd.Series(popularity).groupby(groups).mean().to_dict()


def _provider_share(ds: Dataset, provider: int = 1) -> float:
    assert ds.item_attributes is not None
    providers = ds.item_attributes["provider"].to_numpy()[ds.interactions["item_idx"]]
    return float(np.mean(providers == provider))


def test_same_seed_same_data_other_seed_other_data() -> None:
    a, b, c = (make_synthetic(**SMALL, seed=s) for s in (7, 7, 8))
    pd.testing.assert_frame_equal(a.interactions, b.interactions)
    assert a.user_attributes is not None and b.user_attributes is not None
    assert a.item_attributes is not None and b.item_attributes is not None
    pd.testing.assert_frame_equal(a.user_attributes, b.user_attributes)
    pd.testing.assert_frame_equal(a.item_attributes, b.item_attributes)
    assert not a.interactions[["user", "item"]].equals(c.interactions[["user", "item"]])


def test_shape_attributes_and_timestamps() -> None:
    ds = make_synthetic(**SMALL, group_sizes=(3, 1), n_genres=5, seed=1)
    assert (ds.n_users, ds.n_items) == (400, 200)
    assert ds.user_attributes is not None and ds.item_attributes is not None
    assert ds.user_attributes["group"].value_counts().to_dict() == {0: 300, 1: 100}
    assert ds.user_attribute_kinds == {"group": "categorical"}
    assert ds.item_attribute_kinds == {"provider": "categorical", "genres": "multi"}
    assert ds.item_attributes["genres"].map(len).min() >= 1
    lengths = ds.history().lengths()
    assert lengths.min() >= 3 and abs(lengths.mean() - 15) < 2
    assert not ds.interactions.duplicated(["user", "item"]).any()
    per_user = ds.interactions.sort_values(["user_idx", "timestamp"]).groupby("user_idx")
    assert (per_user["timestamp"].diff().dropna() > 0).all()


def test_minority_group_consumes_less_popular_items() -> None:
    biased = _group_popularity(make_synthetic(**SMALL, user_bias=0.8, seed=0))
    neutral = _group_popularity(make_synthetic(**SMALL, user_bias=0.0, seed=0))
    assert biased[1] < 0.8 * biased[0]
    assert abs(neutral[1] / neutral[0] - 1) < 0.1


def test_provider_share_shrinks_with_the_bias_knob() -> None:
    shares = [
        _provider_share(make_synthetic(**SMALL, provider_exposure_bias=b, seed=5))
        for b in (0.0, 0.4, 0.8)
    ]
    assert shares[0] > shares[1] > shares[2]
    assert abs(shares[0] - 0.5) < 0.1
    assert shares[2] < 0.3


def test_popularity_exponent_makes_a_long_tail() -> None:
    def top_decile_share(exponent: float) -> float:
        ds = make_synthetic(
            **SMALL, popularity_exponent=exponent, user_bias=0.0, provider_exposure_bias=0.0, seed=2
        )
        counts = np.sort(ds.history().item_counts())[::-1]
        return float(counts[: len(counts) // 10].sum() / counts.sum())

    assert top_decile_share(1.2) > 0.3 > 0.15 > top_decile_share(0.0)


@pytest.mark.parametrize(
    "bad",
    [
        {"user_bias": 1.5},
        {"provider_exposure_bias": 1.0},
        {"group_sizes": (1.0,)},
        {"n_interactions_per_user": 0},
        {"n_items": 1},
    ],
)
def test_bad_parameters(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="make_synthetic"):
        make_synthetic(**{**SMALL, **bad})  # type: ignore[arg-type]
