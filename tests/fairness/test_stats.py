import numpy as np
import pytest

from equirec.fairness.stats import (
    AGGREGATIONS,
    aggregate,
    group_means,
    stratified_bootstrap,
)


def test_aggregations_known_values():
    v = np.array([0.2, 0.4, 0.6])  # mean 0.4
    assert aggregate(v, "min_max_ratio") == pytest.approx(1 / 3)
    assert aggregate(v, "max_min_ratio") == pytest.approx(3.0)
    assert aggregate(v, "max_min_diff") == pytest.approx(0.4)
    assert aggregate(v, "max_abs_diff") == pytest.approx(0.2)
    assert aggregate(v, "mean_abs_dev") == pytest.approx((0.2 + 0 + 0.2) / 3)
    assert aggregate(v, "l2") == pytest.approx(np.sqrt(0.08))
    assert aggregate(v, "variance") == pytest.approx(0.08 / 3)
    # MAD: pairs |0.2-0.4|, |0.2-0.6|, |0.4-0.6| -> (0.2 + 0.4 + 0.2) / 3
    assert aggregate(v, "mad") == pytest.approx(0.8 / 3)


def test_aggregations_ignore_nan_groups_and_zero_edge_cases():
    assert aggregate(np.array([0.5, np.nan, 0.25]), "min_max_ratio") == pytest.approx(0.5)
    assert aggregate(np.array([0.0, 0.0]), "min_max_ratio") == 1.0
    assert aggregate(np.array([0.0, 1.0]), "max_min_ratio") == float("inf")
    assert np.isnan(aggregate(np.array([np.nan]), "max_min_diff"))
    with pytest.raises(ValueError, match="unknown aggregation"):
        aggregate(np.array([1.0]), "nope")
    assert len(AGGREGATIONS) == 8


def test_group_means_skip_nan_and_empty_group_is_nan():
    means = group_means(np.array([1.0, 3.0, np.nan, 4.0]), np.array([0, 0, 1, 1]), 3)
    assert means[0] == 2.0 and means[1] == 4.0 and np.isnan(means[2])


def test_stratified_bootstrap_never_loses_a_group():
    # one group of a single unit: a plain bootstrap of 101 units misses it ~37% of the time
    values = np.r_[np.zeros(100), 1.0]
    codes = np.r_[np.zeros(100, dtype=int), 1]
    boot = stratified_bootstrap(values, codes, n_groups=2, n_boot=500, rng=np.random.default_rng(0))
    assert boot.means.shape == (500, 2, 1)
    assert not np.isnan(boot.means).any()
    assert (boot.means[:, 1, 0] == 1.0).all()
    assert np.allclose(boot.overall[:, 0], 1 / 101)


def test_stratified_bootstrap_interval_covers_group_mean():
    rng = np.random.default_rng(1)
    values = rng.normal(size=(400, 2))
    codes = np.repeat([0, 1], 200)
    boot = stratified_bootstrap(values, codes, n_groups=2, n_boot=300, rng=rng)
    means = boot.means.mean(axis=0)
    assert np.allclose(means[:, 0], group_means(values[:, 0], codes, 2), atol=0.02)
    # standard error of a group mean of 200 N(0,1): 0.0707
    assert boot.means[:, 0, 0].std() == pytest.approx(1 / np.sqrt(200), rel=0.2)
