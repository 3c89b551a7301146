"""Inverse-propensity weights: tail items gain weight, nothing else changes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from equirec.data import make_synthetic
from equirec.data.splits import split_dataset
from equirec.errors import ConfigError
from equirec.mitigation.inprocessing import ipw_weights


def test_ipw_weights_favour_tail_items_and_change_nothing_else():
    data = make_synthetic(n_users=100, n_items=40, n_interactions_per_user=8, seed=0)
    out = ipw_weights(data, eta=0.5, clip=4.0)
    counts = np.bincount(data.interactions["item_idx"], minlength=data.n_items)
    items = out.interactions["item_idx"].to_numpy()
    w = out.interactions["weight"].to_numpy()
    expected = np.minimum(4.0, (counts.max() / counts[items]) ** 0.5)
    np.testing.assert_allclose(w / w[counts[items] == counts.max()][0], expected, rtol=1e-5)
    assert w.mean() == pytest.approx(1.0)  # normalised: mean weight unchanged
    head = counts[items] >= np.quantile(counts, 0.8)
    assert w[head].sum() / w.sum() < head.mean()  # popular items lose weight share
    pd.testing.assert_frame_equal(
        out.interactions.drop(columns="weight"), data.interactions.drop(columns="weight")
    )
    assert out.user_ids.equals(data.user_ids) and out.item_ids.equals(data.item_ids)
    pd.testing.assert_frame_equal(out.user_attributes, data.user_attributes)
    pd.testing.assert_frame_equal(out.item_attributes, data.item_attributes)
    assert (data.interactions["weight"] == 1.0).all()  # the input is left alone
    assert "ipw" in out.info and "ipw" not in data.info


def test_ipw_popularity_comes_from_the_given_training_data():
    data = make_synthetic(n_users=60, n_items=30, n_interactions_per_user=6, seed=1)
    split = split_dataset(data, method="loo")
    test = ipw_weights(split.test, eta=1.0, clip=8.0, popularity=split.train, normalize=False)
    counts = np.bincount(split.train.interactions["item_idx"], minlength=data.n_items)
    n_i = counts[test.interactions["item_idx"].to_numpy()]
    expected = np.where(n_i > 0, np.minimum(8.0, counts.max() / np.maximum(n_i, 1)), 8.0)
    np.testing.assert_allclose(test.interactions["weight"], expected, rtol=1e-5)
    assert np.all(ipw_weights(data, eta=0.0).interactions["weight"] == 1.0)


def test_bad_parameters_raise_clear_errors(encoded):
    train = encoded.train
    with pytest.raises(ConfigError, match="eta"):
        ipw_weights(train, eta=-0.5)
    with pytest.raises(ConfigError, match="clip"):
        ipw_weights(train, clip=0.5)
