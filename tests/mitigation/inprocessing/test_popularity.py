"""Popularity penalty: fewer head items in the top 10, and its parameter checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from equirec.data import make_synthetic
from equirec.data.splits import split_dataset
from equirec.errors import ConfigError, DataError
from equirec.mitigation.inprocessing import PopularityPenalty

from ._common import DIM, _bpr, _ndcg, _sasrec


def _head_share(model, penalty: PopularityPenalty, n_users: int) -> float:
    items, _ = model.topk(np.arange(n_users), k=10)
    return float(penalty.head_mask[items[items >= 0]].mean())


@pytest.mark.parametrize("make", [_sasrec, _bpr], ids=["sasrec", "bpr"])
def test_popularity_penalty_lowers_the_share_of_head_items_in_top_10(make):
    # Measured (seed 0): head share of the top-10 (39 head items of 80) / test NDCG@10: SASRec
    # 0.955 -> 0.452 / 0.211 -> 0.136; BPR 0.843 -> 0.561 / 0.191 -> 0.137.
    data = make_synthetic(n_users=300, n_items=80, n_interactions_per_user=12, seed=0)
    split = split_dataset(data, method="loo")
    shares, ndcgs = [], []
    for lam in (0.0, 1.0):
        penalty = PopularityPenalty.from_dataset(split.train, lam=lam)
        model = make()
        model.add_loss_term(penalty)
        model.fit(split.train)
        shares.append(_head_share(model, penalty, data.n_users))
        ndcgs.append(_ndcg(model, split))
    assert shares[1] < shares[0] - 0.15
    assert ndcgs[1] > 0.3 * ndcgs[0] > 0


def test_bad_parameters_raise_clear_errors(encoded):
    train = encoded.train
    with pytest.raises(ConfigError, match="lam"):
        PopularityPenalty.from_dataset(train, lam=-2.0)
    with pytest.raises(ConfigError, match="temperature"):
        PopularityPenalty.from_dataset(train, temperature=0.0)
    with pytest.raises(ConfigError, match="cutoff"):
        PopularityPenalty.from_dataset(train, cutoff=1.5)
    with pytest.raises(DataError, match="item_table"):
        PopularityPenalty.from_dataset(train)(
            {"users": torch.zeros(1, dtype=torch.long)}, {"user_repr": torch.zeros(1, DIM)}
        )
